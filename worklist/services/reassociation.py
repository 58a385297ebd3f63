"""Re-association of a stored study or one of its series with another order or patient, unbinding, and
undo — audited.

The RIS decides what the study should say (the order's accession number, its patient's ID, name, birth
date and sex); ``pacs.corrections.study_reassign`` (``series_move`` for one series) makes the archive say
it, in the index and in the files, keeping the old values. Each action is one
:class:`~worklist.models.Reassociation` row.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydicom.uid import generate_uid

from pacs.corrections import CORRECTABLE, CorrectionError, series_move, study_reassign
from pacs.models import Series, Study, User
from ris.models import Exam
from ris.models import Patient as RisPatient
from worklist.models import Reassociation, StudyLink
from worklist.query import person_name
from worklist.selectors import reassociation_undoable
from worklist.services.links import study_link, study_link_set

logger = logging.getLogger(__name__)


class ReassociationError(ValueError):
    """An action that cannot be done, in words for the user."""


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
        raise ReassociationError(_("Give either an exam or a patient"))
    target = exam.patient if exam is not None else patient
    assert target is not None
    if target.organization_id != study.organization_id:
        raise ReassociationError(_("The exam or patient belongs to another organization"))
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


def _stored_study_of(exam: Exam) -> Study | None:
    """The stored study linked to ``exam``, else one carrying its Study Instance UID, else None."""
    link = StudyLink.objects.filter(exam=exam).select_related("study").order_by("pk").first()
    if link is not None:
        return link.study
    return Study.objects.filter(
        organization_id=exam.organization_id, study_instance_uid=exam.study_instance_uid
    ).first()


def series_reassociate(
    *, series: Series, exam: Exam | None = None, patient: RisPatient | None = None, reason: str, by: User | None
) -> Reassociation:
    """Move one series to ``exam`` (it joins the exam's stored study, or becomes it), or to ``patient`` as
    a study of its own without an order; the rest of its study stays where it is.

    The study's only series cannot be moved alone: re-associate the study.
    """
    if (exam is None) == (patient is None):
        raise ReassociationError(_("Give either an exam or a patient"))
    series = Series.objects.select_related("study").get(pk=series.pk)
    source = series.study
    target = exam.patient if exam is not None else patient
    assert target is not None
    if target.organization_id != source.organization_id:
        raise ReassociationError(_("The exam or patient belongs to another organization"))
    if not Series.objects.filter(study=source).exclude(pk=series.pk).exists():
        raise ReassociationError(_("This is the study's only series: re-associate the whole study instead"))
    values = _patient_values(target)
    if exam is not None:
        destination = _stored_study_of(exam)
        if destination == source:
            raise ReassociationError(_("The series is already part of this order's study"))
        study_uid = destination.study_instance_uid if destination is not None else exam.study_instance_uid
        values["AccessionNumber"] = exam.accession_number
    else:
        study_uid = generate_uid()
        values["AccessionNumber"] = ""
    before = study_link(study_id=source.pk).exam
    move = series_move(series=series, study_instance_uid=study_uid, values=values, reason=reason)
    moved_to = Study.objects.get(pk=move.to_study_id)
    with transaction.atomic():
        if exam is not None:
            study_link_set(study=moved_to, exam=exam)
        else:
            study_link(study_id=moved_to.pk)
        return Reassociation.objects.create(
            organization_id=source.organization_id,
            study=source,
            study_after=moved_to,
            series=series,
            series_instance_uid=series.series_instance_uid,
            exam_before=before,
            exam_after=exam,
            old=move.old,
            new=move.new,
            reason=reason[:200],
            done_by=by,
        )


def reassociation_undo(*, reassociation: Reassociation, by: User | None) -> Reassociation:
    """Put the study (or the series) back as it was before ``reassociation``: the archive's old values and
    the old link.

    Only the latest action on the studies it touched that is not undone can be undone, so that undoing
    never skips over a later change. The undo is recorded as an action of its own, which can be undone in
    turn (a redo).
    """
    if not reassociation_undoable(reassociation=reassociation):
        raise ReassociationError(_("Only the latest action on a study can be undone"))
    if reassociation.series_instance_uid:
        return _series_undo(reassociation, by=by)
    study = Study.objects.get(pk=reassociation.study_id)
    correction = study_reassign(study=study, values=reassociation.old, reason=f"undo of {reassociation.pk}")
    with transaction.atomic():
        study_link_set(study=study, exam=reassociation.exam_before)
        _mark_undone(reassociation, by=by)
        record = _record(
            study=study,
            before=reassociation.exam_after,
            after=reassociation.exam_before,
            old=correction.old,
            new=correction.new,
            reason=f"undo of {reassociation.pk}",
            by=by,
        )
        Reassociation.objects.filter(pk=record.pk).update(undoes=reassociation)
        record.undoes = reassociation
        return record


def _mark_undone(reassociation: Reassociation, *, by: User | None) -> None:
    """Mark ``reassociation`` undone; when it was itself an undo, the action it undid is in effect again."""
    Reassociation.objects.filter(pk=reassociation.pk).update(undone_by=by, undone_at=timezone.now())
    if reassociation.undoes_id is not None:
        Reassociation.objects.filter(pk=reassociation.undoes_id).update(undone_by=None, undone_at=None)


def _series_undo(reassociation: Reassociation, *, by: User | None) -> Reassociation:
    if reassociation.series is None:
        raise ReassociationError(_("The series is no longer stored"))
    old = reassociation.old
    values = {keyword: old[keyword] for keyword in CORRECTABLE if keyword in old}
    back_to = old.get("StudyInstanceUID") or reassociation.series.study.study_instance_uid
    move = series_move(
        series=reassociation.series, study_instance_uid=back_to, values=values, reason=f"undo of {reassociation.pk}"
    )
    with transaction.atomic():
        returned_to = Study.objects.get(pk=move.to_study_id)
        if reassociation.study_id is None or returned_to.pk != reassociation.study_id:
            # The study the series came from was removed meanwhile and made anew: give it its old link.
            study_link_set(study=returned_to, exam=reassociation.exam_before)
        _mark_undone(reassociation, by=by)
        return Reassociation.objects.create(
            undoes=reassociation,
            organization_id=reassociation.organization_id,
            study=returned_to,
            study_after=returned_to,
            series=reassociation.series,
            series_instance_uid=reassociation.series_instance_uid,
            exam_before=reassociation.exam_after,
            exam_after=reassociation.exam_before,
            old=move.old,
            new=move.new,
            reason=f"undo of {reassociation.pk}",
            done_by=by,
        )


# The RIS fields that a study's patient attributes are made from.
ARCHIVE_FIELDS = frozenset({"name", "patient_id", "sex", "birth_date"})


def patient_studies_update(*, patient_id: int, by: User | None, reason: str) -> list[Reassociation]:
    """Give the stored studies linked to the exams of RIS patient ``patient_id`` the patient's current
    name, ID, birth date and sex, each correction audited as a re-association that keeps the link.

    Called after a patient's record was corrected or another record merged into it. Every study is
    corrected on its own: one that cannot be (it changed meanwhile) is logged and left as it was.
    """
    patient = RisPatient.objects.get(pk=patient_id)
    values = _patient_values(patient)
    records = []
    links = StudyLink.objects.filter(exam__patient=patient).select_related("study", "exam").order_by("pk")
    for link in links:
        try:
            correction = study_reassign(study=link.study, values=values, reason=reason)
        except CorrectionError:
            logger.exception("Study %s keeps its old patient attributes", link.study.study_instance_uid)
            continue
        if correction.new:
            records.append(
                _record(
                    study=link.study,
                    before=link.exam,
                    after=link.exam,
                    old=correction.old,
                    new=correction.new,
                    reason=reason,
                    by=by,
                )
            )
    return records
