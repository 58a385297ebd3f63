"""The archive as a DIMSE service user: C-ECHO, C-STORE, C-FIND and C-MOVE towards a known AE.

These are plain functions, called by the web's background jobs (``network``) and usable from a shell:
C-STORE over the archive's own requestor (``pacs.dimse.store_requestor``), the rest over pynetdicom.
Each opens one association with the archive's own AE title (``DIMSE_AE_TITLE``), does its work and
releases it. A peer that cannot be reached, refuses the association or accepts none of the proposed
contexts raises :class:`ScuError` with a sentence a person can act on; a peer that answers with a
failure status is an outcome (counts and statuses), not an exception.

Sending reuses the C-MOVE SCP's choice of transfer syntax: an instance goes as stored when the peer
accepted that syntax for its SOP Class, otherwise converted by the codec module to one it accepted, and
is a failed instance when neither is possible.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from pacs.charsets import strip_escape_sequences
from pacs.dimse.contexts import sending_offers, sub_association_contexts
from pacs.dimse.handlers.move_get import dataset_for_sending, transfer_syntax_choose
from pacs.dimse.network import handle_requestor_connection_open
from pacs.dimse.reactor import reactor_waits_install
from pacs.dimse.store_requestor import AssociationRejected, ConnectionFailed, StoreRequestor, StoreRequestorError
from pacs.retrieve.instances import StoredInstance

logger = logging.getLogger(__name__)

SUCCESS = 0x0000
PENDING_STATUSES = (0xFF00, 0xFF01)
CANCEL = 0xFE00
# C-STORE warnings (PS3.4 B.2.3): coercion of data elements, elements discarded, data set does not match.
STORE_WARNINGS = (0x0001, 0xB000, 0xB006, 0xB007)
# C-MOVE: sub-operations complete, one or more failures or warnings (PS3.4 C.4.2.1.4).
MOVE_WARNING = 0xB000

_QUERY_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian]
# The identifier goes in UTF-8, so that a Chinese name typed in the query form reaches the peer intact.
QUERY_CHARACTER_SET = "ISO_IR 192"

STUDY_RETURN_KEYS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyID",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
    "StudyInstanceUID",
)
SERIES_RETURN_KEYS = (
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "SeriesDate",
    "NumberOfSeriesRelatedInstances",
    "SeriesInstanceUID",
)


class Peer(Protocol):
    """Where a peer listens: :class:`pacs.models.RemoteAE` fits, and so does any object with these."""

    ae_title: str
    host: str
    port: int


class ScuError(Exception):
    """The operation could not be done at all (no connection, association refused, nothing accepted)."""


@dataclass(frozen=True)
class EchoResult:
    status: int
    milliseconds: float

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS


@dataclass
class StoreProgress:
    """Counts after each instance; ``last_*`` describe the instance just tried."""

    total: int
    completed: int = 0
    failed: int = 0
    warning: int = 0
    failed_sop_uids: list[str] = field(default_factory=list)
    last_sop_uid: str = ""
    last_status: int | None = None
    last_reason: str = ""

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.warning


@dataclass
class MoveProgress:
    """The counts of the last C-MOVE response (PS3.4 C.4.2.1.4); ``status`` is that response's."""

    status: int | None = None
    remaining: int | None = None
    completed: int = 0
    failed: int = 0
    warning: int = 0
    failed_sop_uids: list[str] = field(default_factory=list)
    error_comment: str = ""

    @property
    def total(self) -> int | None:
        if self.remaining is None:
            return None
        return self.remaining + self.completed + self.failed + self.warning


StoreCallback = Callable[[StoreProgress], None]
MoveCallback = Callable[[MoveProgress], None]


def _local_ae(contexts: Sequence[PresentationContext]) -> AE:
    reactor_waits_install()
    ae = AE(ae_title=settings.DIMSE_AE_TITLE)
    ae.acse_timeout = getattr(settings, "DIMSE_ACSE_TIMEOUT", 30)
    ae.dimse_timeout = getattr(settings, "DIMSE_DIMSE_TIMEOUT", 120)
    ae.network_timeout = getattr(settings, "DIMSE_NETWORK_TIMEOUT", 120)
    ae.connection_timeout = getattr(settings, "DIMSE_CONNECTION_TIMEOUT", 15)
    ae.requested_contexts = list(contexts)
    return ae


@contextmanager
def association(peer: Peer, contexts: Sequence[PresentationContext]) -> Iterator[Association]:
    """An established association with ``peer``, released (or aborted on error) on exit."""
    connected: list[bool] = []
    ae = _local_ae(contexts)
    handlers = [
        (evt.EVT_CONN_OPEN, handle_requestor_connection_open),
        (evt.EVT_CONN_OPEN, lambda _event: connected.append(True)),
    ]
    where = f"{peer.ae_title}@{peer.host}:{peer.port}"
    _reachable_check(peer, where, timeout=ae.connection_timeout)
    assoc = ae.associate(peer.host, int(peer.port), ae_title=peer.ae_title, evt_handlers=handlers)
    if not assoc.is_established:
        raise ScuError(_association_failure(assoc, where, connected=bool(connected)))
    try:
        yield assoc
    except BaseException:
        assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()
    finally:
        ae.shutdown()


_CANNOT_CONNECT = "Cannot connect to {where}: nothing answers at that address and port (is the peer running?)"
_NO_CONTEXT = "{where} accepted none of the proposed presentation contexts (it does not offer this service)"


def _refused(where: str, reason: str) -> str:
    return (
        f"{where} refused the association ({reason or 'no reason given'}); check that it knows our AE title "
        f"{settings.DIMSE_AE_TITLE!r} and its own AE title is spelled as configured"
    )


def _reachable_check(peer: Peer, where: str, *, timeout: float | None) -> None:
    """Fail early, and cleanly, when nothing listens at the peer's address.

    pynetdicom 3.0 leaves the socket of a refused connection for the garbage collector; a plain TCP
    connection first turns the commonest mistake (peer down, wrong port) into a clear message instead.
    """
    try:
        with socket.create_connection((peer.host, int(peer.port)), timeout=timeout or 15):
            pass
    except OSError as exc:
        raise ScuError(_CANNOT_CONNECT.format(where=where) + f" ({exc})") from exc


def _association_failure(assoc: Association, where: str, *, connected: bool) -> str:
    if not connected:
        return _CANNOT_CONNECT.format(where=where)
    if assoc.is_rejected:
        return _refused(where, getattr(assoc.acceptor.primitive, "reason_str", ""))
    if assoc.is_aborted and assoc.is_established is False and not assoc.accepted_contexts:
        return _NO_CONTEXT.format(where=where)
    return f"{where} did not complete the association (aborted or timed out)"


def _status_of(response: Dataset | None) -> int | None:
    if response is None or "Status" not in response:
        return None
    return int(response.Status)


# --- C-ECHO -----------------------------------------------------------------------------------------


def echo(peer: Peer) -> EchoResult:
    """C-ECHO the peer; :class:`ScuError` if it cannot be reached or refuses us."""
    started = time.monotonic()
    with association(peer, [build_context(Verification)]) as assoc:
        status = _status_of(assoc.send_c_echo())
    if status is None:
        raise ScuError(f"{peer.ae_title}@{peer.host}:{peer.port} did not answer the C-ECHO")
    return EchoResult(status=status, milliseconds=(time.monotonic() - started) * 1000)


# --- C-STORE ----------------------------------------------------------------------------------------


def store(
    peer: Peer,
    instances: Sequence[StoredInstance],
    *,
    progress: StoreCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> StoreProgress:
    """C-STORE ``instances`` to ``peer`` on one association; ``progress`` is called after each instance.

    The association is the archive's own requestor (``pacs.dimse.store_requestor``), as for C-MOVE.
    Raises :class:`ScuError` only when no association can be made; a peer that drops the association
    midway leaves the instances not yet sent counted as failed, with the reason in ``last_reason``.
    """
    result = StoreProgress(total=len(instances))
    if not instances:
        return result
    requestor = _store_requestor_open(peer, sub_association_contexts(sending_offers(instances)))
    try:
        accepted = requestor.accepted_for_sending()
        for index, instance in enumerate(instances):
            if should_stop is not None and should_stop():
                _fail_rest(result, instances[index:], "cancelled")
                break
            if not requestor.is_open:
                _fail_rest(result, instances[index:], "the peer ended the association")
                break
            status, reason = _store_one(requestor, instance, accepted)
            _count(result, instance.sop_uid, status, reason)
            if progress is not None:
                progress(result)
    except BaseException:
        requestor.abort()
        raise
    requestor.release()
    if progress is not None and result.done == result.total:
        progress(result)
    return result


def _store_requestor_open(peer: Peer, contexts: Sequence[PresentationContext]) -> StoreRequestor:
    where = f"{peer.ae_title}@{peer.host}:{peer.port}"
    requestor = StoreRequestor(
        host=peer.host,
        port=int(peer.port),
        calling_ae_title=settings.DIMSE_AE_TITLE,
        called_ae_title=peer.ae_title,
        contexts=contexts,
        timeout=getattr(settings, "DIMSE_NETWORK_TIMEOUT", 120),
        connect_timeout=getattr(settings, "DIMSE_CONNECTION_TIMEOUT", 15),
    )
    try:
        requestor.open()
    except ConnectionFailed as exc:
        raise ScuError(_CANNOT_CONNECT.format(where=where) + f" ({exc.__cause__ or exc})") from exc
    except AssociationRejected as exc:
        raise ScuError(_refused(where, exc.reason)) from exc
    except StoreRequestorError as exc:
        raise ScuError(f"{where} did not complete the association ({exc})") from exc
    if not requestor.accepted:
        requestor.abort()
        raise ScuError(_NO_CONTEXT.format(where=where))
    return requestor


def _store_one(
    requestor: StoreRequestor, instance: StoredInstance, accepted: dict[str, list[str]]
) -> tuple[int | None, str]:
    if transfer_syntax_choose(instance, accepted) is None:
        offered = ", ".join(accepted.get(instance.sop_class_uid, [])) or "none"
        return None, f"the peer accepts no syntax this instance converts to (accepted: {offered})"
    dataset = dataset_for_sending(instance, accepted)
    if str(dataset.file_meta.TransferSyntaxUID) not in accepted.get(instance.sop_class_uid, []):
        return None, "the stored file cannot be read or converted"
    try:
        response = requestor.store_dataset(dataset)
    except (ValueError, OSError, StoreRequestorError) as exc:
        return None, str(exc)
    comment = str(response.get("ErrorComment", "") or "")
    return _status_of(response), comment


def _count(result: StoreProgress, sop_uid: str, status: int | None, reason: str) -> None:
    result.last_sop_uid, result.last_status, result.last_reason = sop_uid, status, reason
    if status == SUCCESS:
        result.completed += 1
    elif status in STORE_WARNINGS:
        result.warning += 1
    else:
        result.failed += 1
        result.failed_sop_uids.append(sop_uid)
        logger.warning("C-STORE of %s failed: status %s %s", sop_uid, _hex(status), reason)


def _fail_rest(result: StoreProgress, rest: Sequence[StoredInstance], reason: str) -> None:
    for instance in rest:
        _count(result, instance.sop_uid, None, reason)


def _hex(status: int | None) -> str:
    return "none" if status is None else f"0x{status:04X}"


# --- C-FIND -----------------------------------------------------------------------------------------


def find(
    peer: Peer,
    *,
    level: str,
    keys: dict[str, Any],
    return_keys: Sequence[str] | None = None,
    limit: int = 500,
) -> list[Dataset]:
    """Study Root C-FIND at ``level`` (STUDY or SERIES) with matching ``keys``; the matches, decoded.

    ``keys`` maps keywords to matching values (DICOM wildcards and ranges as the peer supports them);
    the return keys for the level are asked for with universal matching. Each returned data set has its
    text decoded by its own Specific Character Set (GB18030, GB2312, UTF-8...), with ISO 2022 escape
    sequences removed, so names are readable ``str``. At most ``limit`` matches are kept; the rest of the
    search is cancelled (C-CANCEL) so a broad query does not hold the peer.
    """
    level = level.upper()
    if level not in ("STUDY", "SERIES"):
        raise ValueError(f"level must be STUDY or SERIES, not {level!r}")
    identifier = Dataset()
    identifier.SpecificCharacterSet = QUERY_CHARACTER_SET
    identifier.QueryRetrieveLevel = level
    defaults = (
        return_keys if return_keys is not None else (STUDY_RETURN_KEYS if level == "STUDY" else SERIES_RETURN_KEYS)
    )
    for keyword in defaults:
        setattr(identifier, keyword, "")
    for keyword, value in keys.items():
        setattr(identifier, keyword, value if value is not None else "")
    if level == "SERIES" and not identifier.get("StudyInstanceUID"):
        raise ValueError("a SERIES level query needs the StudyInstanceUID")

    matches: list[Dataset] = []
    cancelled = False
    context = build_context(StudyRootQueryRetrieveInformationModelFind, _QUERY_SYNTAXES)
    with association(peer, [context]) as assoc:
        responses = assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind, msg_id=1)
        for response, found in responses:
            status = _status_of(response)
            if status is None:
                raise ScuError(f"{peer.ae_title} stopped answering the query (association aborted or timed out)")
            if status in PENDING_STATUSES:
                if found is not None and len(matches) < limit:
                    matches.append(_decoded(found))
                if len(matches) >= limit and not cancelled:
                    # Keep reading after the C-CANCEL: the peer still sends its final response.
                    assoc.send_c_cancel(1, assoc.accepted_contexts[0].context_id)
                    cancelled = True
                continue
            if status not in (SUCCESS, CANCEL):
                comment = str(response.get("ErrorComment", "") or "")
                raise ScuError(f"{peer.ae_title} answered the query with status {_hex(status)} {comment}".strip())
    return matches


def _decoded(dataset: Dataset) -> Dataset:
    """The data set with every text value decoded by its character set and escape sequences removed."""
    dataset.decode()
    for element in dataset:
        if element.VR in ("PN", "LO", "SH", "ST", "LT", "UT", "UC") and element.value:
            if isinstance(element.value, MultiValue):
                element.value = [strip_escape_sequences(str(item)) for item in element.value]
            else:
                element.value = strip_escape_sequences(str(element.value))
    return dataset


# --- C-MOVE -----------------------------------------------------------------------------------------


def move(
    peer: Peer,
    *,
    study_uid: str,
    series_uids: Sequence[str] = (),
    destination: str | None = None,
    progress: MoveCallback | None = None,
) -> MoveProgress:
    """Study Root C-MOVE of a study (or some of its series) from ``peer`` to ``destination``.

    ``destination`` defaults to our own AE title, so the peer sends the instances to the archive's DIMSE
    service (which must be running and know ``peer`` as an AE that may store). ``progress`` gets the
    counts of every pending response. The final counts and status come back; a failure status is an
    outcome (see ``status`` and ``error_comment``), not an exception.
    """
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES" if series_uids else "STUDY"
    identifier.StudyInstanceUID = study_uid
    if series_uids:
        identifier.SeriesInstanceUID = list(series_uids) if len(series_uids) > 1 else series_uids[0]
    result = MoveProgress()
    target = destination or settings.DIMSE_AE_TITLE
    context = build_context(StudyRootQueryRetrieveInformationModelMove, _QUERY_SYNTAXES)
    with association(peer, [context]) as assoc:
        for response, found in assoc.send_c_move(identifier, target, StudyRootQueryRetrieveInformationModelMove):
            status = _status_of(response)
            if status is None:
                raise ScuError(f"{peer.ae_title} stopped answering the retrieve (association aborted or timed out)")
            _move_counts(result, status, response, found)
            if progress is not None:
                progress(result)
    return result


def _move_counts(result: MoveProgress, status: int, response: Dataset, found: Dataset | None) -> None:
    result.status = status
    for attribute, keyword in (
        ("remaining", "NumberOfRemainingSuboperations"),
        ("completed", "NumberOfCompletedSuboperations"),
        ("failed", "NumberOfFailedSuboperations"),
        ("warning", "NumberOfWarningSuboperations"),
    ):
        value = response.get(keyword)
        if value is not None and value != "":
            setattr(result, attribute, int(value))
    if status not in PENDING_STATUSES:
        # The final response ends the sub-operations, whether or not it repeats the remaining count.
        result.remaining = 0
        result.error_comment = str(response.get("ErrorComment", "") or "")
        if found is not None and "FailedSOPInstanceUIDList" in found:
            value = found.FailedSOPInstanceUIDList
            result.failed_sop_uids = [
                str(item) for item in (value if isinstance(value, MultiValue) else [value]) if item
            ]


def status_text(status: int | None) -> str:
    """A short name for a DIMSE status, for job outcomes and logs."""
    if status is None:
        return "no response"
    names = {
        SUCCESS: "success",
        CANCEL: "cancelled",
        MOVE_WARNING: "warning: some sub-operations failed",
        0xA701: "out of resources: unable to calculate number of matches",
        0xA702: "out of resources: unable to perform sub-operations",
        0xA801: "move destination unknown",
        0xA900: "identifier does not match SOP Class",
        0xC000: "unable to process",
    }
    name = names.get(status)
    if name is None and 0xA700 <= status <= 0xA7FF:
        name = "out of resources"
    if name is None and 0xC000 <= status <= 0xCFFF:
        name = "unable to process"
    return f"{_hex(status)} {name}" if name else _hex(status)
