"""Orders and exams: create an order (with its exam, accession number and Study Instance UID), move an exam
through the state machine, check in many at once, merge several orders into one exam."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydicom.uid import generate_uid

from pacs.models import Organization, User
from ris import states
from ris.errors import ConflictError, RegistrationError
from ris.models import Exam, ExamStatus, ExamStatusChange, Order, OrderSource, Patient, Priority, Procedure
from ris.services.numbering import accession_number_generate
from ris.signals import exam_status_changed, exams_merged


@dataclass(frozen=True)
class OrderData:
    """A requested procedure as the desk or the HIS sends it."""

    procedure: Procedure
    priority: int = Priority.ROUTINE
    body_part: str = ""
    requesting_department: str = ""
    requesting_physician: str = ""
    clinical_info: str = ""
    his_order_no: str = ""


def _record(exam: Exam, *, from_status: str, by: User | None, source: str, note: str = "") -> None:
    """Write the history row and announce the change once the transaction commits."""
    change = ExamStatusChange.objects.create(
        exam=exam,
        from_status=from_status,
        to_status=exam.status,
        changed_at=exam.status_changed_at,
        changed_by=by,
        source=source,
        note=note[:200],
    )
    transaction.on_commit(
        lambda: exam_status_changed.send(
            sender=Exam,
            exam_id=exam.pk,
            organization_id=exam.organization_id,
            accession_number=exam.accession_number,
            study_instance_uid=exam.study_instance_uid,
            from_status=from_status,
            to_status=change.to_status,
            changed_at=change.changed_at,
            changed_by_id=by.pk if by else None,
            source=source,
        )
    )


def order_create(
    *, organization: Organization, patient: Patient, data: OrderData, source: str, by: User | None
) -> Order:
    """Register an order: a new exam in status scheduled, with its accession number and Study Instance UID.

    An HIS order number already known returns the stored order unchanged, so the HIS may resend safely.
    """
    if patient.organization_id != organization.pk or data.procedure.organization_id != organization.pk:
        raise RegistrationError(_("The patient or procedure belongs to another organization."))
    if patient.merged_into_id is not None:
        raise RegistrationError(_("This patient has been merged into another record."), field="patient")
    if not data.procedure.active:
        raise RegistrationError(_("This procedure is no longer offered."), field="procedure")
    if source not in OrderSource.values:
        raise RegistrationError(_("Unknown order source."))
    with transaction.atomic():
        if data.his_order_no:
            existing = Order.objects.filter(organization=organization, his_order_no=data.his_order_no).first()
            if existing is not None:
                if existing.patient_id != patient.pk:
                    raise ConflictError(_("This HIS order number belongs to another patient."), field="his_order_no")
                return existing
        now = timezone.now()
        exam = Exam.objects.create(
            organization=organization,
            patient=patient,
            accession_number=accession_number_generate(
                organization=organization, modality=data.procedure.modality, on=timezone.localdate(now)
            ),
            study_instance_uid=generate_uid(),
            modality=data.procedure.modality,
            priority=data.priority,
            status=ExamStatus.SCHEDULED,
            status_changed_at=now,
        )
        order = Order.objects.create(
            organization=organization,
            patient=patient,
            exam=exam,
            procedure=data.procedure,
            body_part=data.body_part or data.procedure.body_part,
            priority=data.priority,
            requesting_department=data.requesting_department,
            requesting_physician=data.requesting_physician,
            clinical_info=data.clinical_info,
            source=source,
            his_order_no=data.his_order_no,
            created_by=by,
        )
        _record(exam, from_status="", by=by, source=source)
    return order


def exam_transition(*, exam: Exam, to_status: str, by: User | None, source: str, note: str = "") -> Exam:
    """Move ``exam`` to ``to_status`` if the state machine allows it; ConflictError otherwise.

    The row is locked while checking, so two desks (or the desk and MPPS) cannot both move it.
    """
    if to_status not in ExamStatus.values:
        raise RegistrationError(_("Unknown status."), field="status")
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam.pk)
        _move(exam, to_status=to_status, by=by, source=source, note=note)
    return exam


def _move(exam: Exam, *, to_status: str, by: User | None, source: str, note: str = "") -> None:
    """Change the status of a locked exam and record it."""
    if not states.can_move(exam.status, to_status):
        raise ConflictError(
            _("Exam %(accession)s cannot go from %(from)s to %(to)s.")
            % {
                "accession": exam.accession_number,
                "from": ExamStatus(exam.status).label,
                "to": ExamStatus(to_status).label,
            }
        )
    from_status = exam.status
    exam.status, exam.status_changed_at = to_status, timezone.now()
    exam.save(update_fields=["status", "status_changed_at"])
    _record(exam, from_status=from_status, by=by, source=source, note=note)


def _locked_exams(organization: Organization, exam_ids: Sequence[int]) -> list[Exam]:
    exams = list(Exam.objects.select_for_update().filter(organization=organization, pk__in=exam_ids).order_by("pk"))
    if not exams or len(exams) != len(set(exam_ids)):
        raise RegistrationError(_("Some of the chosen exams do not exist."))
    return exams


def exams_check_in(*, organization: Organization, exam_ids: Sequence[int], by: User | None, source: str) -> list[Exam]:
    """Mark the patient arrived for every exam in ``exam_ids``, all or none."""
    with transaction.atomic():
        exams = _locked_exams(organization, exam_ids)
        for exam in exams:
            _move(exam, to_status=ExamStatus.ARRIVED, by=by, source=source)
    return exams


def exams_merge(*, organization: Organization, exam_ids: Sequence[int], by: User | None, source: str) -> Exam:
    """Perform the orders of several exams of one patient as one exam, under the first one's accession number.

    The other exams are cancelled with a note naming the exam that took their orders.
    """
    with transaction.atomic():
        exams = _locked_exams(organization, exam_ids)
        if len(exams) < 2:
            raise RegistrationError(_("Choose at least two exams to merge."))
        if len({e.patient_id for e in exams}) != 1 or len({e.modality for e in exams}) != 1:
            raise RegistrationError(_("Only exams of one patient on one modality can be merged."))
        if any(e.status not in states.OPEN_AT_DESK for e in exams):
            raise ConflictError(_("Only exams not yet started can be merged."))
        target, others = exams[0], exams[1:]
        Order.objects.filter(exam__in=others).update(exam=target)
        target.priority = min(e.priority for e in exams)
        if any(e.status == ExamStatus.ARRIVED for e in exams) and target.status == ExamStatus.SCHEDULED:
            _move(target, to_status=ExamStatus.ARRIVED, by=by, source=source)
        target.save(update_fields=["priority"])
        note = _("merged into %(accession)s") % {"accession": target.accession_number}
        for exam in others:
            exam.appointments.filter(cancelled_at__isnull=True).update(cancelled_at=timezone.now(), cancelled_by=by)
            _move(exam, to_status=ExamStatus.CANCELLED, by=by, source=source, note=note)
        merged_ids = [e.pk for e in others]
        transaction.on_commit(
            lambda: exams_merged.send(
                sender=Exam, exam_id=target.pk, organization_id=organization.pk, merged_exam_ids=merged_ids
            )
        )
    return target
