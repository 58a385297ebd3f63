"""C-MOVE and C-GET SCP: DCMTK movescu into a DCMTK storescp, getscu, and pynetdicom for the details."""

from __future__ import annotations

import io
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (
    CTImageStorage,
    MRImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from pacs import storage
from pacs.dimse import move_scp
from pacs.models import Instance, RemoteAE
from tests.conftest import PYDICOM_TEST_FILES
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("storescp exited")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("storescp did not listen")


@pytest.fixture
def storescp(modality: RemoteAE, tmp_path: Path) -> Iterator[Path]:
    """DCMTK storescp as the Move Destination MODALITY; it accepts the uncompressed syntaxes only."""
    received = tmp_path / "received"
    received.mkdir()
    process = subprocess.Popen(
        ["storescp", "-aet", MODALITY_AE, "-od", str(received), str(modality.port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_listening(modality.port, process)
    yield received
    process.terminate()
    process.wait(timeout=10)


def _study(path: Path) -> Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def test_movescu_a_study_into_storescp(archive, modality, storescp, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")
    study_uid = _study(PYDICOM_TEST_FILES / "CT_small.dcm").StudyInstanceUID
    result = archive.dcmtk(
        "movescu",
        "-v",
        "-S",
        "-aem",
        MODALITY_AE,
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={study_uid}",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Received Final Move Response (Success)" in output
    received = list(storescp.iterdir())
    assert len(received) == 1
    # Sent in its stored syntax, streamed from the stored file: every element arrives as stored (but the
    # trailing padding, which storescp does not write).
    arrived, original = pydicom.dcmread(received[0]), pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    assert arrived.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert arrived.PixelData == original.PixelData

    def elements(dataset: pydicom.Dataset) -> list:
        return [(element.tag, element.value) for element in dataset if element.tag != 0xFFFCFFFC]

    assert elements(arrived) == elements(original)


def test_move_converts_to_a_syntax_the_destination_accepts(archive, modality, storescp, ingest, org_alpha):
    """The JPEG 2000 instance goes to a storescp that takes only uncompressed data: decoded on the way."""
    ingest(org_alpha, PYDICOM_TEST_FILES / "MR_small_jp2klossless.dcm")
    stored = Instance.objects.get()
    assert stored.transfer_syntax_uid == JPEG2000Lossless
    result = archive.dcmtk(
        "movescu",
        "-S",
        "-aem",
        MODALITY_AE,
        "-k",
        "QueryRetrieveLevel=SERIES",
        "-k",
        f"StudyInstanceUID={stored.series.study.study_instance_uid}",
        "-k",
        f"SeriesInstanceUID={stored.series.series_instance_uid}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (received,) = storescp.iterdir()
    dataset = pydicom.dcmread(received)
    assert not dataset.file_meta.TransferSyntaxUID.is_compressed
    original = pydicom.dcmread(PYDICOM_TEST_FILES / "MR_small.dcm")
    assert np.array_equal(dataset.pixel_array, original.pixel_array)


def _move(archive, identifier: Dataset, destination: str = MODALITY_AE) -> list[tuple[Dataset, Dataset | None]]:  # type: ignore[no-untyped-def]
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    try:
        return list(association.send_c_move(identifier, destination, StudyRootQueryRetrieveInformationModelMove))
    finally:
        association.release()


def _study_identifier(study_uid: str) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study_uid
    return identifier


def test_partial_failure_reports_counts_and_the_failed_uid(archive, modality, storescp, ingest, org_alpha):
    ct = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    mr = pydicom.dcmread(PYDICOM_TEST_FILES / "MR_small.dcm")
    mr.StudyInstanceUID = ct.StudyInstanceUID  # one study, two series
    buffer = io.BytesIO()
    mr.save_as(buffer)
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm", buffer.getvalue())
    lost = Instance.objects.get(sop_instance_uid=mr.SOPInstanceUID)
    storage.absolute_path(lost.file_path).unlink()  # the disk lost it: that sub-operation fails

    responses = _move(archive, _study_identifier(ct.StudyInstanceUID))
    pending = [status for status, _ in responses[:-1]]
    assert all(status.Status == 0xFF00 for status in pending)
    assert [status.NumberOfRemainingSuboperations for status in pending][0] == 1
    final_status, final_identifier = responses[-1]
    assert final_status.Status == 0xB000  # PS3.4 C.4.2.1.5: sub-operations complete, one or more failures
    assert final_status.NumberOfCompletedSuboperations == 1
    assert final_status.NumberOfFailedSuboperations == 1
    assert final_identifier.FailedSOPInstanceUIDList == mr.SOPInstanceUID
    assert len(list(storescp.iterdir())) == 1


@dataclass
class Destination:
    """A pynetdicom Storage SCP as the Move Destination: the status it answers per SOP Instance UID."""

    statuses: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    received: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle_store(self, event: evt.Event) -> int:
        time.sleep(self.delay)
        uid = str(event.request.AffectedSOPInstanceUID)
        with self.lock:
            self.received.append(uid)
        return self.statuses.get(uid, 0x0000)


@pytest.fixture
def destination(modality: RemoteAE) -> Iterator[Destination]:
    destination = Destination()
    ae = AE(ae_title=MODALITY_AE)
    ae.add_supported_context(CTImageStorage, ExplicitVRLittleEndian)
    server = ae.start_server(
        ("127.0.0.1", modality.port), block=False, evt_handlers=[(evt.EVT_C_STORE, destination.handle_store)]
    )
    try:
        yield destination
    finally:
        server.shutdown()


def _ct_series(ingest, org, count: int) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """``count`` CT instances of one series stored for ``org``: the study UID and the SOP Instance UIDs."""
    original = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    copies, uids = [], []
    for number in range(1, count + 1):
        original.SOPInstanceUID = f"{original.SeriesInstanceUID}.{number}"
        original.InstanceNumber = number
        buffer = io.BytesIO()
        original.save_as(buffer)
        copies.append(buffer.getvalue())
        uids.append(original.SOPInstanceUID)
    ingest(org, *copies)
    return original.StudyInstanceUID, uids


def test_warnings_and_failures_at_the_destination_are_counted(archive, destination, ingest, org_alpha):
    study_uid, uids = _ct_series(ingest, org_alpha, 5)
    destination.statuses = {uids[1]: 0xB000, uids[3]: 0xA700, uids[4]: 0x1234}  # unknown: a failure
    responses = _move(archive, _study_identifier(study_uid))
    final, identifier = responses[-1]
    assert final.Status == 0xB000
    assert (final.NumberOfCompletedSuboperations, final.NumberOfWarningSuboperations) == (2, 1)
    assert final.NumberOfFailedSuboperations == 2
    assert list(identifier.FailedSOPInstanceUIDList) == [uids[3], uids[4]]
    assert destination.received == uids


def test_every_sub_operation_failed_is_0xA702(archive, destination, ingest, org_alpha):
    study_uid, uids = _ct_series(ingest, org_alpha, 3)
    destination.statuses = dict.fromkeys(uids, 0xA700)
    final, identifier = _move(archive, _study_identifier(study_uid))[-1]
    assert (final.Status, final.NumberOfFailedSuboperations, final.NumberOfCompletedSuboperations) == (0xA702, 3, 0)
    assert list(identifier.FailedSOPInstanceUIDList) == uids


def test_cancel_stops_the_move_and_every_instance_sent_is_counted(archive, destination, ingest, org_alpha):
    study_uid, uids = _ct_series(ingest, org_alpha, 40)
    destination.delay = 0.02
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    context_id = association.accepted_contexts[0].context_id
    try:
        responses = []
        for status, identifier in association.send_c_move(
            _study_identifier(study_uid), MODALITY_AE, StudyRootQueryRetrieveInformationModelMove, msg_id=11
        ):
            responses.append((status, identifier))
            if status.Status == 0xFF00 and len(responses) == 1:
                association.send_c_cancel(11, context_id)
    finally:
        association.release()
    final, identifier = responses[-1]
    assert final.Status == 0xFE00
    done = final.NumberOfCompletedSuboperations + final.NumberOfFailedSuboperations
    assert final.NumberOfRemainingSuboperations > 0
    assert done + final.NumberOfRemainingSuboperations == 40
    assert list(identifier.FailedSOPInstanceUIDList or []) == []
    # What reached the destination is what the counts say: the sub-operation under way was waited for.
    assert destination.received == uids[:done]


def test_a_requestor_that_aborts_midway_stops_the_sub_operations(archive, destination, ingest, org_alpha):
    study_uid, _uids = _ct_series(ingest, org_alpha, 40)
    destination.delay = 0.02
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    for status, _identifier in association.send_c_move(
        _study_identifier(study_uid), MODALITY_AE, StudyRootQueryRetrieveInformationModelMove
    ):
        if status.Status == 0xFF00:
            association.abort()
            break
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        before = len(destination.received)
        time.sleep(0.2)
        if len(destination.received) == before:
            break
    assert len(destination.received) < 40
    # The archive serves the next request as usual.
    assert _move(archive, _study_identifier(study_uid))[-1][0].NumberOfCompletedSuboperations == 40


def test_move_with_a_bad_identifier_is_0xA900_and_opens_no_sub_association(archive, modality):
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES"  # no Series Instance UID
    identifier.StudyInstanceUID = "1.2.3"
    # Nothing listens at the destination's port: trying to associate would have answered 0xA801.
    final, _identifier = _move(archive, identifier)[-1]
    assert final.Status == 0xA900
    assert "SeriesInstanceUID is required" in final.ErrorComment


def test_more_matches_than_the_counts_can_hold_are_refused(archive, destination, ingest, org_alpha, monkeypatch):
    monkeypatch.setattr(move_scp, "MAXIMUM_SUB_OPERATIONS", 2)  # 65535 in earnest
    study_uid, _uids = _ct_series(ingest, org_alpha, 3)
    final, _identifier = _move(archive, _study_identifier(study_uid))[-1]
    assert final.Status == 0xC516
    assert destination.received == []


def test_move_of_nothing_is_success_with_no_sub_operations(archive, modality):
    final, _identifier = _move(archive, _study_identifier("1.2.3.4"))[-1]
    assert (final.Status, final.NumberOfCompletedSuboperations, final.NumberOfFailedSuboperations) == (0, 0, 0)


def test_move_to_an_unknown_destination_is_0xA801(archive, modality, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")
    responses = _move(
        archive, _study_identifier(_study(PYDICOM_TEST_FILES / "CT_small.dcm").StudyInstanceUID), "NOWHERE"
    )
    assert responses[-1][0].Status == 0xA801


def test_move_to_a_destination_that_does_not_answer_is_0xA801(archive, modality, ingest, org_alpha):
    """The destination is known but nothing listens on its port: the move fails without a sub-operation."""
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")
    responses = _move(archive, _study_identifier(_study(PYDICOM_TEST_FILES / "CT_small.dcm").StudyInstanceUID))
    assert [status.Status for status, _identifier in responses] == [0xA801]


def test_a_study_of_many_instances_moves_whole(archive, modality, storescp, ingest, org_alpha):
    """Many sub-operations on one sub-association: every pending count, every file, every byte."""
    original = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    copies = []
    for number in range(1, 41):
        original.SOPInstanceUID = f"{original.SeriesInstanceUID}.{number}"
        original.InstanceNumber = number
        buffer = io.BytesIO()
        original.save_as(buffer)
        copies.append(buffer.getvalue())
    ingest(org_alpha, *copies)

    responses = _move(archive, _study_identifier(original.StudyInstanceUID))
    pending = [status.NumberOfRemainingSuboperations for status, _ in responses[:-1]]
    # The first Pending goes at once; later ones at most every PENDING_INTERVAL_SECONDS, so that 40
    # sub-operations a few milliseconds apart do not each cost a response.
    assert pending[0] == 39
    assert pending == sorted(set(pending), reverse=True)
    assert len(pending) < 40
    final = responses[-1][0]
    assert (final.Status, final.NumberOfCompletedSuboperations, final.NumberOfFailedSuboperations) == (0, 40, 0)
    arrived = sorted(int(pydicom.dcmread(path).InstanceNumber) for path in storescp.iterdir())
    assert arrived == list(range(1, 41))
    assert all(pydicom.dcmread(path).PixelData == original.PixelData for path in storescp.iterdir())


def test_another_organization_sees_nothing_to_move(archive, modality, storescp, ingest, org_beta):
    ingest(org_beta, PYDICOM_TEST_FILES / "CT_small.dcm")
    responses = _move(archive, _study_identifier(_study(PYDICOM_TEST_FILES / "CT_small.dcm").StudyInstanceUID))
    assert responses[-1][0].Status == 0x0000
    assert responses[-1][0].NumberOfCompletedSuboperations == 0
    assert list(storescp.iterdir()) == []


def test_getscu_a_study(archive, modality, ingest, org_alpha, tmp_path):
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")
    out = tmp_path / "got"
    out.mkdir()
    study_uid = _study(PYDICOM_TEST_FILES / "CT_small.dcm").StudyInstanceUID
    result = archive.dcmtk(
        "getscu", "-v", "-S", "-od", out, "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (received,) = out.iterdir()
    assert pydicom.dcmread(received).StudyInstanceUID == study_uid


def test_get_converts_to_what_the_requester_accepts(archive, modality, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_TEST_FILES / "MR_small_jp2klossless.dcm")
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        dataset = event.dataset
        dataset.file_meta = event.file_meta
        received.append(dataset)
        return 0x0000

    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    association = ae.associate(
        archive.host,
        archive.port,
        ae_title=ARCHIVE_AE,
        ext_neg=[build_role(MRImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert association.is_established
    try:
        study_uid = Instance.objects.get().series.study.study_instance_uid
        responses = list(
            association.send_c_get(_study_identifier(study_uid), StudyRootQueryRetrieveInformationModelGet)
        )
    finally:
        association.release()
    assert responses[-1][0].Status == 0x0000
    assert len(received) == 1
    assert received[0].file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(received[0].pixel_array, pydicom.dcmread(PYDICOM_TEST_FILES / "MR_small.dcm").pixel_array)


def test_get_with_a_bad_identifier_is_0xA900(archive, modality):
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES"  # no Study or Series Instance UID
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    try:
        responses = list(association.send_c_get(identifier, StudyRootQueryRetrieveInformationModelGet))
    finally:
        association.release()
    assert responses[-1][0].Status == 0xA900
    assert "StudyInstanceUID is required" in responses[-1][0].ErrorComment
