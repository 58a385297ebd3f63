"""Images to orders: each stored study is linked to the exam that produced it, or put on the unmatched list.

A study belongs to an exam of its organization when it carries the exam's Study Instance UID (assigned at
registration and sent to the modality in the worklist), or else the exam's accession number together
with the exam patient's ID. A study that matches nothing is linked to no exam: it is "unmatched" until
an exam registered later matches it, or a user links it by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q

from pacs.models import Study
from ris.models import Exam
from worklist.models import LinkMethod, StudyLink


def studies_link(*, study_ids: Sequence[int], new_study_ids: Sequence[int] = ()) -> None:
    """Link each study not linked yet to its exam, or list it as unmatched; idempotent.

    Called once per ingest batch with the studies that got instances: when they are all linked already
    (every instance of a series after the first) it costs one query, and a batch of new studies costs
    three or four whatever their number. ``new_study_ids``, studies the batch created, are known to
    have no link yet and are not looked up.
    """
    new = set(new_study_ids)
    maybe_linked = [pk for pk in study_ids if pk not in new]
    linked = (
        set(StudyLink.objects.filter(study_id__in=maybe_linked).values_list("study_id", flat=True))
        if maybe_linked
        else set()
    )
    unlinked = [pk for pk in dict.fromkeys(study_ids) if pk not in linked]
    if not unlinked:
        # The usual case, every instance of a series after its first: building the (empty) query
        # below cost about 0.3 ms of a C-STORE, as much as the look-up above.
        return
    studies = list(
        Study.objects.filter(pk__in=unlinked)
        .select_related("patient")
        .only("organization_id", "study_instance_uid", "accession_number", "patient__patient_id")
    )
    if not studies:
        return
    by_uid, by_accession = _candidate_exams(studies)
    links = []
    for study in studies:
        exam = by_uid.get((study.organization_id, study.study_instance_uid))
        method = LinkMethod.STUDY_UID
        if exam is None and study.accession_number:
            exam = by_accession.get((study.organization_id, study.accession_number, study.patient.patient_id))
            method = LinkMethod.ACCESSION
        if exam is None:
            method = LinkMethod.NONE
        links.append(StudyLink(organization_id=study.organization_id, study=study, exam=exam, method=method))
    # A study linked meanwhile by another association's batch keeps that link.
    StudyLink.objects.bulk_create(links, ignore_conflicts=True)


def _candidate_exams(
    studies: list[Study],
) -> tuple[dict[tuple[int, str], Exam], dict[tuple[int, str, str], Exam]]:
    """The exams any of ``studies`` could belong to, in one query, keyed by how they match."""
    organizations = {study.organization_id for study in studies}
    uids = {study.study_instance_uid for study in studies}
    accessions = {study.accession_number for study in studies if study.accession_number}
    exams = (
        Exam.objects.filter(organization_id__in=organizations)
        .filter(Q(study_instance_uid__in=uids) | Q(accession_number__in=accessions))
        .select_related("patient")
        .order_by("pk")
    )
    by_uid: dict[tuple[int, str], Exam] = {}
    by_accession: dict[tuple[int, str, str], Exam] = {}
    for exam in exams:
        # The first registered exam wins where several match, as a look-up by ``first()`` would.
        by_uid.setdefault((exam.organization_id, exam.study_instance_uid), exam)
        if exam.accession_number:
            by_accession.setdefault((exam.organization_id, exam.accession_number, exam.patient.patient_id), exam)
    return by_uid, by_accession


def study_link(*, study_id: int) -> StudyLink:
    """The link of a stored study, made on first call from its UID or accession number."""
    link = StudyLink.objects.filter(study_id=study_id).select_related("exam").first()
    if link is not None:
        return link
    studies_link(study_ids=[study_id])
    return StudyLink.objects.select_related("exam").get(study_id=study_id)


def exam_link_unmatched(*, exam_id: int) -> list[StudyLink]:
    """Link to a newly registered exam the unmatched studies that carry its Study Instance UID or accession."""
    exam = Exam.objects.select_related("patient").get(pk=exam_id)
    by_uid = Q(study__study_instance_uid=exam.study_instance_uid)
    by_accession = Q(study__accession_number=exam.accession_number, study__patient__patient_id=exam.patient.patient_id)
    with transaction.atomic():
        links = list(
            StudyLink.objects.select_for_update()
            .select_related("study")
            .filter(by_uid | by_accession, organization_id=exam.organization_id, exam=None)
        )
        for link in links:
            link.exam = exam
            uid_matches = link.study.study_instance_uid == exam.study_instance_uid
            link.method = LinkMethod.STUDY_UID if uid_matches else LinkMethod.ACCESSION
            link.save(update_fields=["exam", "method", "linked_at"])
    return links


def study_link_set(*, study: Study, exam: Exam | None) -> StudyLink:
    """Link ``study`` to ``exam`` by hand, or unbind it (``exam`` None puts it on the unmatched list).

    This changes the RIS side only; what the archive serves for the study is changed by
    ``pacs.corrections``.
    """
    if exam is not None and exam.organization_id != study.organization_id:
        raise ValueError("The exam belongs to another organization")
    with transaction.atomic():
        link, _created = StudyLink.objects.select_for_update().get_or_create(
            study=study, defaults={"organization_id": study.organization_id, "method": LinkMethod.NONE}
        )
        link.exam = exam
        link.method = LinkMethod.MANUAL if exam is not None else LinkMethod.NONE
        link.save(update_fields=["exam", "method", "linked_at"])
    return link
