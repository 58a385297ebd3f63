"""Modality Worklist C-FIND SCP (PS3.4 K.6): DCMTK ``findscu -W`` against exams scheduled in the RIS."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pydicom
import pytest
from django.utils import timezone
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind

from pacs.charsets import strip_escape_sequences
from pacs.models import RemoteAE
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE, Archive
from tests.worklist.conftest import Scheduled
from worklist.query import DETACHED_STUDY_MANAGEMENT, person_name, worklist_exams, worklist_time_filter

SPS = "ScheduledProcedureStepSequence[0]"
RETURN_KEYS = [
    "AccessionNumber",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "RequestedProcedurePriority",
    "ReferencedStudySequence",
    f"{SPS}.ScheduledStationAETitle",
    f"{SPS}.Modality",
    f"{SPS}.ScheduledProcedureStepStartDate",
    f"{SPS}.ScheduledProcedureStepStartTime",
    f"{SPS}.ScheduledProcedureStepDescription",
    f"{SPS}.ScheduledProcedureStepID",
]


def today(days: int = 0) -> str:
    return (timezone.localdate() + timezone.timedelta(days=days)).strftime("%Y%m%d")


def findscu_worklist(archive: Archive, out: Path, *matching: str | bytes, calling: str = MODALITY_AE) -> list[Dataset]:
    """``findscu -W`` with the usual return keys and the given ``key=value`` matching keys; the responses."""
    keys: dict[str | bytes, str | bytes] = {key: key for key in RETURN_KEYS}
    for key in matching:
        name = key.split(b"=" if isinstance(key, bytes) else "=", 1)[0]
        keys[name.decode() if isinstance(name, bytes) else name] = key
    out.mkdir(exist_ok=True)
    command: list[str | bytes] = ["findscu", "-W", "-aet", calling, "-aec", ARCHIVE_AE, "-X", "-od", str(out)]
    for key in keys.values():
        command += ["-k", key]
    command += [archive.host, str(archive.port)]
    result = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return [pydicom.dcmread(path) for path in sorted(out.glob("rsp*.dcm"))]


def accessions(responses: list[Dataset]) -> list[str]:
    return [r.AccessionNumber for r in responses]


# --- plain functions -----------------------------------------------------------------------------


def test_chinese_names_become_person_names_with_pinyin():
    assert person_name("张三") == "ZHANG^SAN=张^三"
    assert person_name("李") == "LI=李"
    assert person_name("John Smith") == "John Smith"


def _identifier(**step: str) -> Dataset:
    item = Dataset()
    for keyword, value in step.items():
        setattr(item, keyword, value)
    identifier = Dataset()
    identifier.ScheduledProcedureStepSequence = [item]
    return identifier


def test_station_and_date_give_the_station_list_emergencies_first(org_alpha, scheduled: Scheduled):
    identifier = _identifier(ScheduledStationAETitle="CT1", ScheduledProcedureStepStartDate=today())
    exams = list(worklist_exams(organization=org_alpha, identifier=identifier))
    # The walk-in has no room: it is offered to every CT station, and it is an emergency.
    assert exams == [scheduled.zhao_walk_in, scheduled.zhang_ct]


def test_start_time_range(org_alpha, scheduled: Scheduled):
    def found(time_range: str) -> list:
        identifier = _identifier(Modality="DX", ScheduledProcedureStepStartTime=time_range)
        exams = worklist_exams(organization=org_alpha, identifier=identifier)
        return list(worklist_time_filter(exams, identifier=identifier))

    assert found("0930-1100") == [scheduled.li_dx]
    assert found("10") == [scheduled.li_dx]
    assert found("0800-0930") == []
    assert found("-0959") == []


def test_other_organizations_exams_are_not_listed(org_beta, scheduled: Scheduled):
    assert not worklist_exams(organization=org_beta, identifier=_identifier(Modality="CT")).exists()


# --- findscu -W ----------------------------------------------------------------------------------


def test_by_station_ae_title_with_the_return_keys_modalities_use(archive, modality, scheduled: Scheduled, tmp_path):
    responses = findscu_worklist(
        archive, tmp_path, f"{SPS}.ScheduledStationAETitle=CT1", f"{SPS}.ScheduledProcedureStepStartDate={today()}"
    )
    assert accessions(responses) == [scheduled.zhao_walk_in.accession_number, scheduled.zhang_ct.accession_number]
    zhang = responses[1]
    exam = scheduled.zhang_ct
    assert zhang.StudyInstanceUID == exam.study_instance_uid  # assigned at registration
    assert zhang.RequestedProcedureID == exam.accession_number
    assert zhang.ReferencedStudySequence[0].ReferencedSOPClassUID == DETACHED_STUDY_MANAGEMENT
    assert zhang.ReferencedStudySequence[0].ReferencedSOPInstanceUID == exam.study_instance_uid
    assert zhang.PatientID == "P001"
    assert zhang.PatientBirthDate == "19680312"
    assert zhang.PatientSex == "M"
    assert zhang.RequestedProcedurePriority == "ROUTINE"
    step = zhang.ScheduledProcedureStepSequence[0]
    assert step.ScheduledStationAETitle == "CT1"
    assert step.Modality == "CT"
    assert step.ScheduledProcedureStepStartDate == today()
    assert step.ScheduledProcedureStepStartTime == "090000"
    assert step.ScheduledProcedureStepID == exam.accession_number
    # No character set asked: the default repertoire, with Chinese given in pinyin.
    assert "SpecificCharacterSet" not in zhang
    assert str(zhang.PatientName) == "ZHANG^SAN"
    assert step.ScheduledProcedureStepDescription == "CT TOU LU PING SAO"
    assert responses[0].RequestedProcedurePriority == "STAT"
    assert responses[0].ScheduledProcedureStepSequence[0].ScheduledStationAETitle == ""


def test_by_modality(archive, modality, scheduled: Scheduled, tmp_path):
    responses = findscu_worklist(archive, tmp_path, f"{SPS}.Modality=DX")
    assert accessions(responses) == [scheduled.li_dx.accession_number]


def test_by_date_range(archive, modality, scheduled: Scheduled, tmp_path):
    responses = findscu_worklist(
        archive, tmp_path, f"{SPS}.Modality=CT", f"{SPS}.ScheduledProcedureStepStartDate={today()}-{today(1)}"
    )
    # The cancelled exam is not on the worklist.
    assert set(accessions(responses)) == {
        scheduled.zhao_walk_in.accession_number,
        scheduled.zhang_ct.accession_number,
        scheduled.wang_ct_tomorrow.accession_number,
    }
    tomorrow_only = findscu_worklist(
        archive, tmp_path / "tomorrow", f"{SPS}.ScheduledProcedureStepStartDate={today(1)}-"
    )
    assert accessions(tomorrow_only) == [scheduled.wang_ct_tomorrow.accession_number]


@pytest.mark.parametrize(
    ("character_set", "codec"), [("GB18030", "gb18030"), ("ISO_IR 192", "utf-8"), ("\\ISO 2022 IR 58", None)]
)
def test_chinese_name_in_the_character_set_the_modality_asks(
    archive, modality, scheduled: Scheduled, tmp_path, character_set, codec
):
    key = "PatientName=张*".encode(codec) if codec else b"PatientName=\x1b$)A" + "张".encode("gb2312") + b"*"
    responses = findscu_worklist(archive, tmp_path, f"SpecificCharacterSet={character_set}", key)
    assert accessions(responses) == [scheduled.zhang_ct.accession_number]
    assert strip_escape_sequences(str(responses[0].PatientName)) == "ZHANG^SAN=张^三"
    description = responses[0].ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription
    assert strip_escape_sequences(description) == "CT 头颅平扫"


def test_by_pinyin_and_patient_id(archive, modality, scheduled: Scheduled, tmp_path):
    assert accessions(findscu_worklist(archive, tmp_path / "a", "PatientName=li*")) == [
        scheduled.li_dx.accession_number
    ]
    assert accessions(findscu_worklist(archive, tmp_path / "b", "PatientName=Wang^Wu")) == [
        scheduled.wang_ct_tomorrow.accession_number
    ]
    assert accessions(findscu_worklist(archive, tmp_path / "c", "PatientID=P004")) == [
        scheduled.zhao_walk_in.accession_number
    ]
    by_accession = findscu_worklist(archive, tmp_path / "d", f"AccessionNumber={scheduled.li_dx.accession_number}")
    assert accessions(by_accession) == [scheduled.li_dx.accession_number]


def pynetdicom_find(archive: Archive, identifier: Dataset) -> list[tuple[int, Dataset | None]]:
    """A worklist C-FIND with pynetdicom; every (status, identifier) the archive answered."""
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(ModalityWorklistInformationFind)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    try:
        return [
            (status.Status, found)
            for status, found in association.send_c_find(identifier, ModalityWorklistInformationFind)
        ]
    finally:
        association.release()


def test_a_malformed_date_is_refused_with_0xA900(archive, modality, scheduled: Scheduled):
    answers = pynetdicom_find(archive, _identifier(ScheduledProcedureStepStartDate="2026-13"))
    assert [status for status, _found in answers] == [0xA900]


def test_an_ae_that_may_not_query_is_refused_0x0124(archive, modality: RemoteAE, scheduled: Scheduled):
    modality.allow_query = False
    modality.save()
    answers = pynetdicom_find(archive, _identifier(Modality="CT"))
    assert [status for status, _found in answers] == [0x0124]


def test_pending_responses_then_success(archive, modality, scheduled: Scheduled):
    answers = pynetdicom_find(archive, _identifier(Modality="DX"))
    assert [status for status, _found in answers] == [0xFF00, 0x0000]


def test_the_dimse_command_serves_the_worklist(dimse_process, modality, scheduled: Scheduled, tmp_path):
    """``manage.py dimse`` (what a hospital runs) has the worklist registered by the app's ready()."""
    archive = dimse_process()
    responses = findscu_worklist(archive, tmp_path, f"{SPS}.ScheduledStationAETitle=DR1")
    assert accessions(responses) == [scheduled.li_dx.accession_number]
