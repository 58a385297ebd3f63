from django.contrib import admin

from network.models import Transfer


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "organization",
        "kind",
        "remote_ae_title",
        "status",
        "total",
        "completed",
        "failed",
        "created_at",
    )
    list_filter = ("organization", "kind", "status")
    search_fields = ("remote_ae_title", "description", "study_uids")
    readonly_fields = [field.name for field in Transfer._meta.fields]
