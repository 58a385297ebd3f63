"""The archive's own C-STORE requestor against a pynetdicom Storage SCP: bytes, statuses, failures."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless, RLELossless
from pynetdicom import AE, evt
from pynetdicom.dsutils import encode
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import CTImageStorage, MRImageStorage

from pacs.dimse.store_requestor import (
    NotSendable,
    Outgoing,
    StoreRequestor,
    StoreRequestorError,
    StoreStream,
    c_store_rq_encode,
    command_elements,
    part10_data_set,
)
from tests.conftest import PYDICOM_TEST_FILES
from tests.dimse.conftest import free_port

RECEIVER_AE = "RECEIVER"


@dataclass
class Receiver:
    """A pynetdicom Storage SCP in a thread: what it received, and the status it answers."""

    port: int
    status: int = 0x0000
    abort_on_store: bool = False
    received: list[tuple[pydicom.Dataset, bytes]] = field(default_factory=list)

    def handle_store(self, event: evt.Event) -> int | pydicom.Dataset:
        if self.abort_on_store:
            event.assoc.abort()
            return 0xA700
        self.received.append((event.request, event.encoded_dataset(include_meta=False)))
        if self.status != 0x0000:
            status = pydicom.Dataset()
            status.Status = self.status
            status.ErrorComment = "Out of disk"
            return status
        return self.status


def _receiver(maximum_pdu: int) -> Iterator[Receiver]:
    receiver = Receiver(port=free_port())
    ae = AE(ae_title=RECEIVER_AE)
    ae.require_called_aet = True
    ae.maximum_pdu_size = maximum_pdu
    ae.add_supported_context(CTImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    ae.add_supported_context(MRImageStorage, [ExplicitVRLittleEndian, JPEG2000Lossless])
    server = ae.start_server(
        ("127.0.0.1", receiver.port), block=False, evt_handlers=[(evt.EVT_C_STORE, receiver.handle_store)]
    )
    try:
        yield receiver
    finally:
        server.shutdown()


@pytest.fixture(params=[4096, 0], ids=["4 KB PDUs", "unlimited PDU"])
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    yield from _receiver(request.param)


@pytest.fixture
def small_pdu_receiver() -> Iterator[Receiver]:
    yield from _receiver(4096)


def _requestor(receiver: Receiver, *, called: str = RECEIVER_AE, syntaxes: tuple[str, ...] = ()) -> StoreRequestor:
    contexts = [build_context(CTImageStorage, [ExplicitVRLittleEndian])]
    contexts += [build_context(MRImageStorage, [syntax]) for syntax in syntaxes or (JPEG2000Lossless, RLELossless)]
    return StoreRequestor(
        host="127.0.0.1",
        port=receiver.port,
        calling_ae_title="PACS",
        called_ae_title=called,
        contexts=contexts,
        timeout=10,
    )


def _identifiers(path: Path) -> dict[str, str]:
    dataset = pydicom.dcmread(path, stop_before_pixels=True)
    return {
        "sop_class_uid": str(dataset.SOPClassUID),
        "sop_instance_uid": str(dataset.SOPInstanceUID),
        "transfer_syntax_uid": str(dataset.file_meta.TransferSyntaxUID),
    }


def test_files_arrive_byte_for_byte_whatever_the_pdu_size(receiver):
    files = [PYDICOM_TEST_FILES / "CT_small.dcm", PYDICOM_TEST_FILES / "MR_small_jp2klossless.dcm"]
    requestor = _requestor(receiver)
    requestor.open()
    try:
        assert requestor.accepted_for_sending() == {
            CTImageStorage: [ExplicitVRLittleEndian],
            MRImageStorage: [JPEG2000Lossless],  # RLE was offered and refused
        }
        responses = [
            requestor.store_file(path, originator_ae_title="MODALITY", originator_message_id=7, **_identifiers(path))
            for path in files
        ]
    finally:
        requestor.release()
    assert [response.Status for response in responses] == [0x0000, 0x0000]
    assert [response.MessageIDBeingRespondedTo for response in responses] == [1, 2]
    for path, (command, data_set) in zip(files, receiver.received, strict=True):
        assert data_set == bytes(part10_data_set(path))
        assert command.AffectedSOPInstanceUID == _identifiers(path)["sop_instance_uid"]
        assert command.MoveOriginatorApplicationEntityTitle == "MODALITY"
        assert command.MoveOriginatorMessageID == 7


def test_the_receivers_status_is_returned(small_pdu_receiver):
    small_pdu_receiver.status = 0xA700
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    requestor = _requestor(small_pdu_receiver)
    requestor.open()
    try:
        assert requestor.store_file(path, **_identifiers(path)).Status == 0xA700
    finally:
        requestor.release()


def test_a_syntax_the_receiver_refused_is_a_value_error_and_the_association_goes_on(small_pdu_receiver):
    requestor = _requestor(small_pdu_receiver, syntaxes=(RLELossless,))
    requestor.open()
    try:
        rle = PYDICOM_TEST_FILES / "MR_small_RLE.dcm"
        with pytest.raises(ValueError, match="no accepted context"):
            requestor.store_file(rle, **_identifiers(rle))
        ct = PYDICOM_TEST_FILES / "CT_small.dcm"
        assert requestor.store_file(ct, **_identifiers(ct)).Status == 0x0000
    finally:
        requestor.release()


def test_a_rejected_association_says_so(small_pdu_receiver):
    requestor = _requestor(small_pdu_receiver, called="SOMEONE")
    with pytest.raises(StoreRequestorError, match="association rejected"):
        requestor.open()


def test_nothing_listening_is_an_error_not_a_hang():
    requestor = _requestor(Receiver(port=free_port()))
    with pytest.raises(StoreRequestorError, match="cannot connect"):
        requestor.open()


def test_an_abort_during_a_store_is_an_error(small_pdu_receiver):
    small_pdu_receiver.abort_on_store = True
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    requestor = _requestor(small_pdu_receiver)
    requestor.open()
    with pytest.raises(StoreRequestorError):
        requestor.store_file(path, **_identifiers(path))
    # Later sends fail at once rather than writing to a dead connection.
    with pytest.raises(StoreRequestorError, match="closed"):
        requestor.store_file(path, **_identifiers(path))
    requestor.release()  # nothing left to release: no error


def test_a_file_that_is_not_part_10_is_refused(tmp_path):
    path = tmp_path / "raw.dcm"
    path.write_bytes(b"\x08\x00\x05\x00" + b"\x00" * 300)
    with pytest.raises(ValueError, match="not a DICOM Part 10 file"):
        part10_data_set(path)


def test_sends_from_several_threads_use_their_own_associations(small_pdu_receiver):
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    errors: list[BaseException] = []

    def send() -> None:
        requestor = _requestor(small_pdu_receiver)
        try:
            requestor.open()
            for _ in range(5):
                assert requestor.store_file(path, **_identifiers(path)).Status == 0x0000
            requestor.release()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(small_pdu_receiver.received) == 15


@pytest.mark.parametrize("originator", [None, "MODALITY", "CT1"])
@pytest.mark.parametrize("sop_class", [CTImageStorage, "1.2.840.10008.5.1.4.1.1.20"])  # odd and even lengths
def test_the_command_set_is_what_pydicom_encodes(originator, sop_class):
    command = pydicom.Dataset()
    command.AffectedSOPClassUID = sop_class
    command.CommandField = 0x0001
    command.MessageID = 513
    command.Priority = 0
    command.CommandDataSetType = 0
    command.AffectedSOPInstanceUID = "1.2.3.45"
    if originator:
        command.MoveOriginatorApplicationEntityTitle = originator
        command.MoveOriginatorMessageID = 7
    elements = encode(command, True, True)
    expected = struct.pack("<HHII", 0, 0, 4, len(elements)) + elements
    encoded = c_store_rq_encode(
        sop_class_uid=sop_class,
        sop_instance_uid="1.2.3.45",
        message_id=513,
        originator_ae_title=originator,
        originator_message_id=7,
    )
    assert encoded == expected


def test_command_elements_reads_what_pydicom_encodes():
    command = pydicom.Dataset()
    command.AffectedSOPClassUID = CTImageStorage
    command.CommandField = 0x8001
    command.MessageIDBeingRespondedTo = 513
    command.CommandDataSetType = 0x0101
    command.Status = 0xB000
    command.ErrorComment = "Coerced"
    elements = command_elements(encode(command, True, True))
    assert struct.unpack("<H", elements[0x0100]) == (0x8001,)
    assert struct.unpack("<H", elements[0x0120]) == (513,)
    assert struct.unpack("<H", elements[0x0900]) == (0xB000,)
    assert elements[0x0902].rstrip(b" ") == b"Coerced"
    assert elements[0x0002].rstrip(b"\0").decode() == CTImageStorage


def _ct_copies(count: int) -> list[tuple[str, bytes]]:
    """``count`` CT data sets with their own SOP Instance UIDs, encoded as the file stores them."""
    dataset = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    copies = []
    for number in range(1, count + 1):
        dataset.SOPInstanceUID = f"1.2.826.0.1.3680043.10.1493.{number}"
        copies.append((dataset.SOPInstanceUID, encode(dataset, False, True)))
    return copies


def _outgoing(item: tuple[str, bytes]) -> Outgoing:
    return Outgoing(CTImageStorage, item[0], ExplicitVRLittleEndian, item[1])


def test_a_stream_stores_every_item_in_order_and_says_how_each_went(receiver):
    items = _ct_copies(5)
    requestor = _requestor(receiver)
    requestor.open()
    try:
        outcomes = list(
            StoreStream(requestor, items, _outgoing, originator_ae_title="MODALITY", originator_message_id=9)
        )
    finally:
        requestor.release()
    assert [(outcome.item[0], outcome.status) for outcome in outcomes] == [(uid, 0x0000) for uid, _ in items]
    assert [(command.AffectedSOPInstanceUID, data) for command, data in receiver.received] == items
    assert {command.MoveOriginatorApplicationEntityTitle for command, _ in receiver.received} == {"MODALITY"}
    assert [command.MessageID for command, _ in receiver.received] == [1, 2, 3, 4, 5]


def test_a_stream_reports_the_receivers_status_and_comment(small_pdu_receiver):
    small_pdu_receiver.status = 0xA700
    requestor = _requestor(small_pdu_receiver)
    requestor.open()
    try:
        outcomes = list(StoreStream(requestor, _ct_copies(2), _outgoing))
    finally:
        requestor.release()
    assert [(outcome.status, outcome.comment) for outcome in outcomes] == [(0xA700, "Out of disk")] * 2


class _ScriptedRequestor:
    """What a StoreStream needs of a requestor, writing down the order of events in ``log``."""

    called_ae_title = "RECEIVER"

    def __init__(self, log: list[str], *, break_at: int | None = None) -> None:
        self.log = log
        self.break_at = break_at
        self.is_open = True
        self._message_id = 0

    def _request_send(self, *, sop_instance_uid: str, **_other: object) -> int:
        self._message_id += 1
        self.log.append(f"send {sop_instance_uid}")
        return self._message_id

    def _response_command(self, message_id: int) -> bytes:
        if message_id == self.break_at:
            self.is_open = False
            raise StoreRequestorError("the receiver aborted the association")
        self.log.append(f"answer {message_id}")
        command = pydicom.Dataset()
        command.CommandField = 0x8001
        command.MessageIDBeingRespondedTo = message_id
        command.Status = 0x0000
        return encode(command, True, True)


def _scripted_stream(log: list[str], names: str, requestor: _ScriptedRequestor) -> StoreStream:
    def prepare(name: str) -> Outgoing:
        log.append(f"prepare {name}")
        if name == "x":
            raise NotSendable("its file is missing")
        return Outgoing(CTImageStorage, name, ExplicitVRLittleEndian, b"")

    return StoreStream(requestor, list(names), prepare)  # type: ignore[arg-type]


def test_the_next_request_goes_out_before_the_caller_sees_an_outcome():
    """The receiver never waits for the caller, and the next item is read while the receiver works."""
    log: list[str] = []
    for outcome in _scripted_stream(log, "abc", _ScriptedRequestor(log)):
        log.append(f"outcome {outcome.item} {outcome.status:#06x}")
    assert log == [
        "prepare a",
        "send a",
        "prepare b",
        "answer 1",
        "send b",
        "outcome a 0x0000",
        "prepare c",
        "answer 2",
        "send c",
        "outcome b 0x0000",
        "answer 3",
        "outcome c 0x0000",
    ]


def test_stop_lets_the_request_under_way_finish_and_sends_nothing_more():
    log: list[str] = []
    stream = _scripted_stream(log, "abcd", _ScriptedRequestor(log))
    outcomes = []
    for outcome in stream:
        outcomes.append(outcome.item)
        stream.stop()
    assert outcomes == ["a", "b"]  # b was sent when a's answer came: it is answered and reported
    assert [entry for entry in log if entry.startswith("send")] == ["send a", "send b"]


def test_an_item_that_cannot_be_prepared_fails_without_a_request():
    log: list[str] = []
    outcomes = list(_scripted_stream(log, "axb", _ScriptedRequestor(log)))
    assert [(outcome.item, outcome.status, outcome.comment) for outcome in outcomes] == [
        ("a", 0x0000, ""),
        ("x", None, "its file is missing"),
        ("b", 0x0000, ""),
    ]
    assert [entry for entry in log if entry.startswith("send")] == ["send a", "send b"]


def test_after_the_association_breaks_every_item_left_fails_unread():
    log: list[str] = []
    outcomes = list(_scripted_stream(log, "abcd", _ScriptedRequestor(log, break_at=2)))
    assert [(outcome.item, outcome.status) for outcome in outcomes] == [("a", 0), ("b", None), ("c", None), ("d", None)]
    assert "aborted" in outcomes[1].comment
    assert "has ended" in outcomes[3].comment
    # c was read while b was under way; d, after the break, never was.
    assert "prepare d" not in log
