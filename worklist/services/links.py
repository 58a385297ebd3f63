"""Images to orders: each stored study is linked to the exam that produced it, or put on the unmatched list.

A study belongs to an exam of its organization when it carries the exam's Study Instance UID (assigned at
registration and sent to the modality in the worklist), or else the exam's accession number together
with the exam patient's ID. A study that matches nothing is linked to no exam: it is "unmatched" until
an exam registered later matches it, or a user links it by hand.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q

from pacs.models import Study
from ris.models import Exam
from worklist.models import LinkMethod, StudyLink


def _matching_exam(study: Study) -> tuple[Exam | None, str]:
    exams = Exam.objects.filter(organization_id=study.organization_id)
    exam = exams.filter(study_instance_uid=study.study_instance_uid).first()
    if exam is not None:
        return exam, LinkMethod.STUDY_UID
    if study.accession_number:
        exam = exams.filter(
            accession_number=study.accession_number, patient__patient_id=study.patient.patient_id
        ).first()
        if exam is not None:
            return exam, LinkMethod.ACCESSION
    return None, LinkMethod.NONE


def study_link(*, study_id: int) -> StudyLink:
    """The link of a stored study, made on first call from its UID or accession number; idempotent.

    Called for every stored instance, so a study already linked (or already unmatched) costs one query.
    """
    link = StudyLink.objects.filter(study_id=study_id).first()
    if link is not None:
        return link
    study = Study.objects.select_related("patient").get(pk=study_id)
    exam, method = _matching_exam(study)
    try:
        with transaction.atomic():
            return StudyLink.objects.create(
                organization_id=study.organization_id, study=study, exam=exam, method=method
            )
    except IntegrityError:
        # Another association's instance of the same study linked it first.
        return StudyLink.objects.get(study_id=study_id)


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
