"""Reads of the worklist's links between stored studies and exams."""

from __future__ import annotations

from django.db.models import QuerySet

from pacs.models import Organization, Study
from worklist.models import StudyLink


def studies_unmatched(*, organization: Organization) -> QuerySet[Study]:
    """The studies of ``organization`` linked to no exam, newest first."""
    unmatched = StudyLink.objects.filter(organization=organization, exam=None).values("study_id")
    return Study.objects.filter(pk__in=unmatched).select_related("patient").order_by("-created_at")
