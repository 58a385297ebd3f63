"""Reads of the worklist's links between stored studies and exams, and of the re-association history."""

from __future__ import annotations

import re
from datetime import date

from django.db.models import OuterRef, Q, QuerySet, Subquery

from pacs.models import Organization, Series, Study
from ris.models import Exam
from worklist.models import Reassociation, StudyLink

_LATIN = re.compile(r"^[A-Za-z]+$")


def studies_unmatched(*, organization: Organization) -> QuerySet[Study]:
    """The studies of ``organization`` linked to no exam, newest first."""
    unmatched = StudyLink.objects.filter(organization=organization, exam=None).values("study_id")
    return Study.objects.filter(pk__in=unmatched).select_related("patient").order_by("-created_at")


def studies_for_review(
    *,
    organization: Organization,
    unmatched_only: bool = True,
    query: str = "",
    modality: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Study]:
    """Stored studies with their link (``link_exam_id``, ``link_method`` annotated), newest first.

    ``query`` finds a patient ID, accession number or Study Instance UID exactly, or a patient name by
    its beginning (characters, or pinyin and initials when typed in Latin letters).
    """
    links = StudyLink.objects.filter(study=OuterRef("pk"))
    studies = Study.objects.filter(organization=organization).annotate(
        link_exam_id=Subquery(links.values("exam_id")[:1]), link_method=Subquery(links.values("method")[:1])
    )
    if unmatched_only:
        unmatched = StudyLink.objects.filter(organization=organization, exam=None).values("study_id")
        studies = studies.filter(pk__in=unmatched)
    query = query.strip()
    if query:
        match = (
            Q(patient__patient_id=query)
            | Q(accession_number=query)
            | Q(study_instance_uid=query)
            | Q(patient__patient_name__icontains=query)
        )
        if _LATIN.match(query):
            folded = query.upper()
            match |= Q(patient__patient_name_pinyin__startswith=folded)
            match |= Q(patient__patient_name_initials__startswith=folded)
        studies = studies.filter(match)
    if modality:
        studies = studies.filter(modalities_in_study__contains=modality)
    if date_from is not None:
        studies = studies.filter(study_date__gte=date_from)
    if date_to is not None:
        studies = studies.filter(study_date__lte=date_to)
    return studies.select_related("patient").order_by("-created_at", "-pk")


def study_link_exam(*, study: Study) -> Exam | None:
    """The exam ``study`` is linked to, with its patient and orders, or None."""
    link = StudyLink.objects.filter(study=study).select_related("exam__patient").first()
    return link.exam if link is not None else None


def study_series(*, study: Study) -> QuerySet[Series]:
    return Series.objects.filter(study=study).order_by("series_number", "pk")


def exam_targets(*, organization: Organization, query: str, limit: int = 20) -> list[Exam]:
    """Exams a study or series may be given to: by accession number, patient ID, name or pinyin.

    Cancelled exams are left out; the newest come first.
    """
    query = query.strip()
    if not query:
        return []
    match = (
        Q(accession_number__istartswith=query)
        | Q(patient__patient_id__istartswith=query)
        | Q(patient__name__startswith=query)
        | Q(study_instance_uid=query)
    )
    if _LATIN.match(query):
        folded = query.upper()
        match |= Q(patient__name_pinyin__startswith=folded) | Q(patient__name_initials__startswith=folded)
    exams = (
        Exam.objects.filter(match, organization=organization, patient__merged_into__isnull=True)
        .exclude(status="cancelled")
        .select_related("patient")
        .prefetch_related("orders__procedure")
        .order_by("-created_at", "-pk")
    )
    return list(exams[:limit])


def reassociations_of_study(*, study: Study) -> QuerySet[Reassociation]:
    """Every action that touched ``study`` (as the study moved, or the study a series came from or joined)."""
    return (
        Reassociation.objects.filter(Q(study=study) | Q(study_after=study))
        .select_related("exam_before", "exam_after", "done_by", "undone_by")
        .order_by("-done_at", "-pk")
    )


def reassociations_recent(*, organization: Organization, limit: int = 200) -> QuerySet[Reassociation]:
    return (
        Reassociation.objects.filter(organization=organization)
        .select_related("study", "exam_before", "exam_after", "done_by", "undone_by")
        .order_by("-done_at", "-pk")[:limit]
    )


def reassociation_undoable(*, reassociation: Reassociation) -> bool:
    """Whether :func:`worklist.services.reassociation.reassociation_undo` would accept it now: it is not
    undone and no later action on the studies it touched is still in effect."""
    if reassociation.undone_at is not None:
        return False
    studies = {reassociation.study_id, reassociation.study_after_id} - {None}
    # Later actions still in effect: not undone, and not the undo of a later action (the two cancel out).
    later = (
        Reassociation.objects.filter(pk__gt=reassociation.pk, undone_at=None)
        .filter(Q(study_id__in=studies) | Q(study_after_id__in=studies))
        .exclude(undoes_id__gt=reassociation.pk)
    )
    return not later.exists()
