"""Re-association of a stored study with another order or patient, unbinding, and undo — audited.

The RIS decides what the study should say (the order's accession number, its patient's ID, name, birth
date and sex); ``pacs.corrections.study_reassign`` makes the archive say it, in the index and in the files,
keeping the old values. Each action is one :class:`~worklist.models.Reassociation` row.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pacs.corrections import study_reassign
from pacs.models import Study, User
from ris.models import Exam
from ris.models import Patient as RisPatient
from worklist.models import Reassociation
from worklist.query import person_name
from worklist.services.links import study_link, study_link_set


def _patient_values(patient: RisPatient) -> dict[str, str]:
    return {
        "PatientName": person_name(patient.name),
        "PatientID": patient.patient_id,
        "IssuerOfPatientID": "",
        "PatientBirthDate": patient.birth_date.strftime("%Y%m%d") if patient.birth_date else "",
        "PatientSex": patient.sex,
    }


def _record(
    *, study: Study, before: Exam | None, after: Exam | None, old: dict, new: dict, reason: str, by: User | None
) -> Reassociation:
    return Reassociation.objects.create(
        organization_id=study.organization_id,
        study=study,
        exam_before=before,
        exam_after=after,
        old=old,
        new=new,
        reason=reason[:200],
        done_by=by,
    )


def study_reassociate(
    *, study: Study, exam: Exam | None = None, patient: RisPatient | None = None, reason: str, by: User | None
) -> Reassociation:
    """Give ``study`` to ``exam`` (its accession number and patient), or to ``patient`` without an order.

    A study given to another patient than its exam's loses that link and goes on the unmatched list.
    """
    if (exam is None) == (patient is None):
        raise ValueError("Give either an exam or a patient")
    target = exam.patient if exam is not None else patient
    assert target is not None
    if target.organization_id != study.organization_id:
        raise ValueError("The exam or patient belongs to another organization")
    values = _patient_values(target)
    if exam is not None:
        values["AccessionNumber"] = exam.accession_number
    link = study_link(study_id=study.pk)
    before = link.exam
    correction = study_reassign(study=study, values=values, reason=reason)
    if exam is not None:
        after: Exam | None = exam
    else:
        after = before if before is not None and before.patient_id == target.pk else None
    with transaction.atomic():
        study_link_set(study=study, exam=after)
        return _record(
            study=study, before=before, after=after, old=correction.old, new=correction.new, reason=reason, by=by
        )


def study_unbind(*, study: Study, reason: str, by: User | None) -> Reassociation:
    """Take the study off its exam: it goes on the unmatched list; what the archive serves is unchanged."""
    link = study_link(study_id=study.pk)
    with transaction.atomic():
        before = link.exam
        study_link_set(study=study, exam=None)
        return _record(study=study, before=before, after=None, old={}, new={}, reason=reason, by=by)


def reassociation_undo(*, reassociation: Reassociation, by: User | None) -> Reassociation:
    """Put the study back as it was before ``reassociation``: the archive's old values and the old link.

    Only the latest action on a study that is not undone can be undone, so that undoing never skips over
    a later change. The undo is recorded as an action of its own, which can be undone in turn (a redo).
    """
    latest = Reassociation.objects.filter(study_id=reassociation.study_id, undone_at=None).last()
    if reassociation.undone_at is not None or latest != reassociation:
        raise ValueError("Only the latest action on a study can be undone")
    study = Study.objects.get(pk=reassociation.study_id)
    correction = study_reassign(study=study, values=reassociation.old, reason=f"undo of {reassociation.pk}")
    with transaction.atomic():
        study_link_set(study=study, exam=reassociation.exam_before)
        Reassociation.objects.filter(pk=reassociation.pk).update(undone_by=by, undone_at=timezone.now())
        return _record(
            study=study,
            before=reassociation.exam_after,
            after=reassociation.exam_before,
            old=correction.old,
            new=correction.new,
            reason=f"undo of {reassociation.pk}",
            by=by,
        )
