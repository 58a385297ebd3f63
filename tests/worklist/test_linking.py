"""Images to orders: studies sent by DCMTK storescu link to their exam by accession number and patient ID or
by Study Instance UID; a study that matches nothing is listed as unmatched until an exam or a user claims it."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from pacs.models import Study
from pacs.synthetic import Patient, ct_series
from ris.models import Exam
from ris.services.exams import OrderData, order_create
from tests.worklist.conftest import Scheduled
from worklist.models import LinkMethod, StudyLink
from worklist.selectors import studies_unmatched
from worklist.services.links import study_link_set

ZHANG = Patient("Zhang^San=张^三", "P001", "19680312", "M")


def series_files(folder: Path, patient: Patient, **options: object) -> Path:
    """A small synthetic CT series written into ``folder``."""
    folder.mkdir(parents=True)
    for number, data in enumerate(ct_series(patient, slices=3, size=32, **options)):  # type: ignore[arg-type]
        (folder / f"{number}.dcm").write_bytes(data)
    return folder


def link_of(study_uid: str) -> StudyLink:
    return StudyLink.objects.select_related("exam").get(study__study_instance_uid=study_uid)


def test_a_study_with_the_orders_accession_is_linked(archive, modality, scheduled: Scheduled, tmp_path):
    exam = scheduled.zhang_ct
    folder = series_files(tmp_path / "ct", ZHANG, accession=exam.accession_number)
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    link = link_of(study.study_instance_uid)
    assert link.exam == exam and link.method == LinkMethod.ACCESSION
    assert not studies_unmatched(organization=exam.organization).exists()


def test_a_study_with_the_registered_study_uid_is_linked(archive, modality, scheduled: Scheduled, tmp_path):
    exam = scheduled.li_dx
    folder = series_files(tmp_path / "ct", ZHANG, study_uid=exam.study_instance_uid, accession="")
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    link = link_of(exam.study_instance_uid)
    assert link.exam == exam and link.method == LinkMethod.STUDY_UID


def test_the_accession_of_another_patient_does_not_link(archive, modality, scheduled: Scheduled, tmp_path):
    stranger = Patient("Sun^Ba=孙^八", "P999", "19700101", "M")
    folder = series_files(tmp_path / "ct", stranger, accession=scheduled.zhang_ct.accession_number)
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    assert link_of(study.study_instance_uid).exam is None
    assert list(studies_unmatched(organization=study.organization)) == [study]


def test_an_unmatched_study_is_claimed_by_an_exam_registered_later(
    archive, modality, scheduled: Scheduled, catalogue, tmp_path
):
    folder = series_files(tmp_path / "ct", ZHANG, accession="NOSUCHORDER")
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    assert list(studies_unmatched(organization=study.organization)) == [study]
    # An exam registered with the study's identity (as the demo data's history is): claimed on commit.
    with transaction.atomic():
        order = order_create(
            organization=study.organization,
            patient=scheduled.zhang_ct.patient,
            data=OrderData(procedure=catalogue["CT-HEAD"]),
            source="desk",
            by=None,
        )
        Exam.objects.filter(pk=order.exam_id).update(study_instance_uid=study.study_instance_uid)
    link = link_of(study.study_instance_uid)
    assert link.exam_id == order.exam_id and link.method == LinkMethod.STUDY_UID
    assert not studies_unmatched(organization=study.organization).exists()


def test_a_user_links_and_unbinds_a_study(archive, modality, scheduled: Scheduled, tmp_path):
    folder = series_files(tmp_path / "ct", ZHANG, accession="NOSUCHORDER")
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    link = study_link_set(study=study, exam=scheduled.zhang_ct)
    assert link.exam == scheduled.zhang_ct and link.method == LinkMethod.MANUAL
    assert not studies_unmatched(organization=study.organization).exists()
    study_link_set(study=study, exam=None)
    assert list(studies_unmatched(organization=study.organization)) == [study]
