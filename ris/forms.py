"""Forms of the clerk's pages: they parse and type what was typed; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pacs.models import Organization
from ris import selectors
from ris.models import ExamStatus, Modality, Priority, Procedure, Room, Sex


class PatientForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    id_card = forms.CharField(label=_("ID card number"), max_length=32, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    patient_id = forms.CharField(
        label=_("Patient ID"), max_length=64, required=False, help_text=_("Leave empty to assign the next number.")
    )
    outpatient_no = forms.CharField(label=_("Outpatient number"), max_length=64, required=False)
    inpatient_no = forms.CharField(label=_("Inpatient number"), max_length=64, required=False)
    admission_no = forms.CharField(label=_("Admission number"), max_length=64, required=False)
    allow_same_name_and_birth = forms.BooleanField(
        label=_("This is another person with the same name and birth date"), required=False
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update(autofocus=True, autocomplete="off")
        # Read from the ID card, so the clerk rarely needs to reach them: skip them with Tab.
        for name in ("sex", "birth_date"):
            self.fields[name].help_text = _("Filled from the ID card number when empty.")

    def patient_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("allow_same_name_and_birth")
        return data


class PatientEditForm(PatientForm):
    """Correcting a registered patient: the same fields, checked the same way; the patient ID may change."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        del self.fields["allow_same_name_and_birth"]
        self.fields["patient_id"].help_text = _("Leave empty to keep the current one.")

    def patient_data(self) -> dict:
        return dict(self.cleaned_data)


class OrderForm(forms.Form):
    procedure = forms.ModelChoiceField(label=_("Procedure"), queryset=Procedure.objects.none())
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.ROUTINE
    )
    requesting_department = forms.CharField(label=_("Requesting department"), max_length=64, required=False)
    requesting_physician = forms.CharField(label=_("Requesting physician"), max_length=64, required=False)
    clinical_info = forms.CharField(
        label=_("Clinical information"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    his_order_no = forms.CharField(label=_("HIS order number"), max_length=64, required=False)
    check_in = forms.BooleanField(label=_("Patient is here: check in now"), required=False, initial=True)

    def __init__(self, *args, organization: Organization, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = selectors.procedures_active(organization=organization)

    def order_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("check_in")
        return data


class DeskFilterForm(forms.Form):
    date = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("all")), *ExamStatus.choices], required=False)
    modality = forms.ChoiceField(label=_("Modality"), choices=[("", _("all")), *Modality.choices], required=False)


class ExamSelectionForm(forms.Form):
    exam = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    action = forms.ChoiceField(choices=[("check_in", "check_in"), ("merge", "merge")])

    def __init__(self, *args, exam_ids: list[int], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["exam"].choices = [(pk, pk) for pk in exam_ids]


class MergeForm(forms.Form):
    source_patient_id = forms.CharField(label=_("Patient ID of the duplicate record"), max_length=64)


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=ExamStatus.choices)
    note = forms.CharField(max_length=200, required=False)


class RoomDayForm(forms.Form):
    room = forms.ModelChoiceField(label=_("Room"), queryset=Room.objects.none(), required=False)
    date = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, organization: Organization, modality: str = "", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = selectors.rooms_active(organization=organization, modality=modality)


class BookForm(forms.Form):
    room = forms.ModelChoiceField(queryset=Room.objects.none())
    starts_at = forms.DateTimeField()

    def __init__(self, *args, organization: Organization, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = selectors.rooms_active(organization=organization)
