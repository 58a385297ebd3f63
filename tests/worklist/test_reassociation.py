"""Re-association: a study stored under the wrong patient (unmatched) is given to its order; C-FIND, QIDO,
WADO-RS metadata and the stored files then show the corrected patient, the old values are kept in the
files and the audit trail, and the change can be undone."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from django.http import QueryDict

from pacs import storage
from pacs.charsets import strip_escape_sequences
from pacs.corrections import CorrectionError, study_reassign
from pacs.models import Instance, Patient, Series, Study
from pacs.query.engine import query_execute, query_from_qido
from pacs.retrieve.metadata import series_metadata_bytes
from pacs.synthetic import Patient as SyntheticPatient
from tests.dimse.conftest import Archive
from tests.dimse.test_find import findscu
from tests.worklist.conftest import Scheduled
from tests.worklist.test_linking import series_files
from worklist.models import Reassociation, StudyLink
from worklist.selectors import studies_unmatched
from worklist.services.reassociation import reassociation_undo, study_reassociate, study_unbind

WRONG = SyntheticPatient("Sun^Ba=孙^八", "P999", "19700101", "M", charset="GB18030")


def cfind_study(archive: Archive, out: Path, patient_id: str) -> list[pydicom.Dataset]:
    return findscu(
        archive,
        out,
        "-S",
        "-k",
        "QueryRetrieveLevel=STUDY",
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
    )


def qido(study: Study, patient_id: str) -> list[dict]:
    rows, _more = query_execute(
        query_from_qido(QueryDict(f"PatientID={patient_id}&includefield=00080050"), "STUDY"),
        organization=study.organization,
        limit=10,
        offset=0,
    )
    return rows


@pytest.fixture
def stored(archive, modality, scheduled: Scheduled, tmp_path) -> Study:
    """A CT study stored with the wrong patient and an accession number no order has: unmatched."""
    folder = series_files(tmp_path / "ct", WRONG, accession="WRONG1")
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    assert list(studies_unmatched(organization=study.organization)) == [study]
    return study


def test_reassociated_study_is_served_with_the_corrected_patient(archive, stored: Study, scheduled, tmp_path):
    exam = scheduled.zhang_ct
    before = {i.pk: (i.file_path, storage.read_ranges(i.file_path, i.frame_index[0])) for i in Instance.objects.all()}
    versions = dict(Series.objects.values_list("pk", "metadata_version"))

    record = study_reassociate(study=stored, exam=exam, reason="wrong patient chosen at the modality", by=None)

    assert record.old == {
        "PatientName": "Sun^Ba=孙^八",
        "PatientID": "P999",
        "PatientBirthDate": "19700101",
        "AccessionNumber": "WRONG1",
    }
    assert record.new["PatientID"] == "P001" and record.new["AccessionNumber"] == exam.accession_number
    assert StudyLink.objects.get(study=stored).exam == exam
    assert not studies_unmatched(organization=stored.organization).exists()
    # The index: the study moved to the right patient; the wrong one, left without studies, is gone.
    study = Study.objects.select_related("patient").get(pk=stored.pk)
    assert study.patient.patient_id == "P001" and study.patient.patient_name == "ZHANG^SAN=张^三"
    assert study.accession_number == exam.accession_number
    assert not Patient.objects.filter(patient_id="P999").exists()
    # C-FIND and QIDO-RS answer with the corrected values, and no longer find the wrong patient.
    found = cfind_study(archive, tmp_path / "find", "P001")
    assert [(str(r.PatientName), r.AccessionNumber) for r in found] == [("ZHANG^SAN=张^三", exam.accession_number)]
    assert cfind_study(archive, tmp_path / "none", "P999") == []
    (row,) = qido(study, "P001")
    assert row["00080050"]["Value"] == [exam.accession_number]
    assert row["00100010"]["Value"][0]["Ideographic"] == "张^三"
    # WADO-RS metadata: rebuilt for a new version of every series.
    for series_id, version in versions.items():
        assert Series.objects.get(pk=series_id).metadata_version == version + 1
        metadata = json.loads(series_metadata_bytes(series_id=series_id).replace(b"{{BASE}}", b""))
        assert {item["00100020"]["Value"][0] for item in metadata} == {"P001"}
    # The files: rewritten under a new name with the new values, the old values kept; frames still addressable.
    for instance in Instance.objects.all():
        old_path, first_frame = before[instance.pk]
        assert instance.file_path != old_path and not storage.absolute_path(old_path).exists()
        ds = pydicom.dcmread(storage.absolute_path(instance.file_path))
        assert ds.PatientID == "P001" and ds.AccessionNumber == exam.accession_number
        assert str(ds.PatientName) == "ZHANG^SAN=张^三"
        kept = ds.OriginalAttributesSequence[0]
        assert kept.ReasonForTheAttributeModification == "CORRECT"
        assert kept.ModifiedAttributesSequence[0].PatientID == "P999"
        assert kept.ModifiedAttributesSequence[0].AccessionNumber == "WRONG1"
        assert storage.read_ranges(instance.file_path, instance.frame_index[0]) == first_frame


def test_undo_restores_the_archive_and_the_link(archive, stored: Study, scheduled, tmp_path):
    record = study_reassociate(study=stored, exam=scheduled.zhang_ct, reason="wrong patient", by=None)
    undo = reassociation_undo(reassociation=record, by=None)

    study = Study.objects.select_related("patient").get(pk=stored.pk)
    assert study.patient.patient_id == "P999" and study.accession_number == "WRONG1"
    assert study.patient.patient_name == "Sun^Ba=孙^八"
    assert list(studies_unmatched(organization=study.organization)) == [study]
    assert [str(r.PatientName) for r in cfind_study(archive, tmp_path / "find", "P999")] == ["Sun^Ba=孙^八"]
    for instance in Instance.objects.all():
        ds = pydicom.dcmread(storage.absolute_path(instance.file_path))
        assert ds.PatientID == "P999"
        assert len(ds.OriginalAttributesSequence) == 2  # both changes are in the file's history
    record.refresh_from_db()
    assert record.undone_at is not None and undo.exam_after is None and undo.exam_before == scheduled.zhang_ct
    with pytest.raises(ValueError):
        reassociation_undo(reassociation=record, by=None)
    assert Reassociation.objects.count() == 2


def test_given_to_a_patient_without_an_order(stored: Study, scheduled):
    record = study_reassociate(study=stored, patient=scheduled.li_dx.patient, reason="outside images", by=None)
    assert "AccessionNumber" not in record.new and record.new["PatientID"] == "P002"
    assert Study.objects.get(pk=stored.pk).patient.patient_id == "P002"
    assert StudyLink.objects.get(study=stored).exam is None


def test_unbinding_takes_the_study_off_its_order(archive, modality, scheduled, tmp_path):
    folder = series_files(
        tmp_path / "ct",
        SyntheticPatient("Zhang^San=张^三", "P001", "19680312", "M"),
        accession=scheduled.zhang_ct.accession_number,
    )
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    record = study_unbind(study=study, reason="not this exam", by=None)
    assert record.exam_before == scheduled.zhang_ct and record.old == {} and record.new == {}
    assert list(studies_unmatched(organization=study.organization)) == [study]
    reassociation_undo(reassociation=record, by=None)
    assert StudyLink.objects.get(study=study).exam == scheduled.zhang_ct


def test_only_patient_and_study_identity_can_be_corrected(stored: Study):
    with pytest.raises(CorrectionError):
        study_reassign(study=stored, values={"StudyInstanceUID": "1.2.3"})


@pytest.mark.parametrize(
    ("character_set", "name"),
    [("ISO_IR 100", "Sun^Ba"), ("\\ISO 2022 IR 58", "Sun^Ba=孙^八"), ("ISO_IR 192", "Sun^Ba")],
)
def test_files_in_a_character_set_without_chinese_become_utf8(
    archive, modality, scheduled, tmp_path, character_set, name
):
    patient = SyntheticPatient(name, "P999", "19700101", "M", charset=character_set)
    folder = series_files(tmp_path / "ct", patient, accession="WRONG1")
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    study_reassociate(study=study, exam=scheduled.zhang_ct, reason="wrong patient", by=None)
    for instance in Instance.objects.all():
        ds = pydicom.dcmread(storage.absolute_path(instance.file_path))
        assert ds.SpecificCharacterSet == "ISO_IR 192"
        assert str(ds.PatientName) == "ZHANG^SAN=张^三"
        kept = ds.OriginalAttributesSequence[0].ModifiedAttributesSequence[0]
        assert strip_escape_sequences(str(kept.PatientName)) == name
