"""Patients at the front desk: register (with duplicate detection), correct, and merge duplicates."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacs.models import Organization, User
from pacs.names import pinyin_forms
from ris import idcard
from ris.errors import DuplicatePatientError, RegistrationError
from ris.models import Exam, Order, Patient, PatientChange, Sex
from ris.selectors import patient_duplicates
from ris.services.numbering import patient_id_generate
from ris.signals import patient_merged, patient_updated


@dataclass(frozen=True)
class PatientData:
    """What the desk or the HIS tells about a person; empty strings mean "not given"."""

    name: str
    sex: str = ""
    birth_date: date | None = None
    patient_id: str = ""
    phone: str = ""
    id_card: str = ""
    outpatient_no: str = ""
    inpatient_no: str = ""
    admission_no: str = ""


def _clean(data: PatientData, *, today: date) -> PatientData:
    """Normalise and check one person's data; the ID card fills in or must agree with sex and birth date."""
    name = " ".join(data.name.split())
    if not name:
        raise RegistrationError(_("The name is required."), field="name")
    sex, birth_date, id_card = data.sex, data.birth_date, ""
    if data.id_card.strip():
        try:
            resident = idcard.parse(data.id_card, today=today)
        except ValueError as error:
            raise RegistrationError(str(error), field="id_card") from None
        id_card = resident.number
        if birth_date is not None and birth_date != resident.birth_date:
            raise RegistrationError(
                _("The birth date does not match the ID card number (%(date)s).")
                % {"date": resident.birth_date.isoformat()},
                field="birth_date",
            )
        if sex and sex != resident.sex:
            raise RegistrationError(_("The sex does not match the ID card number."), field="sex")
        birth_date, sex = resident.birth_date, resident.sex
    if sex not in Sex.values:
        raise RegistrationError(_("The sex is required."), field="sex")
    if birth_date is not None and birth_date > today:
        raise RegistrationError(_("The birth date is in the future."), field="birth_date")
    return PatientData(
        **{
            **{f.name: str(getattr(data, f.name)).strip() for f in fields(data) if f.name != "birth_date"},
            "name": name,
            "sex": sex,
            "birth_date": birth_date,
            "id_card": id_card,
        }
    )


def _apply(patient: Patient, data: PatientData) -> None:
    for field in fields(data):
        setattr(patient, field.name, getattr(data, field.name))
    patient.name_pinyin, patient.name_initials = pinyin_forms(data.name)


def patient_register(
    *, organization: Organization, data: PatientData, by: User | None, allow_same_name_and_birth: bool = False
) -> Patient:
    """Create a patient after the duplicate check.

    The same ID card number is always refused (DuplicatePatientError). The same name and birth date is
    refused too unless ``allow_same_name_and_birth``: the clerk has looked and it is another person.
    """
    today = timezone.localdate()
    data = _clean(data, today=today)
    with transaction.atomic():
        duplicates = patient_duplicates(
            organization=organization, name=data.name, birth_date=data.birth_date, id_card=data.id_card
        )
        same_card = [p for p in duplicates if data.id_card and p.id_card == data.id_card]
        if same_card:
            raise DuplicatePatientError(
                _("A patient with this ID card number is already registered."), duplicates=same_card, field="id_card"
            )
        if duplicates and not allow_same_name_and_birth:
            raise DuplicatePatientError(
                _("A patient with the same name and birth date is already registered."), duplicates=duplicates
            )
        if data.patient_id and Patient.objects.filter(organization=organization, patient_id=data.patient_id).exists():
            raise RegistrationError(_("This patient ID is already in use."), field="patient_id")
        patient = Patient(organization=organization, created_by=by)
        _apply(patient, data)
        if not patient.patient_id:
            patient.patient_id = patient_id_generate(organization=organization, on=today)
        patient.save()
    return patient


def _audit_value(name: str, value: object) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return idcard.mask(text) if name == "id_card" else text


def patient_update(*, patient: Patient, data: PatientData, by: User | None = None, source: str = "desk") -> Patient:
    """Correct a patient's demographics; the patient ID stays unless a new one is given.

    The change is recorded (:class:`~ris.models.PatientChange`) and announced by ``patient_updated`` after
    commit, so that the archive's copies of the patient's linked studies follow.
    """
    data = _clean(data, today=timezone.localdate())
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        others = Patient.objects.filter(organization=patient.organization, merged_into__isnull=True).exclude(
            pk=patient.pk
        )
        if data.id_card and others.filter(id_card=data.id_card).exists():
            raise RegistrationError(_("A patient with this ID card number is already registered."), field="id_card")
        if data.patient_id and others.filter(patient_id=data.patient_id).exists():
            raise RegistrationError(_("This patient ID is already in use."), field="patient_id")
        patient_id = data.patient_id or patient.patient_id
        before = {f.name: getattr(patient, f.name) for f in fields(data)}
        _apply(patient, data)
        patient.patient_id = patient_id
        after = {f.name: getattr(patient, f.name) for f in fields(data)}
        changed = [name for name in before if before[name] != after[name]]
        if not changed:
            return patient
        patient.save()
        PatientChange.objects.create(
            patient=patient,
            changed_by=by,
            source=source,
            old={name: _audit_value(name, before[name]) for name in changed},
            new={name: _audit_value(name, after[name]) for name in changed},
        )
        organization_id, pk, by_id = patient.organization_id, patient.pk, by.pk if by is not None else None
        transaction.on_commit(
            lambda: patient_updated.send(
                sender=Patient, organization_id=organization_id, patient_id=pk, changed=changed, changed_by_id=by_id
            )
        )
    return patient


def patient_merge(*, source: Patient, target: Patient, by: User | None) -> Patient:
    """Move everything of ``source`` to ``target`` and retire ``source``; returns ``target``.

    Fields empty on the target are filled from the source (an ID card, HIS numbers, a phone). The source
    row stays, pointing at the target, so numbers printed earlier still lead somewhere.
    """
    if source.organization_id != target.organization_id or source.pk == target.pk:
        raise RegistrationError(_("Choose two different patients of your organization."))
    if source.merged_into_id or target.merged_into_id:
        raise RegistrationError(_("This patient has already been merged."))
    with transaction.atomic():
        source = Patient.objects.select_for_update().get(pk=source.pk)
        target = Patient.objects.select_for_update().get(pk=target.pk)
        if source.id_card and target.id_card and source.id_card != target.id_card:
            raise RegistrationError(_("These patients have different ID card numbers: they are not the same person."))
        Order.objects.filter(patient=source).update(patient=target)
        Exam.objects.filter(patient=source).update(patient=target)
        for name in ("phone", "outpatient_no", "inpatient_no", "admission_no", "birth_date"):
            if not getattr(target, name) and getattr(source, name):
                setattr(target, name, getattr(source, name))
        id_card = source.id_card
        source.merged_into, source.merged_by, source.merged_at = target, by, timezone.now()
        source.save(update_fields=["merged_into", "merged_by", "merged_at", "updated_at"])
        if id_card and not target.id_card:
            # The unique ID card constraint ignores merged records, so the card moves only after retiring.
            target.id_card = id_card
        target.save()
        transaction.on_commit(
            lambda: patient_merged.send(
                sender=Patient,
                organization_id=target.organization_id,
                source_patient_id=source.pk,
                target_patient_id=target.pk,
            )
        )
    return target
