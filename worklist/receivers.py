"""What the worklist does when the archive or the RIS has news: link studies and exams (``services.links``).

Both signals are sent after commit, so the rows they name are visible here.
"""

from __future__ import annotations

from typing import Any

from worklist.services.links import exam_link_unmatched, study_link


def on_instance_stored(sender: Any, *, study_id: int, **kwargs: Any) -> None:
    """``pacs.signals.instance_stored``: link the instance's study to its exam, or list it as unmatched."""
    study_link(study_id=study_id)


def on_exam_status_changed(sender: Any, *, exam_id: int, from_status: str, **kwargs: Any) -> None:
    """``ris.signals.exam_status_changed``: a new exam (``from_status`` empty) claims unmatched studies."""
    if not from_status:
        exam_link_unmatched(exam_id=exam_id)
