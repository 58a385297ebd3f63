"""What the worklist does when the archive or the RIS has news: link studies and exams (``services.links``),
and correct the archive's copies of a patient whose record changed (``services.reassociation``).

All these signals are sent after commit, so the rows they name are visible here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pacs.models import User
from worklist.services.links import exam_link_unmatched, studies_link
from worklist.services.reassociation import ARCHIVE_FIELDS, patient_studies_update

logger = logging.getLogger(__name__)


def on_studies_stored(sender: Any, *, study_ids: list[int], new_study_ids: Sequence[int] = (), **kwargs: Any) -> None:
    """``pacs.signals.studies_stored``: link each study that got instances to its exam, or list it as unmatched.

    Once per batch rather than per instance: a STOW-RS request or import of a whole series costs one
    look-up for all its studies."""
    studies_link(study_ids=study_ids, new_study_ids=new_study_ids)


def on_exam_status_changed(sender: Any, *, exam_id: int, from_status: str, **kwargs: Any) -> None:
    """``ris.signals.exam_status_changed``: a new exam (``from_status`` empty) claims unmatched studies."""
    if not from_status:
        exam_link_unmatched(exam_id=exam_id)


def on_patient_updated(
    sender: Any, *, patient_id: int, changed: list[str], changed_by_id: int | None, **kwargs: Any
) -> None:
    """``ris.signals.patient_updated``: the archive's copies of the patient's linked studies follow the record."""
    if not ARCHIVE_FIELDS.intersection(changed):
        return
    by = User.objects.filter(pk=changed_by_id).first() if changed_by_id else None
    try:
        patient_studies_update(patient_id=patient_id, by=by, reason="patient record corrected")
    except Exception:
        # The record is saved already; the studies keep their old values and the log says why.
        logger.exception("The archive's copies of RIS patient %s were not corrected", patient_id)


def on_patient_merged(sender: Any, *, target_patient_id: int, **kwargs: Any) -> None:
    """``ris.signals.patient_merged``: the studies of the merged record's exams take the kept record's identity."""
    try:
        patient_studies_update(patient_id=target_patient_id, by=None, reason="patient records merged")
    except Exception:
        logger.exception("The archive's copies of RIS patient %s were not corrected", target_patient_id)
