"""Query/Retrieve C-MOVE and C-GET SCP (PS3.4 C.4.2, C.4.3) over the shared retrieve service.

The identifier names what to retrieve by its unique keys (PS3.4 C.4.2.2.1, baseline hierarchical
retrieve): a single value at each level above the Query/Retrieve Level and a list of UIDs at it. The
instances are selected inside the calling AE's organization and sent by C-STORE sub-operations: over a
new association to the Move Destination for C-MOVE, over the requesting association for C-GET.

C-MOVE: :func:`handle_move` resolves the request into a :class:`~pacs.dimse.move_scp.MovePlan` and
:mod:`pacs.dimse.move_scp` runs the sub-operations. C-GET: :func:`handle_get` yields to pynetdicom's Get
SCP, which sends a Pending response with the remaining, completed, failed and warning counts after each
sub-operation, of which at most one per ``PENDING_INTERVAL_SECONDS`` goes out (see
:func:`pending_throttled`), and the final response with the Failed SOP Instance UID List when some
failed (PS3.4 C.4.3.1.4).

An instance goes in its stored transfer syntax when the receiver accepted it for the SOP Class, and is
otherwise converted by the codec module to a syntax the receiver accepted; one that cannot be converted
(or read) is a failed sub-operation, never a failed retrieve.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import Error as DatabaseError
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.uid import UID
from pynetdicom import _config, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_GET, C_MOVE
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
)

from pacs import storage
from pacs.dimse.associations import AssociationRegistry, Peer
from pacs.dimse.contexts import accepted_for_sending, sending_offers, sub_association_contexts
from pacs.dimse.move_scp import MOVE_DESTINATION_UNKNOWN, PENDING_INTERVAL_SECONDS, MovePlan
from pacs.dimse.store_requestor import NotSendable, Outgoing, StoreRequestor, part10_data_set
from pacs.ingest import DicomStatusError
from pacs.models import RemoteAE, Study
from pacs.retrieve import codecs
from pacs.retrieve.errors import NotFound, RetrieveError
from pacs.retrieve.instances import StoredInstance, instance_dataset, instance_file, instances_select

logger = logging.getLogger(__name__)

# A path given to send_c_store is streamed from the file rather than decoded (see StoredFile). Only
# this module's callers pass paths.
_config.STORE_SEND_CHUNKED_DATASET = True

PENDING = 0xFF00
CANCEL = 0xFE00
IDENTIFIER_DOES_NOT_MATCH = 0xA900  # PS3.4 C.4.2.1.5 and C.4.3.1.5
UNABLE_TO_CALCULATE_MATCHES = 0xA701
UNABLE_TO_PROCESS = 0xC000

# What file_readahead asks for: a CT slice whole, only the start of a large file, so that a few
# multi-gigabyte files ahead cannot flood the page cache (the kernel's own readahead follows a file as
# it is read).
_READAHEAD_BYTES = 8 << 20

_PATIENT_ROOT = (PatientRootQueryRetrieveInformationModelMove, PatientRootQueryRetrieveInformationModelGet)


@dataclass(frozen=True)
class RetrieveKeys:
    """The unique keys of a C-MOVE or C-GET identifier (PS3.4 C.4.2.2.1)."""

    level: str
    patient_id: str | None
    study_uids: tuple[str, ...]
    series_uids: tuple[str, ...]
    sop_uids: tuple[str, ...]


def retrieve_keys_parse(identifier: Dataset, *, patient_root: bool) -> RetrieveKeys:
    """Read and check the unique keys; raise :class:`DicomStatusError` 0xA900 when they do not fit the level."""
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    levels = ("PATIENT", "STUDY", "SERIES", "IMAGE") if patient_root else ("STUDY", "SERIES", "IMAGE")
    if level not in levels:
        raise DicomStatusError(IDENTIFIER_DOES_NOT_MATCH, f"Query/Retrieve Level {level!r} is not one of {levels}")
    depth = levels.index(level)
    patient_id = str(identifier.get("PatientID", "") or "").strip() or None
    keys = RetrieveKeys(
        level=level,
        patient_id=patient_id,
        study_uids=_uids(identifier, "StudyInstanceUID"),
        series_uids=_uids(identifier, "SeriesInstanceUID"),
        sop_uids=_uids(identifier, "SOPInstanceUID"),
    )
    values = {
        "PATIENT": ("PatientID", (patient_id,) if patient_id else ()),
        "STUDY": ("StudyInstanceUID", keys.study_uids),
        "SERIES": ("SeriesInstanceUID", keys.series_uids),
        "IMAGE": ("SOPInstanceUID", keys.sop_uids),
    }
    for index, each in enumerate(levels[: depth + 1]):
        keyword, found = values[each]
        if each == "PATIENT" and level != "PATIENT":
            continue  # above the retrieve level, Patient ID is optional in Patient Root (PS3.4 C.6.1.2.2)
        if not found:
            raise DicomStatusError(IDENTIFIER_DOES_NOT_MATCH, f"{keyword} is required at level {level}")
        if index < depth and len(found) > 1:
            raise DicomStatusError(IDENTIFIER_DOES_NOT_MATCH, f"{keyword} must be a single value above {level}")
    return keys


def _uids(identifier: Dataset, keyword: str) -> tuple[str, ...]:
    value = identifier.get(keyword)
    if not value:
        return ()
    values = value if isinstance(value, MultiValue) else [value]
    return tuple(text for text in (str(item).strip() for item in values) if text)


def instances_for_keys(keys: RetrieveKeys, *, peer: Peer) -> list[StoredInstance]:
    """The stored instances the keys name, in the peer's organization; none for keys that match nothing."""
    organization = peer.organization
    if keys.level == "PATIENT":
        study_uids: Iterable[str] = Study.objects.filter(
            organization=organization, patient__patient_id=keys.patient_id
        ).values_list("study_instance_uid", flat=True)
    else:
        study_uids = keys.study_uids
    selections: list[tuple[str, str | None, str | None]] = []
    for study_uid in study_uids:
        if keys.level in ("PATIENT", "STUDY"):
            selections.append((study_uid, None, None))
        elif keys.level == "SERIES":
            selections.extend((study_uid, series_uid, None) for series_uid in keys.series_uids)
        else:
            selections.extend((study_uid, keys.series_uids[0], sop_uid) for sop_uid in keys.sop_uids)
    found: list[StoredInstance] = []
    for study_uid, series_uid, sop_uid in selections:
        try:
            found.extend(
                instances_select(organization=organization, study_uid=study_uid, series_uid=series_uid, sop_uid=sop_uid)
            )
        except NotFound:
            continue
    return found


def transfer_syntax_choose(instance: StoredInstance, accepted: dict[str, list[str]]) -> str | None:
    """The syntax to send ``instance`` in: its stored one if accepted, else the first it converts to."""
    offered = accepted.get(instance.sop_class_uid, [])
    if instance.transfer_syntax_uid in offered:
        return instance.transfer_syntax_uid
    return next((syntax for syntax in offered if codecs.can_transcode(instance.transfer_syntax_uid, syntax)), None)


class StoredFile(Dataset):
    """An instance to send exactly as stored: only its identifying UIDs and syntax, and its file's path.

    Its data set goes out as the file holds it, never decoded and encoded again: the archive's
    :class:`StoreRequestor` (the SCU's C-STORE) reads it from ``stored_path``, and for C-GET
    :func:`send_c_store` hands pynetdicom the path to stream. pynetdicom's Get SCP wants a ``Dataset``
    for each sub-operation, which this is, and counts a failed one by its SOP Instance UID, which it
    carries.
    """

    def __init__(self, instance: StoredInstance, path: Path) -> None:
        super().__init__()
        self.SOPClassUID = instance.sop_class_uid
        self.SOPInstanceUID = instance.sop_uid
        self.file_meta = FileMetaDataset()
        self.file_meta.TransferSyntaxUID = instance.transfer_syntax_uid
        self.stored_path = path


def send_c_store(association: Association, dataset: Dataset, **kwargs: Any) -> Dataset:
    """``association.send_c_store``, streaming a :class:`StoredFile` from its file."""
    send = getattr(association, "_pacs_send_c_store", association.send_c_store)
    return send(dataset.stored_path if isinstance(dataset, StoredFile) else dataset, **kwargs)


def stored_files_sent_from_disk(association: Association) -> None:
    """Make pynetdicom's own sub-operation loop (C-GET, C-MOVE) send :class:`StoredFile` from disk."""
    if not hasattr(association, "_pacs_send_c_store"):
        association._pacs_send_c_store = association.send_c_store  # type: ignore[attr-defined]
        association.send_c_store = functools.partial(send_c_store, association)  # type: ignore[method-assign]


def dataset_for_sending(instance: StoredInstance, accepted: dict[str, list[str]]) -> Dataset:
    """The instance ready for C-STORE; a stand-in no context fits when it cannot be sent.

    In its stored syntax it is a :class:`StoredFile`, sent from disk as it is; otherwise it is read and
    converted. pynetdicom counts a sub-operation failed, and lists its SOP Instance UID, when the data
    set it is given has no accepted presentation context; the stand-in carries only the identifying
    UIDs for that.
    """
    syntax = transfer_syntax_choose(instance, accepted)
    if syntax is None:
        logger.warning(
            "Cannot send %s: the receiver accepts none of the syntaxes %s (%s) converts to",
            instance.sop_uid,
            UID(instance.transfer_syntax_uid).name,
            instance.sop_class_uid,
        )
        return _unsendable(instance)
    if syntax == instance.transfer_syntax_uid:
        path = instance_file(instance)
        if path is not None:
            return StoredFile(instance, path)
        logger.error("Cannot send %s: its file %s is missing", instance.sop_uid, instance.file_path)
        return _unsendable(instance)
    try:
        return instance_dataset(instance, transfer_syntax=syntax)
    except (RetrieveError, OSError) as exc:
        logger.error("Cannot send %s: %s", instance.sop_uid, exc)
        return _unsendable(instance)


def outgoing_prepare(instance: StoredInstance, accepted: dict[str, list[str]]) -> Outgoing:
    """The instance encoded for a C-STORE the receiver accepts; :class:`NotSendable` when there is none.

    In its stored syntax the data set is the file's bytes after its File Meta Information; otherwise the
    instance is read and converted (the codec module decides which conversions exist).
    """
    syntax = transfer_syntax_choose(instance, accepted)
    if syntax is None:
        raise NotSendable(
            f"the receiver accepts none of the syntaxes {UID(instance.transfer_syntax_uid).name} converts to"
        )
    if syntax == instance.transfer_syntax_uid:
        path = storage.absolute_path(instance.file_path)
        try:
            body = part10_data_set(path)
        except FileNotFoundError as exc:
            raise NotSendable(f"its file {instance.file_path} is missing") from exc
        except (OSError, ValueError) as exc:
            raise NotSendable(f"its file {instance.file_path} cannot be read: {exc}") from exc
    else:
        try:
            dataset = instance_dataset(instance, transfer_syntax=syntax)
        except (RetrieveError, OSError) as exc:
            raise NotSendable(str(exc)) from exc
        target = UID(syntax)
        encoded = encode(dataset, target.is_implicit_VR, target.is_little_endian, target.is_deflated)
        if encoded is None:
            raise NotSendable(f"it cannot be encoded in {target.name}")
        body = encoded
    return Outgoing(instance.sop_class_uid, instance.sop_uid, syntax, body)


def file_readahead(instance: StoredInstance) -> None:
    """Have the kernel read the instance's file into the page cache in the background (best effort)."""
    try:
        descriptor = os.open(storage.absolute_path(instance.file_path), os.O_RDONLY)
    except OSError:
        return  # a missing file fails when it is prepared, with the reason
    try:
        os.posix_fadvise(descriptor, 0, _READAHEAD_BYTES, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _unsendable(instance: StoredInstance) -> Dataset:
    stand_in = Dataset()
    stand_in.SOPClassUID = instance.sop_class_uid
    stand_in.SOPInstanceUID = instance.sop_uid
    stand_in.file_meta = FileMetaDataset()
    # A private, unregistered syntax: no context of any association can match it.
    stand_in.file_meta.TransferSyntaxUID = "1.2.826.0.1.3680043.10.1493.0.0.0"
    return stand_in


def _status(status: int, comment: str) -> Dataset:
    response = Dataset()
    response.Status = status
    response.ErrorComment = comment[:64]
    return response


def _select(event: evt.Event, peer: Peer, patient_root: bool) -> list[StoredInstance]:
    """Parse and select; raise :class:`DicomStatusError` with the failure status to answer."""
    try:
        keys = retrieve_keys_parse(event.identifier, patient_root=patient_root)
        return instances_for_keys(keys, peer=peer)
    except DicomStatusError:
        raise
    except DatabaseError as exc:
        logger.error("Retrieve for %s: database unavailable: %s", peer.description, exc)
        raise DicomStatusError(UNABLE_TO_CALCULATE_MATCHES, "Database unavailable") from exc
    except Exception as exc:  # noqa: BLE001 - an identifier pydicom cannot decode
        raise DicomStatusError(UNABLE_TO_PROCESS, f"Cannot read the identifier: {exc}") from exc


def _sub_operations(
    event: evt.Event, instances: list[StoredInstance], accepted: dict[str, list[str]]
) -> Iterator[tuple[int | Dataset, Dataset | None]]:
    with pending_throttled(event.assoc):
        for instance in instances:
            if event.is_cancelled:
                yield CANCEL, None  # PS3.4 C.4.2.3.1: the counts so far and the failed UIDs go in the response
                return
            yield PENDING, dataset_for_sending(instance, accepted)


@contextmanager
def pending_throttled(association: Association) -> Iterator[None]:
    """While the sub-operations run, send at most one Pending C-GET (or C-MOVE) response per interval.

    pynetdicom's retrieve SCP sends one after every sub-operation through the association's DIMSE
    provider; the final response, sent after the handler's last yield, is not Pending and always goes.
    """
    dimse = association.dimse
    send = dimse.send_msg
    last_sent = -PENDING_INTERVAL_SECONDS

    def send_some(primitive: Any, context_id: int) -> None:
        nonlocal last_sent
        if isinstance(primitive, C_MOVE | C_GET) and getattr(primitive, "Status", None) == PENDING:
            now = time.monotonic()
            if now - last_sent < PENDING_INTERVAL_SECONDS:
                return
            last_sent = now
        send(primitive, context_id)

    dimse.send_msg = send_some  # type: ignore[method-assign]
    try:
        yield
    finally:
        del dimse.send_msg  # the provider's own method again


def handle_get(event: evt.Event, registry: AssociationRegistry) -> Iterator[Any]:
    """EVT_C_GET: the number of sub-operations, then one C-STORE per instance over this association."""
    peer = registry.peer(event.assoc)
    registry.note(event.assoc, "C-GET")
    try:
        instances = _select(event, peer, patient_root=str(event.context.abstract_syntax) in _PATIENT_ROOT)
    except DicomStatusError as exc:
        # pynetdicom wants the number of sub-operations first; one, then the failure that ends them all.
        yield 1
        yield _status(exc.status, exc.short_comment), None
        return
    yield len(instances)
    stored_files_sent_from_disk(event.assoc)
    accepted = accepted_for_sending(event.assoc)
    logger.info("C-GET by %s: %d instances", peer.description, len(instances))
    yield from _sub_operations(event, instances, accepted)


def handle_move(event: evt.Event, registry: AssociationRegistry) -> MovePlan:
    """EVT_C_MOVE: the destination and the instances, for :mod:`pacs.dimse.move_scp` to send.

    Raises :class:`DicomStatusError` with the status to answer when the request cannot be served: an
    unknown Move Destination (0xA801), an identifier that does not fit its level, a database failure.
    """
    peer = registry.peer(event.assoc)
    registry.note(event.assoc, "C-MOVE")
    destination_title = str(event.move_destination or "").strip()
    destination = RemoteAE.objects.filter(organization=peer.organization, ae_title=destination_title).first()
    if destination is None:
        logger.warning("C-MOVE by %s to unknown destination %r", peer.description, destination_title)
        raise DicomStatusError(MOVE_DESTINATION_UNKNOWN, f"Move Destination {destination_title!r} unknown")
    instances = _select(event, peer, patient_root=str(event.context.abstract_syntax) in _PATIENT_ROOT)
    logger.info("C-MOVE by %s: %d instances to %s", peer.description, len(instances), destination)
    ae = event.assoc.ae
    requestor = StoreRequestor(
        host=destination.host,
        port=destination.port,
        calling_ae_title=ae.ae_title,
        called_ae_title=destination.ae_title,
        contexts=sub_association_contexts(sending_offers(instances)),
        timeout=ae.network_timeout or ae.dimse_timeout or 30.0,
        connect_timeout=ae.connection_timeout,
    )
    return MovePlan(requestor=requestor, instances=instances, prepare=outgoing_prepare, readahead=file_readahead)
