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

from pacs.dimse.store_requestor import StoreRequestor, StoreRequestorError, c_store_rq_encode, part10_data_set
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

    def handle_store(self, event: evt.Event) -> int:
        if self.abort_on_store:
            event.assoc.abort()
            return 0xA700
        self.received.append((event.request, event.encoded_dataset(include_meta=False)))
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
