"""C-FIND SCP with DCMTK findscu at every level of both models, Chinese character sets, and C-CANCEL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from pacs.charsets import encode_iso2022_ir58, strip_escape_sequences
from pacs.dimse.handlers import find
from pacs.models import Patient as PatientRow
from pacs.models import Study
from pacs.synthetic import Patient, ct_series
from tests.conftest import PYDICOM_TEST_FILES
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE, Archive

CT = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm", stop_before_pixels=True)
MR = pydicom.dcmread(PYDICOM_TEST_FILES / "MR_small.dcm", stop_before_pixels=True)


def findscu(archive: Archive, out: Path, *options: str | bytes) -> list[Dataset]:
    """Run findscu with ``-X`` and return the responses it wrote, in order."""
    out.mkdir(exist_ok=True)
    command: list[str | bytes] = [
        "findscu",
        "-aet",
        MODALITY_AE,
        "-aec",
        ARCHIVE_AE,
        "-X",
        "-od",
        str(out),
        *options,
        archive.host,
        str(archive.port),
    ]
    result = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return [pydicom.dcmread(path) for path in sorted(out.glob("rsp*.dcm"))]


LEVELS = [
    ("-P", "PATIENT", ["-k", "PatientID", "-k", "PatientName"], "PatientID", {CT.PatientID, MR.PatientID}),
    (
        "-P",
        "STUDY",
        ["-k", f"PatientID={CT.PatientID}", "-k", "StudyInstanceUID"],
        "StudyInstanceUID",
        {CT.StudyInstanceUID},
    ),
    (
        "-P",
        "SERIES",
        ["-k", f"PatientID={MR.PatientID}", "-k", f"StudyInstanceUID={MR.StudyInstanceUID}", "-k", "SeriesInstanceUID"],
        "SeriesInstanceUID",
        {MR.SeriesInstanceUID},
    ),
    (
        "-P",
        "IMAGE",
        [
            "-k",
            f"PatientID={CT.PatientID}",
            "-k",
            f"StudyInstanceUID={CT.StudyInstanceUID}",
            "-k",
            f"SeriesInstanceUID={CT.SeriesInstanceUID}",
            "-k",
            "SOPInstanceUID",
        ],
        "SOPInstanceUID",
        {CT.SOPInstanceUID},
    ),
    (
        "-S",
        "STUDY",
        ["-k", "StudyInstanceUID", "-k", "ModalitiesInStudy"],
        "StudyInstanceUID",
        {CT.StudyInstanceUID, MR.StudyInstanceUID},
    ),
    (
        "-S",
        "SERIES",
        ["-k", f"StudyInstanceUID={CT.StudyInstanceUID}", "-k", "SeriesInstanceUID", "-k", "Modality"],
        "SeriesInstanceUID",
        {CT.SeriesInstanceUID},
    ),
    (
        "-S",
        "IMAGE",
        [
            "-k",
            f"StudyInstanceUID={MR.StudyInstanceUID}",
            "-k",
            f"SeriesInstanceUID={MR.SeriesInstanceUID}",
            "-k",
            "SOPInstanceUID",
        ],
        "SOPInstanceUID",
        {MR.SOPInstanceUID},
    ),
]


@pytest.mark.parametrize(
    ("model", "level", "keys", "unique_key", "expected"), LEVELS, ids=[f"{m}{lv}" for m, lv, *_ in LEVELS]
)
def test_findscu_at_each_level_of_both_models(
    archive, modality, ingest, org_alpha, org_beta, tmp_path, model, level, keys, unique_key, expected
):  # noqa: E501
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm", PYDICOM_TEST_FILES / "MR_small.dcm")
    ingest(org_beta, PYDICOM_TEST_FILES / "rtplan.dcm")  # another organization's: never seen
    responses = findscu(archive, tmp_path / "rsp", model, "-k", f"QueryRetrieveLevel={level}", *keys)
    assert {str(response.get(unique_key)) for response in responses} == expected
    assert all(response.QueryRetrieveLevel == level for response in responses)
    assert all(response.RetrieveAETitle == ARCHIVE_AE for response in responses)


def test_study_root_has_no_patient_level(archive, modality, tmp_path):
    command = [
        "findscu",
        "-v",
        "-aet",
        MODALITY_AE,
        "-aec",
        ARCHIVE_AE,
        "-S",
        "-k",
        "QueryRetrieveLevel=PATIENT",
        "-k",
        "PatientID",
        archive.host,
        str(archive.port),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    # DCMTK names 0xA900 after the Storage meaning of the code.
    assert "Received Final Find Response (Error: DataSetDoesNotMatchSOPClass)" in result.stdout + result.stderr


NAMES = [("张三", "GB18030"), ("李四", "ISO_IR 192"), ("王五", "\\ISO 2022 IR 58")]


def _encode(text: str, character_set: str) -> bytes:
    if "2022" in character_set:
        return encode_iso2022_ir58(text)
    return text.encode("gb18030" if character_set == "GB18030" else "utf-8")


@pytest.fixture
def chinese_patients(ingest, org_alpha):  # type: ignore[no-untyped-def]
    for index, (name, character_set) in enumerate(NAMES):
        patient = Patient(
            name=f"{name}^", patient_id=f"ZH{index}", birth_date="19700101", sex="M", charset=character_set
        )
        ingest(org_alpha, *ct_series(patient, slices=1, size=16))


@pytest.mark.parametrize("query_character_set", ["GB18030", "ISO_IR 192", "\\ISO 2022 IR 58"])
@pytest.mark.parametrize(("name", "stored_character_set"), NAMES)
def test_chinese_names_in_each_character_set(
    archive, modality, chinese_patients, tmp_path, name, stored_character_set, query_character_set
):  # noqa: E501
    """A name stored in one character set is found by a query in another and returned in the query's."""
    pattern = name[0] + "*"
    responses = findscu(
        archive,
        tmp_path / "rsp",
        "-S",
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"SpecificCharacterSet={query_character_set}",
        b"-k",
        b"PatientName=" + _encode(pattern, query_character_set),
        "-k",
        "PatientID",
    )
    # pydicom keeps ISO 2022 escape sequences in decoded text; they are code switching, not characters.
    assert [strip_escape_sequences(str(response.PatientName)) for response in responses] == [f"{name}^"]
    (response,) = responses
    assert response.SpecificCharacterSet == (
        ["", "ISO 2022 IR 58"] if "2022" in query_character_set else query_character_set
    )


def test_c_cancel_stops_the_responses(archive, modality, org_alpha, monkeypatch):
    patient = PatientRow.objects.create(organization=org_alpha, patient_id="MANY", patient_name="Many^Studies")
    Study.objects.bulk_create(
        Study(organization=org_alpha, patient=patient, study_instance_uid=generate_uid()) for _ in range(300)
    )
    monkeypatch.setattr(find, "PAGE_SIZE", 1)  # one query per match: the cancel arrives mid-way
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = ""
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    statuses = []
    try:
        for status, _identifier in association.send_c_find(
            identifier, StudyRootQueryRetrieveInformationModelFind, msg_id=7
        ):
            statuses.append(status.Status)
            if len(statuses) == 1:
                association.send_c_cancel(7, query_model=StudyRootQueryRetrieveInformationModelFind)
    finally:
        association.release()
    assert statuses[-1] == 0xFE00
    assert len(statuses) < 300
