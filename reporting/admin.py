"""Admin for what a hospital configures: report templates, the shared phrase library, reporting settings;
reports and critical-value notifications are listed for lookup (they change through the workspace)."""

from django.contrib import admin

from reporting.models import CriticalNotification, Phrase, Report, ReportingSettings, ReportTemplate


@admin.register(ReportTemplate)
class ReportTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "modality", "body_part", "organization", "active")
    list_filter = ("organization", "modality", "active")
    search_fields = ("name", "body_part")


@admin.register(Phrase)
class PhraseAdmin(admin.ModelAdmin):
    list_display = ("title", "parent", "section", "shortcut", "modality", "owner", "organization")
    list_filter = ("organization", "modality", "section")
    search_fields = ("title", "text")
    raw_id_fields = ("parent", "owner")


@admin.register(ReportingSettings)
class ReportingSettingsAdmin(admin.ModelAdmin):
    list_display = ("organization", "two_level_signoff", "lock_minutes")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("exam", "status", "version", "critical", "author", "approved_by", "updated_at")
    list_filter = ("organization", "status", "critical")
    search_fields = ("exam__accession_number", "exam__patient__name")
    # Text, sign-off and versions change only through the services (history, locks, signals).
    readonly_fields = [field.name for field in Report._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def, override]
        return False


@admin.register(CriticalNotification)
class CriticalNotificationAdmin(admin.ModelAdmin):
    list_display = ("report", "category", "department", "raised_at", "acknowledged_at")
    list_filter = ("organization", "category")
