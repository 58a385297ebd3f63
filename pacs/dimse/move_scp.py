"""The C-MOVE SCP's sub-operations (PS3.4 C.4.2.3), run by the archive instead of pynetdicom.

pynetdicom's Move SCP takes one data set at a time from the handler and sends it before asking for the
next, then answers Pending: the destination idles while the archive reads the next file and does that
bookkeeping, about a third of each sub-operation's time on 2,000 CT slices into DCMTK's storescp. Here
the EVT_C_MOVE handler only resolves the request into a :class:`MovePlan`, and the instances go out
through a :class:`~pacs.dimse.store_requestor.StoreStream`, which sends each one the moment the previous
one is answered and reads the next while the destination works; the files a few instances ahead are
asked of the kernel early (``READAHEAD_DEPTH``), so that a series not in the page cache comes off the
disk while the destination stores.

What the requestor of the C-MOVE sees is what pynetdicom answered: the statuses of a request that cannot
be served, 0xA801 when the destination cannot be associated, Pending responses with the counts (at most
one per ``PENDING_INTERVAL_SECONDS``), C-CANCEL honoured between sub-operations, and the final Success,
Warning (0xB000) or Failure (0xA702, every sub-operation failed) with the Failed SOP Instance UID List.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from io import BytesIO

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.dimse_primitives import C_MOVE
from pynetdicom.dsutils import encode
from pynetdicom.presentation import PresentationContext
from pynetdicom.service_class import QueryRetrieveServiceClass
from pynetdicom.status import STATUS_SUCCESS, STATUS_WARNING, STORAGE_SERVICE_CLASS_STATUS

from pacs.dimse.store_requestor import Outgoing, StoreOutcome, StoreRequestor, StoreRequestorError, StoreStream
from pacs.ingest import DicomStatusError
from pacs.retrieve.instances import StoredInstance

logger = logging.getLogger(__name__)

SUCCESS = 0x0000
PENDING = 0xFF00
CANCEL = 0xFE00
SUB_OPERATIONS_WARNING = 0xB000  # PS3.4 C.4.2.1.5: complete, one or more failures or warnings
ALL_SUB_OPERATIONS_FAILED = 0xA702
MOVE_DESTINATION_UNKNOWN = 0xA801
# pynetdicom's statuses for a handler that fails, and for more matches than the counts can hold.
HANDLER_FAILED = 0xC511
TOO_MANY_MATCHES = 0xC516
# Pending responses are optional (PS3.4 C.4.2.1.4). One per sub-operation, pynetdicom's way, was a fifth
# to a third of a C-MOVE's time in py-spy; a few per second still show the progress.
PENDING_INTERVAL_SECONDS = 0.1
# The Number of ... Sub-operations are US (PS3.7 9.3.4.2).
MAXIMUM_SUB_OPERATIONS = 65535
# How many instances ahead of the one being sent the readahead asks for: a few MB of CT slices in flight,
# enough to keep a disk busy while the destination stores the ones already read.
READAHEAD_DEPTH = 8


@dataclass(frozen=True)
class MovePlan:
    """A C-MOVE request as the EVT_C_MOVE handler resolved it.

    ``requestor`` is the sub-association to the Move Destination, not yet open; ``prepare`` turns an
    instance into what goes out, given what the destination accepted (SOP Class → transfer syntaxes),
    and raises :class:`~pacs.dimse.store_requestor.NotSendable` when the instance cannot go.
    """

    requestor: StoreRequestor
    instances: Sequence[StoredInstance]
    prepare: Callable[[StoredInstance, dict[str, list[str]]], Outgoing]
    # Asks the kernel to start reading an instance's file, some sub-operations before it is prepared.
    readahead: Callable[[StoredInstance], None] | None = None


@dataclass
class _Counts:
    remaining: int
    completed: int = 0
    warning: int = 0
    failed: int = 0
    failed_uids: list[str] = field(default_factory=list)

    def add(self, outcome: StoreOutcome[StoredInstance]) -> None:
        self.remaining -= 1
        category = _store_status_category(outcome.status)
        if category == STATUS_SUCCESS:
            self.completed += 1
        elif category == STATUS_WARNING:
            self.warning += 1
        else:
            self.failed += 1
            self.failed_uids.append(outcome.item.sop_uid)  # PS3.4 C.4.2.1.4.2


def _store_status_category(status: int | None) -> str | None:
    """Success, Warning or (anything else, unknown statuses included) Failure, as pynetdicom counts them."""
    if status is None:
        return None
    known = STORAGE_SERVICE_CLASS_STATUS.get(status)
    return known[0] if known is not None else None


class _Responses:
    """C-MOVE-RSPs to one request, on its presentation context."""

    def __init__(self, service: QueryRetrieveServiceClass, request: C_MOVE, context: PresentationContext) -> None:
        self._dimse = service.dimse
        self._request = request
        self._context_id = int(context.context_id)  # type: ignore[arg-type]
        self._syntax = context.transfer_syntax[0]

    def send(
        self,
        status: int,
        counts: _Counts | None = None,
        *,
        with_remaining: bool = False,
        failed_uids: list[str] | None = None,
        comment: str = "",
    ) -> None:
        response = C_MOVE()
        response.MessageID = self._request.MessageID
        response.MessageIDBeingRespondedTo = self._request.MessageID
        response.AffectedSOPClassUID = self._request.AffectedSOPClassUID
        response.Status = status
        if comment:
            response.ErrorComment = comment[:64]
        if counts is not None:
            if with_remaining:
                response.NumberOfRemainingSuboperations = counts.remaining
            response.NumberOfCompletedSuboperations = counts.completed
            response.NumberOfFailedSuboperations = counts.failed
            response.NumberOfWarningSuboperations = counts.warning
        if failed_uids is not None:
            identifier = Dataset()
            identifier.FailedSOPInstanceUIDList = failed_uids
            syntax = self._syntax
            encoded = encode(identifier, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
            response.Identifier = BytesIO(encoded)
        self._dimse.send_msg(response, self._context_id)


def move_serve(service: QueryRetrieveServiceClass, request: C_MOVE, context: PresentationContext) -> None:
    """Answer one C-MOVE request: resolve it with the EVT_C_MOVE handler, then run its sub-operations."""
    association = service.assoc
    responses = _Responses(service, request, context)
    try:
        plan = evt.trigger(
            association,
            evt.EVT_C_MOVE,
            {"request": request, "context": context.as_tuple, "_is_cancelled": service.is_cancelled},
        )
    except DicomStatusError as exc:
        # Nothing was attempted: a refusal names no failed instance (pynetdicom's 0xA801 had no identifier).
        failed = None if exc.status == MOVE_DESTINATION_UNKNOWN else []
        responses.send(exc.status, failed_uids=failed, comment=exc.short_comment)
        return
    except Exception:
        logger.exception("The C-MOVE handler failed")
        responses.send(HANDLER_FAILED, comment="The C-MOVE handler failed")
        return
    if not association.is_established:
        return
    if not isinstance(plan, MovePlan):
        logger.error("The C-MOVE handler returned %r, not a MovePlan", plan)
        responses.send(HANDLER_FAILED, comment="The C-MOVE handler failed")
        return
    total = len(plan.instances)
    if total == 0:
        responses.send(SUCCESS, _Counts(remaining=0))
        return
    if total > MAXIMUM_SUB_OPERATIONS:
        logger.error("C-MOVE of %d instances refused: the counts of a response stop at 65535", total)
        responses.send(TOO_MANY_MATCHES, comment=f"{total} instances match, more than 65535")
        return
    requestor = plan.requestor
    try:
        requestor.open()
    except StoreRequestorError as exc:
        logger.warning("C-MOVE sub-association to %s failed: %s", requestor.called_ae_title, exc)
        responses.send(MOVE_DESTINATION_UNKNOWN)
        return
    _sub_operations_run(service, request, plan, responses)


def _sub_operations_run(
    service: QueryRetrieveServiceClass, request: C_MOVE, plan: MovePlan, responses: _Responses
) -> None:
    association = service.assoc
    requestor = plan.requestor
    accepted = requestor.accepted_for_sending()
    stream = StoreStream(
        requestor,
        _read_ahead(plan.instances, plan.readahead, lambda: requestor.is_open),
        lambda instance: plan.prepare(instance, accepted),
        originator_ae_title=service.ae.ae_title,
        originator_message_id=request.MessageID,
    )
    counts = _Counts(remaining=len(plan.instances))
    started = time.monotonic()
    last_pending = -math.inf
    cancelled = False
    try:
        for outcome in stream:
            counts.add(outcome)
            if _store_status_category(outcome.status) not in (STATUS_SUCCESS, STATUS_WARNING):
                logger.warning(
                    "C-MOVE sub-operation for %s to %s failed: %s %s",
                    outcome.item.sop_uid,
                    requestor.called_ae_title,
                    "no status" if outcome.status is None else f"status 0x{outcome.status:04X}",
                    outcome.comment,
                )
            if not association.is_established or association.acse.is_aborted():
                # The requestor has gone: nobody to report to; the destination keeps what it received.
                requestor.release()
                return
            if not cancelled and service.is_cancelled(request.MessageID):
                cancelled = True  # PS3.4 C.4.2.3.1: no new sub-operation; the one under way finishes
                stream.stop()
                continue
            now = time.monotonic()
            if counts.remaining and not cancelled and now - last_pending >= PENDING_INTERVAL_SECONDS:
                last_pending = now
                responses.send(PENDING, counts, with_remaining=True)
    except Exception:
        done = len(plan.instances) - counts.remaining
        logger.exception("C-MOVE to %s failed after %d sub-operations", requestor.called_ae_title, done)
        requestor.abort()
        if association.is_established:
            responses.send(HANDLER_FAILED, counts, failed_uids=counts.failed_uids, comment="Sub-operations failed")
        return
    requestor.release()
    if not association.is_established:
        return
    logger.info(
        "C-MOVE to %s: %d completed, %d with warnings, %d failed of %d in %.1f s%s",
        requestor.called_ae_title,
        counts.completed,
        counts.warning,
        counts.failed,
        len(plan.instances),
        time.monotonic() - started,
        " (cancelled)" if cancelled else "",
    )
    if cancelled:
        responses.send(CANCEL, counts, with_remaining=True, failed_uids=counts.failed_uids)
    elif not counts.failed and not counts.warning:
        responses.send(SUCCESS, counts)
    elif counts.failed == len(plan.instances):
        responses.send(ALL_SUB_OPERATIONS_FAILED, counts, failed_uids=counts.failed_uids)
    else:
        responses.send(SUB_OPERATIONS_WARNING, counts, failed_uids=counts.failed_uids)


def _read_ahead(
    instances: Sequence[StoredInstance],
    readahead: Callable[[StoredInstance], None] | None,
    sending: Callable[[], bool] = lambda: True,
) -> Iterator[StoredInstance]:
    """The instances in order, each one's file asked for ``READAHEAD_DEPTH`` instances before its turn.

    Once ``sending`` says no (the sub-association has ended), the rest only go by to be counted failed:
    their files are not asked for.
    """
    if readahead is None:
        yield from instances
        return
    for instance in instances[:READAHEAD_DEPTH]:
        readahead(instance)
    for index, instance in enumerate(instances):
        if index + READAHEAD_DEPTH < len(instances) and sending():
            readahead(instances[index + READAHEAD_DEPTH])
        yield instance
