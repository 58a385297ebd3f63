from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from pacs.models import ApiToken, Instance, Organization, Patient, RemoteAE, Series, Study, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "created_at")
    search_fields = ("slug", "name")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Organization"), {"fields": ("organization",)}))
    list_display = ("username", "organization", "is_staff", "is_active")
    list_filter = ("organization", "is_staff", "is_active")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_hint", "created_at", "last_used_at", "expires_at")
    readonly_fields = ("key_hint", "created_at", "last_used_at")
    fields = ("user", "name", "expires_at", "key_hint", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = ApiToken.issue(user=obj.user, name=obj.name)
        token.expires_at = obj.expires_at
        token.save(update_fields=["expires_at"])
        obj.pk = token.pk
        messages.warning(request, _("Copy the token now, it is not shown again: %(key)s") % {"key": key})


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("patient_id", "patient_name", "birth_date", "sex", "organization")
    list_filter = ("organization",)
    search_fields = ("patient_id", "patient_name", "patient_name_pinyin")
    exclude = ("attributes",)


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = (
        "study_instance_uid",
        "patient",
        "study_date",
        "accession_number",
        "modalities_in_study",
        "number_of_series",
        "number_of_instances",
        "organization",
    )
    list_filter = ("organization",)
    search_fields = ("study_instance_uid", "accession_number", "patient__patient_id")
    exclude = ("attributes",)
    raw_id_fields = ("patient",)


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("series_instance_uid", "modality", "series_number", "number_of_instances")
    exclude = ("attributes",)
    raw_id_fields = ("study",)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("sop_instance_uid", "sop_class_uid", "transfer_syntax_uid", "number_of_frames", "file_size")
    exclude = ("metadata", "frame_index")
    raw_id_fields = ("series",)


@admin.register(RemoteAE)
class RemoteAEAdmin(admin.ModelAdmin):
    list_display = ("ae_title", "host", "port", "organization", "allow_store", "allow_query", "allow_retrieve")
    list_filter = ("organization",)
    search_fields = ("ae_title", "host", "description")
