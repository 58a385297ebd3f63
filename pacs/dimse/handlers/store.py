"""Storage Service Class SCP (PS3.4 Annex B): C-STORE through the one ingest pipeline.

The received data set is passed on exactly as encoded, behind File Meta Information built from the
command and the presentation context (PS3.10 7.1), so nothing is decoded and re-encoded here. The answer
is the ingest pipeline's (PS3.4 B.2.3): Success only once the file and its index are durable;
"Refused: Out of Resources" (0xA700) when storage or database is unavailable; "Data Set does not match
SOP Class" (0xA900) for a SOP Class other than the context's or missing identifying UIDs; "Cannot
understand" (0xC000) for what cannot be parsed, each with an Error Comment (PS3.7 C.4.2.1.4).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import Error as DatabaseError
from django.db import close_old_connections
from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.dsutils import encode_file_meta

from pacs.dimse.associations import AssociationRegistry
from pacs.ingest import DicomStatusError, IngestOrigin, IngestResult, errors, instance_ingest

logger = logging.getLogger(__name__)

Ingest = Callable[..., IngestResult]

_PREAMBLE = b"\x00" * 128 + b"DICM"


def handle_store(event: evt.Event, registry: AssociationRegistry, ingest: Ingest = instance_ingest) -> Dataset:
    """EVT_C_STORE: store the instance for the calling AE's organization; return the C-STORE-RSP status."""
    peer = registry.peer(event.assoc)
    if not peer.may_store:
        return _answer(event, registry, errors.NOT_AUTHORIZED, f"{peer.ae_title} may not store")
    origin = IngestOrigin(
        kind="dimse",
        organization=peer.organization,
        description=peer.description,
        expected_sop_class_uid=str(event.context.abstract_syntax),
        expected_sop_instance_uid=str(event.request.AffectedSOPInstanceUID),
    )
    try:
        ingest(source=part10_bytes(event, source_ae_title=peer.ae_title), origin=origin)
    except DicomStatusError as exc:
        logger.warning("C-STORE from %s refused with 0x%04X: %s", peer.description, exc.status, exc.comment)
        return _answer(event, registry, exc.status, exc.short_comment)
    except DatabaseError as exc:
        # A connection the database dropped stays broken in this thread: discard it so the next
        # request reconnects instead of failing the same way.
        close_old_connections()
        logger.error("C-STORE from %s: database unavailable: %s", peer.description, exc)
        return _answer(event, registry, errors.OUT_OF_RESOURCES, "Database unavailable")
    return _answer(event, registry, 0x0000, "")


def part10_bytes(event: evt.Event, *, source_ae_title: str) -> bytes:
    """The received data set as a Part 10 file: preamble, File Meta Information, the bytes as received.

    The File Meta Information records the sender in Source Application Entity Title (PS3.10 7.1).
    """
    meta = event.file_meta
    meta.SourceApplicationEntityTitle = source_ae_title
    return b"".join((_PREAMBLE, encode_file_meta(meta), event.encoded_dataset(include_meta=False)))


def _answer(event: evt.Event, registry: AssociationRegistry, status: int, comment: str) -> Dataset:
    registry.note(event.assoc, "C-STORE" if status == 0 else f"C-STORE failed 0x{status:04X}")
    response = Dataset()
    response.Status = status
    if comment:
        response.ErrorComment = comment[:64]
    return response
