"""Where reporting joins the front desk's flow.

Ultrasound and endoscopy are reported while they are performed: the images are captured from the
report page, so registering such an exam (checked in) leads straight to it.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from ris.models import Exam, ExamStatus


def report_first_url(exam: Exam) -> str | None:
    """The report page of a checked-in exam whose modality is reported as it is performed, else None."""
    if exam.modality not in settings.REPORTING_REPORT_FIRST_MODALITIES:
        return None
    # Read again: the check-in that registration did may have gone through another copy of the row.
    if not Exam.objects.filter(pk=exam.pk, status=ExamStatus.ARRIVED).exists():
        return None
    return reverse("reporting:workspace", kwargs={"exam_id": exam.pk})
