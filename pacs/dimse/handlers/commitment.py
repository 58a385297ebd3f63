"""Storage Commitment Push Model SCP (PS3.4 Annex J): N-ACTION, then the N-EVENT-REPORT with the outcome.

The requester asks (N-ACTION, Action Type 1, J.3.2) whether the archive has taken responsibility for a
list of SOP Instances. An instance is committed when it is indexed in the requester's organization with
the SOP Class named and its file is on storage; the others fail with "No such object instance" (0x0112)
or "Class/Instance conflict" (0x0119) (PS3.4 Table J.3-2 FailureReason). The N-ACTION response only
acknowledges the request; the result goes in an N-EVENT-REPORT (J.3.3): Event Type 1 when every
instance is committed, 2 when failures exist, listing the committed and the failed.

The report is sent on the same association when it is still open (the requester is waiting on it);
otherwise on a new association to the requester's RemoteAE, proposing the SCP role for the
Storage Commitment SOP Class (SCP/SCU Role Selection, PS3.4 J.3.3 and PS3.7 D.3.3.4). It is sent from a
thread of its own because pynetdicom must have sent the N-ACTION response first, and an acceptor can only
send requests while its reactor waits between messages.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.db import Error as DatabaseError
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom import AE, build_context, build_role, evt
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ABORT, A_RELEASE
from pynetdicom.sop_class import StorageCommitmentPushModel, StorageCommitmentPushModelInstance

from pacs import storage
from pacs.dimse.associations import AssociationRegistry, Peer
from pacs.dimse.network import handle_requestor_connection_open
from pacs.models import Instance, Organization, RemoteAE

logger = logging.getLogger(__name__)

REQUEST_STORAGE_COMMITMENT = 1  # Action Type ID, PS3.4 J.3.2.1
ALL_COMMITTED = 1  # Event Type ID, PS3.4 J.3.3.1
FAILURES_EXIST = 2
NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119
PROCESSING_FAILURE = 0x0110
NO_SUCH_ACTION = 0x0123
INVALID_ARGUMENT_VALUE = 0x0115
_LOOKUP_BATCH = 500
_SETTLE_SECONDS = 0.2


@dataclass(frozen=True)
class Reference:
    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True)
class CommitmentResult:
    transaction_uid: str
    committed: list[Reference]
    failed: list[tuple[Reference, int]]

    @property
    def event_type(self) -> int:
        return FAILURES_EXIST if self.failed else ALL_COMMITTED


def commitment_check(
    *, organization: Organization, transaction_uid: str, references: list[Reference]
) -> CommitmentResult:
    """Which of ``references`` the archive holds for ``organization`` (see the module docstring)."""
    stored: dict[str, tuple[str, str]] = {}
    uids = [reference.sop_instance_uid for reference in references]
    for start in range(0, len(uids), _LOOKUP_BATCH):
        rows = Instance.objects.filter(
            series__study__organization=organization, sop_instance_uid__in=uids[start : start + _LOOKUP_BATCH]
        ).values_list("sop_instance_uid", "sop_class_uid", "file_path")
        stored.update({sop_uid: (sop_class, path) for sop_uid, sop_class, path in rows})
    committed: list[Reference] = []
    failed: list[tuple[Reference, int]] = []
    for reference in references:
        found = stored.get(reference.sop_instance_uid)
        if found is None or not storage.absolute_path(found[1]).is_file():
            failed.append((reference, NO_SUCH_OBJECT_INSTANCE))
        elif found[0] != reference.sop_class_uid:
            failed.append((reference, CLASS_INSTANCE_CONFLICT))
        else:
            committed.append(reference)
    return CommitmentResult(transaction_uid=transaction_uid, committed=committed, failed=failed)


def event_information(result: CommitmentResult, *, retrieve_ae_title: str) -> Dataset:
    """The N-EVENT-REPORT Event Information (PS3.4 Table J.3-2)."""
    information = Dataset()
    information.TransactionUID = result.transaction_uid
    information.RetrieveAETitle = retrieve_ae_title
    if result.committed:
        information.ReferencedSOPSequence = Sequence(_item(reference) for reference in result.committed)
    if result.failed:
        failed_items = []
        for reference, reason in result.failed:
            item = _item(reference)
            item.FailureReason = reason
            failed_items.append(item)
        information.FailedSOPSequence = Sequence(failed_items)
    return information


def _item(reference: Reference) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = reference.sop_class_uid
    item.ReferencedSOPInstanceUID = reference.sop_instance_uid
    return item


def _references(information: Dataset) -> list[Reference]:
    return [
        Reference(str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
        for item in information.ReferencedSOPSequence
    ]


def handle_commitment(event: evt.Event, registry: AssociationRegistry) -> tuple[int, Dataset | None]:
    """EVT_N_ACTION: check the request, answer it, and send the report from a thread of its own."""
    peer = registry.peer(event.assoc)
    registry.note(event.assoc, "N-ACTION storage commitment")
    if event.action_type != REQUEST_STORAGE_COMMITMENT:
        return NO_SUCH_ACTION, None
    try:
        information = event.action_information
        transaction_uid = str(information.TransactionUID)
        references = _references(information)
    except (AttributeError, ValueError, TypeError) as exc:
        logger.warning("Storage commitment request from %s is malformed: %s", peer.description, exc)
        return INVALID_ARGUMENT_VALUE, None
    try:
        result = commitment_check(
            organization=peer.organization, transaction_uid=transaction_uid, references=references
        )
        remote = RemoteAE.objects.filter(ae_title=peer.ae_title).first()
    except DatabaseError as exc:
        logger.error("Storage commitment for %s: database unavailable: %s", peer.description, exc)
        return PROCESSING_FAILURE, None
    logger.info(
        "Storage commitment %s from %s: %d committed, %d failed",
        transaction_uid,
        peer.description,
        len(result.committed),
        len(result.failed),
    )
    threading.Thread(
        target=report_send,
        kwargs={"association": event.assoc, "peer": peer, "remote": remote, "result": result},
        name=f"commitment-report-{transaction_uid[-12:]}",
    ).start()
    return 0x0000, None


def report_send(*, association: Association, peer: Peer, remote: RemoteAE | None, result: CommitmentResult) -> bool:
    """Deliver the N-EVENT-REPORT: on the requesting association if open, else on a new one."""
    ae = association.ae
    information = event_information(result, retrieve_ae_title=ae.ae_title)
    if _still_open(association) and _send(association, information, result.event_type):
        return True
    if remote is None:
        logger.error(
            "Storage commitment %s: %s closed the association and is not a known AE to call back",
            result.transaction_uid,
            peer.description,
        )
        return False
    return _send_on_new_association(ae, remote, information, result)


def _still_open(association: Association) -> bool:
    """Whether the requester keeps the association open for the report, or is releasing it.

    A requester that does not wait for the report releases right after the N-ACTION response. A report
    sent into that release would be discarded by the requester and would hold the association until a
    timeout, so the next incoming PDU is watched for a short while: a release or abort means a new
    association; silence means the requester is waiting.
    """
    deadline = time.monotonic() + _SETTLE_SECONDS
    while time.monotonic() < deadline:
        if not association.is_established or isinstance(association.dul.peek_next_pdu(), A_RELEASE | A_ABORT):
            return False
        time.sleep(0.01)
    return association.is_established


def _send_on_new_association(ae: AE, remote: RemoteAE, information: Dataset, result: CommitmentResult) -> bool:
    association = ae.associate(
        remote.host,
        remote.port,
        contexts=[build_context(StorageCommitmentPushModel)],
        ae_title=remote.ae_title,
        ext_neg=[build_role(StorageCommitmentPushModel, scp_role=True)],
        evt_handlers=[(evt.EVT_CONN_OPEN, handle_requestor_connection_open)],
    )
    if not association.is_established:
        logger.error("Storage commitment %s: cannot associate with %s", result.transaction_uid, remote)
        return False
    try:
        return _send(association, information, result.event_type)
    finally:
        association.release()


def _send(association: Association, information: Dataset, event_type: int) -> bool:
    try:
        status, _reply = association.send_n_event_report(
            information, event_type, StorageCommitmentPushModel, StorageCommitmentPushModelInstance
        )
    except (RuntimeError, ValueError) as exc:
        # The peer released or aborted meanwhile, or accepted no context to carry the report on.
        logger.info("Storage commitment report not sent on this association: %s", exc)
        return False
    delivered = int(status.get("Status", -1)) == 0x0000
    if not delivered:
        logger.warning("Storage commitment report answered with %s", status.get("Status"))
    return delivered
