"""What the archive serves after a re-association, asked the way clients ask: QIDO-RS and WADO-RS over a
live HTTP server, C-FIND with DCMTK findscu. A whole study, and one series moved out of a study into
another order's study, then undone."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from pacs import storage
from pacs.corrections import CorrectionError, series_move
from pacs.models import Instance, Patient, Series, Study
from pacs.synthetic import Patient as SyntheticPatient
from tests.dimse.conftest import Archive
from tests.dimse.test_find import findscu
from tests.worklist.conftest import Scheduled
from tests.worklist.test_linking import ZHANG, series_files
from worklist.models import Reassociation, StudyLink
from worklist.services.reassociation import (
    ReassociationError,
    reassociation_undo,
    series_reassociate,
    study_reassociate,
)

WRONG = SyntheticPatient("Sun^Ba=孙^八", "P999", "19700101", "M", charset="GB18030")
DICOM_JSON = {"Accept": "application/dicom+json"}


def qido_studies(http, patient_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = http.get(
        "/dicomweb/studies",
        params={"PatientID": patient_id, "includefield": "00080050,00201206,00201208"},
        headers=DICOM_JSON,
    )
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else []


def study_uids(rows: list[dict]) -> set[str]:
    return {row["0020000D"]["Value"][0] for row in rows}


def wado_metadata(http, path: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = http.get(f"/dicomweb/studies/{path}/metadata", headers=DICOM_JSON)
    assert response.status_code == 200, response.text
    return response.json()


def cfind(archive: Archive, out: Path, level: str, patient_id: str) -> list[pydicom.Dataset]:
    keys = ["-k", "SeriesInstanceUID"] if level == "SERIES" else []
    return findscu(
        archive,
        out,
        "-S",
        "-k",
        f"QueryRetrieveLevel={level}",
        "-k",
        "SpecificCharacterSet=ISO_IR 192",
        "-k",
        f"PatientID={patient_id}",
        "-k",
        "PatientName",
        "-k",
        "AccessionNumber",
        "-k",
        "StudyInstanceUID",
        *keys,
    )


def store(archive: Archive, folder: Path) -> None:
    result = archive.dcmtk("storescu", "+sd", files=[folder])
    assert result.returncode == 0, result.stderr


@pytest.fixture
def two_series(archive, modality, scheduled: Scheduled, tmp_path) -> Study:
    """One study of the wrong patient with two CT series (the second one belongs to 张三's order)."""
    study_uid = generate_uid()
    store(archive, series_files(tmp_path / "a", WRONG, study_uid=study_uid, accession="WRONG1"))
    store(archive, series_files(tmp_path / "b", WRONG, study_uid=study_uid, accession="WRONG1"))
    study = Study.objects.get()
    assert study.number_of_series == 2 and study.number_of_instances == 6
    return study


def test_a_reassociated_study_is_served_over_http_and_cfind_with_the_corrected_patient(
    archive, modality, scheduled: Scheduled, alpha_http, tmp_path
):
    store(archive, series_files(tmp_path / "ct", WRONG, accession="WRONG1"))
    study = Study.objects.get()
    assert study_uids(qido_studies(alpha_http, "P999")) == {study.study_instance_uid}

    exam = scheduled.zhang_ct
    study_reassociate(study=study, exam=exam, reason="wrong patient", by=None)

    (row,) = qido_studies(alpha_http, "P001")
    assert row["0020000D"]["Value"] == [study.study_instance_uid]
    assert row["00080050"]["Value"] == [exam.accession_number]
    assert row["00100010"]["Value"][0]["Ideographic"] == "张^三"
    assert qido_studies(alpha_http, "P999") == []
    metadata = wado_metadata(alpha_http, study.study_instance_uid)
    assert {item["00100020"]["Value"][0] for item in metadata} == {"P001"}
    assert {item["00080050"]["Value"][0] for item in metadata} == {exam.accession_number}
    # The old values are kept in the Original Attributes Sequence (0400,0561), and only there.
    assert {str(item["00100010"]["Value"][0]) for item in metadata} == {
        str({"Alphabetic": "ZHANG^SAN", "Ideographic": "张^三"})
    }
    assert all("P999" in str(item["04000561"]) for item in metadata)
    (found,) = cfind(archive, tmp_path / "f1", "STUDY", "P001")
    assert (found.StudyInstanceUID, found.AccessionNumber) == (study.study_instance_uid, exam.accession_number)
    assert cfind(archive, tmp_path / "f2", "STUDY", "P999") == []


def test_a_series_moved_to_another_order_becomes_its_study_then_comes_back(
    archive, two_series: Study, scheduled: Scheduled, alpha_http, tmp_path
):
    exam = scheduled.zhang_ct
    moved, kept = Series.objects.filter(study=two_series).order_by("pk")
    old_paths = set(Instance.objects.filter(series=moved).values_list("file_path", flat=True))
    version = moved.metadata_version

    record = series_reassociate(series=moved, exam=exam, reason="second series was the next patient", by=None)

    # The audit trail: the series, where it came from and went, the old and new values.
    assert record.series_instance_uid == moved.series_instance_uid and record.study == two_series
    assert record.old["StudyInstanceUID"] == two_series.study_instance_uid and record.old["PatientID"] == "P999"
    assert record.new["StudyInstanceUID"] == exam.study_instance_uid
    assert record.new["AccessionNumber"] == exam.accession_number
    # The index: a new study with the exam's registered UID, linked to it; the old study keeps one series.
    new_study = Study.objects.select_related("patient").get(study_instance_uid=exam.study_instance_uid)
    assert record.study_after == new_study and StudyLink.objects.get(study=new_study).exam == exam
    assert new_study.patient.patient_id == "P001" and new_study.accession_number == exam.accession_number
    assert (new_study.number_of_series, new_study.number_of_instances) == (1, 3)
    two_series.refresh_from_db()
    assert (two_series.number_of_series, two_series.number_of_instances) == (1, 3)
    assert Series.objects.get(pk=moved.pk).metadata_version == version + 1
    # The files: the series' new study and patient, the old values kept; the old files gone.
    for instance in Instance.objects.filter(series=moved):
        ds = pydicom.dcmread(storage.absolute_path(instance.file_path))
        assert ds.StudyInstanceUID == exam.study_instance_uid and ds.PatientID == "P001"
        assert ds.OriginalAttributesSequence[0].ModifiedAttributesSequence[0].StudyInstanceUID == (
            two_series.study_instance_uid
        )
    assert not any(storage.absolute_path(path).exists() for path in old_paths)
    # QIDO-RS over HTTP: each patient has the study with the series now theirs.
    (row,) = qido_studies(alpha_http, "P001")
    assert row["0020000D"]["Value"] == [exam.study_instance_uid] and row["00201206"]["Value"] == [1]
    (row,) = qido_studies(alpha_http, "P999")
    assert row["0020000D"]["Value"] == [two_series.study_instance_uid] and row["00201206"]["Value"] == [1]
    series_rows = alpha_http.get(f"/dicomweb/studies/{two_series.study_instance_uid}/series", headers=DICOM_JSON)
    assert [r["0020000E"]["Value"][0] for r in series_rows.json()] == [kept.series_instance_uid]
    # WADO-RS metadata of the series under its new study; under the old one it is gone.
    metadata = wado_metadata(alpha_http, f"{exam.study_instance_uid}/series/{moved.series_instance_uid}")
    assert len(metadata) == 3
    assert {(i["0020000D"]["Value"][0], i["00100020"]["Value"][0]) for i in metadata} == {
        (exam.study_instance_uid, "P001")
    }
    old_place = f"/dicomweb/studies/{two_series.study_instance_uid}/series/{moved.series_instance_uid}/metadata"
    assert alpha_http.get(old_place, headers=DICOM_JSON).status_code == 404
    # C-FIND at series level.
    found = cfind(archive, tmp_path / "f1", "SERIES", "P001")
    assert [(r.StudyInstanceUID, r.SeriesInstanceUID) for r in found] == [
        (exam.study_instance_uid, moved.series_instance_uid)
    ]
    found = cfind(archive, tmp_path / "f2", "SERIES", "P999")
    assert [r.SeriesInstanceUID for r in found] == [kept.series_instance_uid]

    undo = reassociation_undo(reassociation=record, by=None)

    assert undo.series_instance_uid == moved.series_instance_uid
    assert not Study.objects.filter(study_instance_uid=exam.study_instance_uid).exists()
    two_series.refresh_from_db()
    assert (two_series.number_of_series, two_series.number_of_instances) == (2, 6)
    assert Series.objects.get(pk=moved.pk).study_id == two_series.pk
    assert qido_studies(alpha_http, "P001") == []
    (row,) = qido_studies(alpha_http, "P999")
    assert row["00201206"]["Value"] == [2]
    metadata = wado_metadata(alpha_http, f"{two_series.study_instance_uid}/series/{moved.series_instance_uid}")
    assert {(i["0020000D"]["Value"][0], i["00100020"]["Value"][0]) for i in metadata} == {
        (two_series.study_instance_uid, "P999")
    }
    assert len(cfind(archive, tmp_path / "f3", "SERIES", "P999")) == 2
    for instance in Instance.objects.filter(series=moved):
        ds = pydicom.dcmread(storage.absolute_path(instance.file_path))
        assert ds.StudyInstanceUID == two_series.study_instance_uid and ds.PatientID == "P999"
        assert len(ds.OriginalAttributesSequence) == 2
    assert Reassociation.objects.get(pk=record.pk).undone_at is not None


def test_a_series_joins_the_stored_study_of_the_order(archive, two_series: Study, scheduled: Scheduled, tmp_path):
    exam = scheduled.zhang_ct
    store(archive, series_files(tmp_path / "z", ZHANG, accession=exam.accession_number))
    ordered = Study.objects.get(patient__patient_id="P001")
    assert StudyLink.objects.get(study=ordered).exam == exam
    moved = Series.objects.filter(study=two_series).first()

    record = series_reassociate(series=moved, exam=exam, reason="belongs to this exam", by=None)

    assert record.study_after == ordered and record.new["StudyInstanceUID"] == ordered.study_instance_uid
    ordered.refresh_from_db()
    assert (ordered.number_of_series, ordered.number_of_instances) == (2, 6)
    assert set(Series.objects.filter(study=ordered).values_list("pk", flat=True)) >= {moved.pk}
    # The series takes the stored study's patient as it is in the archive.
    assert record.new["PatientName"] == "Zhang^San=张^三"


def test_the_only_series_of_a_study_is_not_moved_alone(archive, modality, scheduled: Scheduled, tmp_path):
    store(archive, series_files(tmp_path / "ct", WRONG, accession="WRONG1"))
    with pytest.raises(ReassociationError):
        series_reassociate(series=Series.objects.get(), exam=scheduled.zhang_ct, reason="x", by=None)
    assert Study.objects.get().patient.patient_id == "P999" and not Reassociation.objects.exists()


def test_a_series_given_to_a_patient_without_an_order(archive, two_series: Study, scheduled: Scheduled):
    moved = Series.objects.filter(study=two_series).first()
    record = series_reassociate(series=moved, patient=scheduled.li_dx.patient, reason="outside", by=None)
    study = Study.objects.get(pk=record.study_after_id)
    assert study.patient.patient_id == "P002" and study.accession_number == ""
    assert StudyLink.objects.get(study=study).exam is None
    assert Patient.objects.filter(patient_id="P999").exists()


def test_a_series_is_not_moved_into_a_study_that_holds_it_already(archive, two_series: Study, tmp_path):
    moved = Series.objects.filter(study=two_series).first()
    other_uid = generate_uid()
    store(archive, series_files(tmp_path / "c", ZHANG, study_uid=other_uid, accession="OTHER"))
    other = Study.objects.get(study_instance_uid=other_uid)
    Series.objects.filter(study=other).update(series_instance_uid=moved.series_instance_uid)
    paths = sorted(Instance.objects.filter(series=moved).values_list("file_path", flat=True))
    with pytest.raises(CorrectionError):
        series_move(series=moved, study_instance_uid=other_uid)
    assert Series.objects.get(pk=moved.pk).study_id == two_series.pk
    assert sorted(Instance.objects.filter(series=moved).values_list("file_path", flat=True)) == paths
    assert all(storage.absolute_path(path).exists() for path in paths)
    with pytest.raises(CorrectionError):
        series_move(series=moved, study_instance_uid=generate_uid(), values={"StudyDescription": "x"})
