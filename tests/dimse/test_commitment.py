"""Storage Commitment Push Model SCP with a pynetdicom SCU: the report on the same or a new association."""

from __future__ import annotations

import threading
import time

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import CTImageStorage, StorageCommitmentPushModel, StorageCommitmentPushModelInstance

from tests.conftest import PYDICOM_TEST_FILES, wait_until
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE


def _request(*references: tuple[str, str]) -> Dataset:
    information = Dataset()
    information.TransactionUID = generate_uid()
    items = []
    for sop_class, sop_uid in references:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_uid
        items.append(item)
    information.ReferencedSOPSequence = items
    return information


class Reports:
    """N-EVENT-REPORTs received by the SCU, from whichever association they arrive on."""

    def __init__(self) -> None:
        self.received: list[tuple[int, Dataset]] = []
        self.lock = threading.Lock()

    def wait(self) -> None:
        """Wait for a report, then for pynetdicom to answer it: the handler runs before the response is sent,
        and a release requested in between would leave the response nowhere to go."""
        wait_until(lambda: self.received, timeout=20)
        time.sleep(0.3)

    def handle(self, event: evt.Event) -> tuple[int, None]:
        with self.lock:
            self.received.append((event.event_type, event.event_information))
        return 0x0000, None


def test_report_on_the_same_association(archive, modality, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")
    stored = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm", stop_before_pixels=True)
    missing = generate_uid()
    reports = Reports()
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StorageCommitmentPushModel)
    association = ae.associate(
        archive.host, archive.port, ae_title=ARCHIVE_AE, evt_handlers=[(evt.EVT_N_EVENT_REPORT, reports.handle)]
    )
    assert association.is_established
    try:
        request = _request((CTImageStorage, stored.SOPInstanceUID), (CTImageStorage, missing))
        status, _reply = association.send_n_action(
            request, 1, StorageCommitmentPushModel, StorageCommitmentPushModelInstance
        )
        assert status.Status == 0x0000
        reports.wait()
    finally:
        association.release()
    event_type, information = reports.received[0]
    assert event_type == 2  # failures exist (PS3.4 J.3.3.1)
    assert information.TransactionUID == request.TransactionUID
    assert [item.ReferencedSOPInstanceUID for item in information.ReferencedSOPSequence] == [stored.SOPInstanceUID]
    (failed,) = information.FailedSOPSequence
    assert failed.ReferencedSOPInstanceUID == missing
    assert failed.FailureReason == 0x0112


def test_report_on_a_new_association_when_the_requester_released(archive, modality, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")
    stored = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm", stop_before_pixels=True)
    reports = Reports()
    listener = AE(ae_title=MODALITY_AE)
    listener.add_supported_context(StorageCommitmentPushModel, scu_role=True, scp_role=True)
    server = listener.start_server(
        ("127.0.0.1", modality.port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, reports.handle)]
    )
    try:
        requester = AE(ae_title=MODALITY_AE)
        requester.add_requested_context(StorageCommitmentPushModel)
        association = requester.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
        request = _request((CTImageStorage, stored.SOPInstanceUID))
        status, _reply = association.send_n_action(
            request, 1, StorageCommitmentPushModel, StorageCommitmentPushModelInstance
        )
        association.release()
        assert status.Status == 0x0000
        wait_until(lambda: reports.received, timeout=20)
    finally:
        server.shutdown()
    event_type, information = reports.received[0]
    assert event_type == 1  # all committed
    assert information.RetrieveAETitle == ARCHIVE_AE
    assert "FailedSOPSequence" not in information


def test_class_instance_conflict(archive, modality, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")
    stored = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm", stop_before_pixels=True)
    reports = Reports()
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(StorageCommitmentPushModel)
    association = ae.associate(
        archive.host, archive.port, ae_title=ARCHIVE_AE, evt_handlers=[(evt.EVT_N_EVENT_REPORT, reports.handle)]
    )
    try:
        association.send_n_action(
            _request(("1.2.840.10008.5.1.4.1.1.4", stored.SOPInstanceUID)),
            1,
            StorageCommitmentPushModel,
            StorageCommitmentPushModelInstance,
        )
        reports.wait()
    finally:
        association.release()
    _event_type, information = reports.received[0]
    assert information.FailedSOPSequence[0].FailureReason == 0x0119
