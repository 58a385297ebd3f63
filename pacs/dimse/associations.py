"""Who may associate, which organization a peer acts for, and a log line for every association.

Association acceptance (PS3.8 7.1.1, Table 9-21): the Calling AE Title must name a known
:class:`~pacs.models.RemoteAE`; its organization is the one the peer stores into and queries, and its
``allow_*`` flags decide which services it may use. An unknown Calling AE Title is rejected permanently
with reason "calling-AE-title-not-recognized", unless the setting ``DIMSE_ACCEPT_UNKNOWN_AES`` admits it
into the organization ``DIMSE_UNKNOWN_AE_ORGANIZATION`` (default ``PACS_DEFAULT_ORGANIZATION``); such a
peer may verify and store, never query or retrieve, since nothing vouches for it.

A peer that may not query or retrieve has the Query/Retrieve presentation contexts rejected at
negotiation ("abstract-syntax-not-supported", PS3.8 9.3.3.2), so it learns at once what it cannot do.
Storage contexts stay, since a C-GET brings instances back over them; a peer that may not store is
answered "Refused: Not Authorized" (0x0124) per C-STORE instead. When the database
cannot be reached the peer cannot be identified, and the association is rejected as transient so that
the modality keeps its images and tries again later.

Every association ends with one log line: calling AE, address, what it asked for, how it ended.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import Error as DatabaseError
from pynetdicom import evt
from pynetdicom.association import Association

from pacs.dimse.contexts import FIND_SOP_CLASSES, GET_SOP_CLASSES, MOVE_SOP_CLASSES
from pacs.models import Organization, RemoteAE

logger = logging.getLogger(__name__)

# A-ASSOCIATE-RJ (result, source, reason), PS3.8 Table 9-21.
REJECT_UNKNOWN_CALLING_AE = (0x01, 0x01, 0x03)  # rejected-permanent, service-user, calling AE not recognized
REJECT_TRANSIENT = (0x02, 0x01, 0x01)  # rejected-transient, service-user, no reason given


@dataclass(frozen=True)
class Peer:
    """The calling AE of an accepted association, and what it may do."""

    ae_title: str
    address: str
    organization: Organization
    may_store: bool
    may_query: bool
    may_retrieve: bool
    known: bool

    @property
    def description(self) -> str:
        """``CALLING@host:port``, the form the ingest origin and the logs use."""
        return f"{self.ae_title}@{self.address}"


def peer_resolve(*, ae_title: str, address: str) -> Peer | None:
    """The :class:`Peer` a Calling AE Title stands for, or ``None`` when it may not associate.

    Raises :class:`django.db.Error` when the database cannot answer.
    """
    remote = RemoteAE.objects.select_related("organization").filter(ae_title=ae_title).first()
    if remote is not None:
        return Peer(
            ae_title=ae_title,
            address=address,
            organization=remote.organization,
            may_store=remote.allow_store,
            may_query=remote.allow_query,
            may_retrieve=remote.allow_retrieve,
            known=True,
        )
    if not getattr(settings, "DIMSE_ACCEPT_UNKNOWN_AES", False):
        return None
    slug = getattr(settings, "DIMSE_UNKNOWN_AE_ORGANIZATION", "") or settings.PACS_DEFAULT_ORGANIZATION
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        logger.error("DIMSE_UNKNOWN_AE_ORGANIZATION %r does not exist: unknown AE %s refused", slug, ae_title)
        return None
    return Peer(
        ae_title=ae_title,
        address=address,
        organization=organization,
        may_store=True,
        may_query=False,
        may_retrieve=False,
        known=False,
    )


@dataclass
class _Record:
    peer: Peer
    started: float = field(default_factory=time.monotonic)
    asked: Counter[str] = field(default_factory=Counter)


class AssociationRegistry:
    """The peer of each accepted association, and a tally of what it asked for, for the closing log line.

    Handlers run in the association's own thread, the closing event in the DUL thread: a lock guards
    the map, which holds associations weakly so that a forgotten one cannot leak.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: weakref.WeakKeyDictionary[Association, _Record] = weakref.WeakKeyDictionary()

    def admit(self, association: Association, peer: Peer) -> None:
        with self._lock:
            self._records[association] = _Record(peer=peer)

    def peer(self, association: Association) -> Peer:
        """The peer admitted by :func:`handle_requested`; every DIMSE request arrives after that."""
        with self._lock:
            record = self._records.get(association)
        if record is None:
            raise RuntimeError("A DIMSE request arrived on an association that was never admitted")
        return record.peer

    def note(self, association: Association, what: str, count: int = 1) -> None:
        """Count one request or outcome (``"C-STORE"``, ``"C-STORE failed 0xA700"``...) for the log."""
        with self._lock:
            record = self._records.get(association)
            if record is not None:
                record.asked[what] += count

    def finish(self, association: Association, how: str) -> None:
        """Log the end of an association once, however many closing events arrive."""
        with self._lock:
            record = self._records.pop(association, None)
        if record is None:
            return
        asked = ", ".join(f"{what} ×{count}" for what, count in sorted(record.asked.items())) or "nothing"
        logger.info(
            "Association from %s (%s) %s after %.1f s; asked: %s",
            record.peer.description,
            record.peer.organization.slug,
            how,
            time.monotonic() - record.started,
            asked,
        )

    def active(self) -> int:
        with self._lock:
            return len(self._records)


def peer_address(association: Association) -> str:
    info = association.requestor.address_info
    return f"{info.address}:{info.port}"


def handle_requested(event: evt.Event, registry: AssociationRegistry) -> None:
    """EVT_REQUESTED: identify the calling AE before negotiation; reject it here if it may not associate."""
    association = event.assoc
    request = association.requestor.primitive
    ae_title = str(request.calling_ae_title).strip() if request is not None else ""
    address = peer_address(association)
    try:
        peer = peer_resolve(ae_title=ae_title, address=address)
    except DatabaseError as exc:
        logger.error("Association from %s@%s rejected: database unavailable (%s)", ae_title, address, exc)
        _reject(association, REJECT_TRANSIENT)
        return
    if peer is None:
        logger.warning("Association from %s@%s rejected: calling AE title not recognised", ae_title, address)
        _reject(association, REJECT_UNKNOWN_CALLING_AE)
        return
    association.acceptor.supported_contexts = [
        context for context in association.acceptor.supported_contexts if _permitted(peer, str(context.abstract_syntax))
    ]
    registry.admit(association, peer)


def _permitted(peer: Peer, abstract_syntax: str) -> bool:
    if abstract_syntax in FIND_SOP_CLASSES:
        return peer.may_query
    if abstract_syntax in MOVE_SOP_CLASSES or abstract_syntax in GET_SOP_CLASSES:
        return peer.may_retrieve
    return True


def _reject(association: Association, result_source_reason: tuple[int, int, int]) -> None:
    # pynetdicom skips negotiation when an EVT_REQUESTED handler has rejected (Association.run_reactor).
    association.acse.send_reject(*result_source_reason)
    evt.trigger(association, evt.EVT_REJECTED, {})
    association.kill()


def handle_released(event: evt.Event, registry: AssociationRegistry) -> None:
    registry.finish(event.assoc, "released")


def handle_aborted(event: evt.Event, registry: AssociationRegistry) -> None:
    registry.finish(event.assoc, "aborted")


def handle_connection_closed(event: evt.Event, registry: AssociationRegistry) -> None:
    """EVT_CONN_CLOSE: the end of associations that were neither released nor aborted (network lost)."""
    registry.finish(event.assoc, "lost its connection")
