from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from network.services import StudyQuery


class RemoteQueryForm(forms.Form):
    """The remote study search; every field optional, dates as a range."""

    patient_name = forms.CharField(label=_("Patient name"), max_length=64, required=False)
    patient_id = forms.CharField(label=_("Patient ID"), max_length=64, required=False)
    accession_number = forms.CharField(label=_("Accession number"), max_length=16, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    modality = forms.CharField(label=_("Modality"), max_length=16, required=False)

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        for name in ("patient_name", "patient_id", "accession_number", "modality"):
            if "\\" in (data.get(name) or ""):
                self.add_error(name, _("A backslash cannot be used here."))
        return data

    def query(self) -> StudyQuery:
        return StudyQuery(
            **{
                name: self.cleaned_data.get(name) or ("" if name not in ("date_from", "date_to") else None)
                for name in self.fields
            }
        )


class SendForm(forms.Form):
    destination = forms.ChoiceField(label=_("Destination AE"))
    study_uids = forms.CharField(widget=forms.HiddenInput)
    series_uid = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, remote_aes=(), **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["destination"].choices = [("", "—")] + [
            (str(ae.pk), f"{ae.ae_title} ({ae.host}:{ae.port}){' · ' + ae.description if ae.description else ''}")
            for ae in remote_aes
        ]
