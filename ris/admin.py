"""The configurable parts of the front desk: numbering patterns, the procedure catalogue, rooms."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm

from ris.errors import RegistrationError
from ris.models import Procedure, RegistrationSettings, Room
from ris.services.numbering import pattern_validate


class RegistrationSettingsForm(ModelForm):
    class Meta:
        model = RegistrationSettings
        fields = ["organization", "accession_pattern", "patient_id_pattern"]

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        for name in ("accession_pattern", "patient_id_pattern"):
            try:
                pattern_validate(pattern=cleaned.get(name, ""))
            except RegistrationError as error:
                self.add_error(name, ValidationError(error.message))
        return cleaned


@admin.register(RegistrationSettings)
class RegistrationSettingsAdmin(admin.ModelAdmin):
    form = RegistrationSettingsForm
    list_display = ("organization", "accession_pattern", "patient_id_pattern")


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "modality", "body_part", "organization", "active")
    list_filter = ("organization", "modality", "active")
    search_fields = ("code", "name")


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "modality",
        "device",
        "opens_at",
        "closes_at",
        "slot_minutes",
        "patients_per_slot",
        "active",
    )
    list_filter = ("organization", "modality", "active")
