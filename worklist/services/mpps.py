"""Modality Performed Procedure Steps (PS3.4 F.7, F.8): what a modality reports it is doing, and the exam's
status that follows from it.

- N-CREATE (F.7.2.1) makes a step IN PROGRESS. The exam is found by the Study Instance UID or the
  Accession Number of the Scheduled Step Attributes Sequence; without one the step is unscheduled and
  changes no exam. The exam goes to in progress (through arrived when the patient was not checked in).
- N-SET (F.7.2.2) updates a step that is still IN PROGRESS; COMPLETED completes the exam, DISCONTINUED
  cancels it, unless another step of the same exam still runs (or, for DISCONTINUED, has completed).
- The Performed Series Sequence, whenever a request carries it, replaces the step's recorded series.

An exam the desk has moved on (cancelled, say) does not make the modality's request fail: the step is
recorded and the refusal of the state machine is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from pacs.charsets import clean_json_strings
from pacs.models import Organization
from ris.errors import ConflictError
from ris.models import Exam, ExamStatus
from ris.services.exams import exam_transition
from worklist.models import PerformedProcedureStep, PerformedSeries, StepStatus

logger = logging.getLogger(__name__)

# N-CREATE and N-SET statuses (PS3.7 Annex C, PS3.4 F.7.2.1.2 and F.7.2.2.2).
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110  # with "may no longer be updated" for a finished step (F.7.2.2.2)
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_OBJECT_INSTANCE = 0x0112
MISSING_ATTRIBUTE = 0x0120

SOURCE = "mpps"
_SPECIFIC_CHARACTER_SET = f"{Tag('SpecificCharacterSet'):08X}"
# From the exam's status to the target, the moves the state machine needs (ris.states).
_PATHS: dict[str, dict[str, list[str]]] = {
    ExamStatus.IN_PROGRESS: {
        ExamStatus.SCHEDULED: [ExamStatus.ARRIVED, ExamStatus.IN_PROGRESS],
        ExamStatus.ARRIVED: [ExamStatus.IN_PROGRESS],
    },
    ExamStatus.COMPLETED: {ExamStatus.IN_PROGRESS: [ExamStatus.COMPLETED]},
    ExamStatus.CANCELLED: {ExamStatus.IN_PROGRESS: [ExamStatus.CANCELLED]},
}


class MppsError(Exception):
    """A request the SCP refuses, with the DIMSE status to answer and an Error Comment."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment


def _json(dataset: Dataset) -> dict[str, Any]:
    """The dataset as DICOM JSON in Unicode: decoded text, no Specific Character Set."""
    attributes: dict[str, Any] = clean_json_strings(dataset.to_json_dict())
    attributes.pop(_SPECIFIC_CHARACTER_SET, None)
    return attributes


def _scheduled_exam(organization: Organization, dataset: Dataset) -> Exam | None:
    exams = Exam.objects.filter(organization=organization)
    for item in dataset.get("ScheduledStepAttributesSequence") or []:
        study_uid = str(item.get("StudyInstanceUID") or "")
        accession = str(item.get("AccessionNumber") or "")
        exam = (study_uid and exams.filter(study_instance_uid=study_uid).first()) or (
            accession and exams.filter(accession_number=accession).first()
        )
        if exam:
            return exam
    return None


def _series_record(step: PerformedProcedureStep, dataset: Dataset) -> None:
    """Replace the step's series with the Performed Series Sequence, when the request carries one."""
    if "PerformedSeriesSequence" not in dataset:
        return
    step.series.all().delete()
    rows = {}
    for item in dataset.PerformedSeriesSequence or []:
        uid = str(item.get("SeriesInstanceUID") or "")
        if not uid:
            raise MppsError(MISSING_ATTRIBUTE, "A Performed Series Sequence item has no Series Instance UID")
        images = len(item.get("ReferencedImageSequence") or []) + len(
            item.get("ReferencedNonImageCompositeSOPInstanceSequence") or []
        )
        rows[uid] = PerformedSeries(
            step=step,
            series_instance_uid=uid,
            series_description=str(item.get("SeriesDescription") or "")[:64],
            retrieve_ae_title=str(item.get("RetrieveAETitle") or "")[:16],
            number_of_images=images,
        )
    PerformedSeries.objects.bulk_create(rows.values())


def _exam_advance(exam: Exam, *, to_status: str, note: str) -> None:
    """Move the exam to ``to_status`` through the moves it needs; a refusal is logged, not raised."""
    exam.refresh_from_db(fields=["status"])
    for status in _PATHS[to_status].get(exam.status, []):
        try:
            exam = exam_transition(exam=exam, to_status=status, by=None, source=SOURCE, note=note)
        except ConflictError as exc:
            logger.warning("MPPS could not move exam %s: %s", exam.accession_number, exc)
            return
    if exam.status != to_status:
        logger.info("MPPS: exam %s stays %s (the modality reported %s)", exam.accession_number, exam.status, to_status)


def performed_step_create(
    *, organization: Organization, sop_instance_uid: str, attributes: Dataset, calling_ae_title: str
) -> PerformedProcedureStep:
    """Record a new step (N-CREATE, PS3.4 F.7.2.1) and start its exam; :class:`MppsError` if refused."""
    if not sop_instance_uid:
        raise MppsError(MISSING_ATTRIBUTE, "The SCU must give the Affected SOP Instance UID (F.7.2.1.1)")
    status = str(attributes.get("PerformedProcedureStepStatus") or "")
    if status != StepStatus.IN_PROGRESS:
        raise MppsError(INVALID_ATTRIBUTE_VALUE, "A new step must be IN PROGRESS (F.7.2.1.1)")
    with transaction.atomic():
        if PerformedProcedureStep.objects.filter(sop_instance_uid=sop_instance_uid).exists():
            raise MppsError(DUPLICATE_SOP_INSTANCE, f"Step {sop_instance_uid} exists already")
        exam = _scheduled_exam(organization, attributes)
        step = PerformedProcedureStep.objects.create(
            organization=organization,
            sop_instance_uid=sop_instance_uid,
            exam=exam,
            status=status,
            calling_ae_title=calling_ae_title[:16],
            station_ae_title=str(attributes.get("PerformedStationAETitle") or "")[:16],
            modality=str(attributes.get("Modality") or "")[:16],
            attributes=_json(attributes),
        )
        _series_record(step, attributes)
        if exam is not None:
            _exam_advance(exam, to_status=ExamStatus.IN_PROGRESS, note=f"MPPS {sop_instance_uid}")
    return step


def performed_step_update(
    *, organization: Organization, sop_instance_uid: str, modifications: Dataset
) -> PerformedProcedureStep:
    """Apply an N-SET (PS3.4 F.7.2.2) to a step in progress; finish its exam when the step finishes."""
    status = str(modifications.get("PerformedProcedureStepStatus") or "")
    if status and status not in StepStatus.values:
        raise MppsError(INVALID_ATTRIBUTE_VALUE, f"{status!r} is not a Performed Procedure Step Status")
    with transaction.atomic():
        step = (
            PerformedProcedureStep.objects.select_for_update()
            .filter(organization=organization, sop_instance_uid=sop_instance_uid)
            .first()
        )
        if step is None:
            raise MppsError(NO_SUCH_OBJECT_INSTANCE, f"No step {sop_instance_uid}")
        if step.status != StepStatus.IN_PROGRESS:
            raise MppsError(PROCESSING_FAILURE, "Performed Procedure Step Object may no longer be updated")
        step.attributes = {**step.attributes, **_json(modifications)}
        step.status = status or step.status
        step.save(update_fields=["attributes", "status", "updated_at"])
        _series_record(step, modifications)
        if step.exam is not None and step.status != StepStatus.IN_PROGRESS:
            _exam_finish(step, reason=_discontinuation_reason(modifications))
    return step


def _exam_finish(step: PerformedProcedureStep, *, reason: str) -> None:
    """Complete the exam once no step of it runs and one has completed; cancel it when none completed."""
    assert step.exam is not None
    others = PerformedProcedureStep.objects.filter(exam=step.exam).exclude(pk=step.pk)
    if others.filter(status=StepStatus.IN_PROGRESS).exists():
        return
    if step.status == StepStatus.COMPLETED or others.filter(status=StepStatus.COMPLETED).exists():
        _exam_advance(step.exam, to_status=ExamStatus.COMPLETED, note=f"MPPS {step.sop_instance_uid}")
    else:
        note = "discontinued at the modality" + (f": {reason}" if reason else "")
        _exam_advance(step.exam, to_status=ExamStatus.CANCELLED, note=note)


def _discontinuation_reason(modifications: Dataset) -> str:
    """The Code Meaning of the Performed Procedure Step Discontinuation Reason, when the modality gave one."""
    reasons = modifications.get("PerformedProcedureStepDiscontinuationReasonCodeSequence") or []
    return str(reasons[0].get("CodeMeaning") or "") if reasons else ""
