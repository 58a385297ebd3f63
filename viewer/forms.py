"""The study browser's search form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from viewer.studies import StudyFilter

MODALITIES = ["CT", "MR", "CR", "DX", "MG", "US", "XA", "RF", "NM", "PT", "ES", "OT"]


class StudySearchForm(forms.Form):
    patient_name = forms.CharField(label=_("Patient name or pinyin"), required=False, max_length=64)
    patient_id = forms.CharField(label=_("Patient ID"), required=False, max_length=64)
    accession_number = forms.CharField(label=_("Accession"), required=False, max_length=64)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    modality = forms.ChoiceField(
        label=_("Modality"), required=False, choices=[("", _("Any"))] + [(code, code) for code in MODALITIES]
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=64)

    def criteria(self, *, favourites_only: bool, recent_only: bool) -> StudyFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return StudyFilter(
            patient_name=data.get("patient_name", ""),
            patient_id=data.get("patient_id", ""),
            accession_number=data.get("accession_number", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            modality=data.get("modality", ""),
            description=data.get("description", ""),
            favourites_only=favourites_only,
            recent_only=recent_only,
        )
