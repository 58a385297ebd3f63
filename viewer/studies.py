"""Reading studies for the study browser and the viewer's deep links, always within one organization.

Patient name search matches the characters of the name, its pinyin and its initials, anywhere in the
value and case-insensitively (the archive indexes all three, see ``pacs.names``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from pacs.models import Organization, Study, User
from pacs.names import fold
from viewer.models import FavouriteStudy, RecentStudy

SORT_FIELDS = {
    "date": ("study_date", "study_time"),
    "name": ("patient__patient_name_folded",),
    "id": ("patient__patient_id",),
    "accession": ("accession_number",),
    "modality": ("modalities_in_study",),
    "description": ("study_description",),
    "images": ("number_of_instances",),
}
DEFAULT_SORT = "-date"
_LATIN = re.compile(r"^[A-Za-z ]+$")


@dataclass(frozen=True)
class StudyFilter:
    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    modality: str = ""
    description: str = ""
    favourites_only: bool = False
    recent_only: bool = False


def sort_key_clean(value: str) -> str:
    return value if value.lstrip("-") in SORT_FIELDS else DEFAULT_SORT


def _name_condition(text: str) -> Q:
    condition = Q(patient__patient_name_folded__contains=fold(text))
    if _LATIN.match(text):
        letters = text.replace(" ", "").upper()
        condition |= Q(patient__patient_name_pinyin__contains=letters)
        condition |= Q(patient__patient_name_initials__startswith=letters)
    return condition


def studies_search(*, organization: Organization, user: User, criteria: StudyFilter, sort: str) -> QuerySet[Study]:
    """The organization's studies matching ``criteria``, annotated with ``is_favourite``, in ``sort`` order."""
    studies = Study.objects.filter(organization=organization).select_related("patient")
    if criteria.patient_name.strip():
        studies = studies.filter(_name_condition(criteria.patient_name.strip()))
    if criteria.patient_id.strip():
        studies = studies.filter(patient__patient_id__icontains=criteria.patient_id.strip())
    if criteria.accession_number.strip():
        studies = studies.filter(accession_number__icontains=criteria.accession_number.strip())
    if criteria.date_from:
        studies = studies.filter(study_date__gte=criteria.date_from)
    if criteria.date_to:
        studies = studies.filter(study_date__lte=criteria.date_to)
    if criteria.modality.strip():
        # ModalitiesInStudy is stored space-separated: match one whole code.
        code = criteria.modality.strip().upper()
        studies = studies.filter(
            Q(modalities_in_study=code)
            | Q(modalities_in_study__startswith=f"{code} ")
            | Q(modalities_in_study__endswith=f" {code}")
            | Q(modalities_in_study__contains=f" {code} ")
        )
    if criteria.description.strip():
        studies = studies.filter(study_description__icontains=criteria.description.strip())
    favourite = FavouriteStudy.objects.filter(user=user, study=OuterRef("pk"))
    studies = studies.annotate(is_favourite=Exists(favourite))
    if criteria.favourites_only:
        studies = studies.filter(is_favourite=True)
    if criteria.recent_only:
        recent = RecentStudy.objects.filter(user=user, study=OuterRef("pk"))
        studies = studies.filter(Exists(recent))
    sort = sort_key_clean(sort)
    descending = sort.startswith("-")
    fields = [f"-{name}" if descending else name for name in SORT_FIELDS[sort.lstrip("-")]]
    return studies.order_by(*fields, "-pk")


def study_uids_for_link(
    *, organization: Organization, study_uids: list[str], accession_number: str, patient_id: str
) -> list[str]:
    """The studies a viewer deep link names, in the order to show them (the newest first for a patient)."""
    studies = Study.objects.filter(organization=organization)
    if study_uids:
        found = set(studies.filter(study_instance_uid__in=study_uids).values_list("study_instance_uid", flat=True))
        return [uid for uid in dict.fromkeys(study_uids) if uid in found]
    if accession_number:
        studies = studies.filter(accession_number=accession_number)
    elif patient_id:
        studies = studies.filter(patient__patient_id=patient_id)
    else:
        return []
    return list(studies.order_by("-study_date", "-study_time", "-pk").values_list("study_instance_uid", flat=True))
