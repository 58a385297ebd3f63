"""Forms of the unmatched-studies pages: they parse what was typed; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ris.models import Modality


class StudyFilterForm(forms.Form):
    show = forms.ChoiceField(
        label=_("Show"), choices=[("unmatched", _("unmatched")), ("all", _("all studies"))], required=False
    )
    q = forms.CharField(label=_("Patient, accession or UID"), max_length=100, required=False)
    modality = forms.ChoiceField(label=_("Modality"), choices=[("", _("all")), *Modality.choices], required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ReassociateForm(forms.Form):
    """``target`` is ``exam:<id>`` or ``patient:<id>``; ``series`` empty moves the whole study."""

    target = forms.RegexField(regex=r"^(exam|patient):\d{1,18}$", error_messages={"invalid": _("Choose a target.")})
    series = forms.IntegerField(required=False, min_value=1)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["target"].error_messages["required"] = _("Choose the order or patient to give the images to.")
        self.fields["reason"].error_messages["required"] = _("Say why: the reason is kept in the audit trail.")
        self.fields["reason"].widget.attrs.update(autocomplete="off", id="id_reason")


class UnbindForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)
