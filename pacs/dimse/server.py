"""Build the archive's application entity, bind the handlers, and run the association server.

The process is a thin shell (``manage.py dimse``) around :class:`DimseServer`: it starts listening,
serves associations in threads, and on :meth:`DimseServer.stop` stops accepting, gives the running
associations a grace period to finish, and aborts those that remain (PS3.8 7.3.1, A-ABORT).

Each association thread closes stale database connections when it starts and its own when it ends:
a thread per association means a connection per association, and one left open would hold a
PostgreSQL backend (or the SQLite file) after the peer has gone.

Every accepted socket gets ``TCP_NODELAY``: DIMSE sends a small PDV (the command) before the data set
and waits for the answer, the pattern with which Nagle's algorithm and the peer's delayed ACK cost
40 ms or more per message with DCMTK peers.
"""

from __future__ import annotations

import copy
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pynetdicom.association
from django.conf import settings
from django.db import close_old_connections, connections
from pynetdicom import AE, _config, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_MOVE
from pynetdicom.events import InterventionEvent
from pynetdicom.presentation import PresentationContext
from pynetdicom.service_class import QueryRetrieveServiceClass, ServiceClass
from pynetdicom.sop_class import uid_to_service_class
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from pacs.dimse import associations
from pacs.dimse.associations import AssociationRegistry
from pacs.dimse.balance import HeldCount, ProcessLoad
from pacs.dimse.contexts import NATIVE_LITTLE_ENDIAN, supported_contexts
from pacs.dimse.handlers.commitment import handle_commitment
from pacs.dimse.handlers.echo import handle_echo
from pacs.dimse.handlers.find import handle_find
from pacs.dimse.handlers.move_get import handle_get, handle_move
from pacs.dimse.handlers.store import handle_store
from pacs.dimse.move_scp import move_serve
from pacs.dimse.network import set_no_delay
from pacs.dimse.reactor import reactor_waits_install

logger = logging.getLogger(__name__)

# Services that apps above the archive add (the worklist's MWL and MPPS), keyed by event and SOP Class:
# the core serves them without importing those apps. Each handler is called as ``handler(event, registry)``.
_EXTRA_SERVICES: dict[tuple[InterventionEvent, str], Callable[..., Any]] = {}


def service_register(*, sop_class: str, event: InterventionEvent, handler: Callable[..., Any]) -> None:
    """Serve ``sop_class`` for ``event`` with ``handler(event, registry)``; call from an app's ``ready()``.

    The AE accepts the SOP Class with the uncompressed transfer syntaxes, and requests on its presentation
    contexts go to ``handler`` instead of the archive's own handler for the event.
    """
    _EXTRA_SERVICES[(event, str(sop_class))] = handler


def _dispatch(event: evt.Event, registry: AssociationRegistry, default: Callable[..., Any] | None) -> Any:
    handler = _EXTRA_SERVICES.get((event.event, str(event.context.abstract_syntax)), default)
    if handler is None:
        raise RuntimeError(f"No handler for {event.event.name} on {event.context.abstract_syntax}")
    return handler(event, registry)


@dataclass(frozen=True)
class DimseConfig:
    """What the AE is and how it behaves on the network; defaults come from settings (see ``from_settings``)."""

    ae_title: str
    host: str
    port: int
    maximum_pdu_size: int = 0  # 0: no limit on what peers may send us (PS3.8 D.1)
    maximum_associations: int = 32
    acse_timeout: float = 30
    dimse_timeout: float = 120
    network_timeout: float = 120
    connection_timeout: float = 15
    shutdown_grace: float = 30
    reuse_port: bool = False

    @classmethod
    def from_settings(cls, **overrides: Any) -> DimseConfig:
        """The configuration from Django settings (``DIMSE_*``), with explicit overrides (``None`` ignored)."""
        values: dict[str, Any] = {
            "ae_title": settings.DIMSE_AE_TITLE,
            "host": settings.DIMSE_HOST,
            "port": settings.DIMSE_PORT,
            "maximum_pdu_size": getattr(settings, "DIMSE_MAX_PDU_SIZE", cls.maximum_pdu_size),
            "maximum_associations": getattr(settings, "DIMSE_MAX_ASSOCIATIONS", cls.maximum_associations),
            "acse_timeout": getattr(settings, "DIMSE_ACSE_TIMEOUT", cls.acse_timeout),
            "dimse_timeout": getattr(settings, "DIMSE_DIMSE_TIMEOUT", cls.dimse_timeout),
            "network_timeout": getattr(settings, "DIMSE_NETWORK_TIMEOUT", cls.network_timeout),
            "connection_timeout": getattr(settings, "DIMSE_CONNECTION_TIMEOUT", cls.connection_timeout),
            "shutdown_grace": getattr(settings, "DIMSE_SHUTDOWN_GRACE", cls.shutdown_grace),
            "reuse_port": getattr(settings, "DIMSE_REUSE_PORT", cls.reuse_port),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


class ArchiveAE(AE):
    """pynetdicom's AE, whose associations answer C-MOVE with :func:`pacs.dimse.move_scp.move_serve`."""


class _ArchiveQueryRetrieveServiceClass(QueryRetrieveServiceClass):
    """Query/Retrieve as pynetdicom serves it, but C-MOVE on an :class:`ArchiveAE`'s associations.

    Any other AE in the process (a test's pynetdicom peer, say) keeps pynetdicom's own Move SCP.
    """

    def _move_scp(self, req: C_MOVE, context: PresentationContext) -> None:
        if isinstance(self.ae, ArchiveAE):
            move_serve(self, req, context)
        else:
            super()._move_scp(req, context)


def _service_class_for(uid: str) -> type[ServiceClass]:
    service_class = uid_to_service_class(uid)
    return _ArchiveQueryRetrieveServiceClass if service_class is QueryRetrieveServiceClass else service_class


def _move_scp_install() -> None:
    """Make pynetdicom serve Query/Retrieve requests with :class:`_ArchiveQueryRetrieveServiceClass`.

    pynetdicom chooses a request's service class by SOP Class UID in ``Association._serve_request``,
    with no hook for an AE to supply its own: the lookup it calls is replaced, once per process.
    """
    pynetdicom.association.uid_to_service_class = _service_class_for  # type: ignore[attr-defined]


def ae_build(config: DimseConfig) -> AE:
    """The application entity with every context the archive serves and the configured limits."""
    _move_scp_install()
    reactor_waits_install()
    ae = ArchiveAE(ae_title=config.ae_title)
    # One by one: assigning the list to ``supported_contexts`` would drop the contexts' roles.
    for context in supported_contexts():
        ae.add_supported_context(
            context.abstract_syntax, context.transfer_syntax, scu_role=context.scu_role, scp_role=context.scp_role
        )
    for sop_class in sorted({sop_class for _event, sop_class in _EXTRA_SERVICES}):
        ae.add_supported_context(sop_class, list(NATIVE_LITTLE_ENDIAN))
    ae.maximum_pdu_size = config.maximum_pdu_size
    ae.maximum_associations = config.maximum_associations
    ae.acse_timeout = config.acse_timeout
    ae.dimse_timeout = config.dimse_timeout
    ae.network_timeout = config.network_timeout
    ae.connection_timeout = config.connection_timeout
    # A modality configured for another archive must be told so, not silently accepted (PS3.8 Table 9-21).
    ae.require_called_aet = True
    # pynetdicom formats every query identifier and every C-FIND response for its debug log even when
    # that log is off: a sixth of the time of a C-FIND that answers hundreds of studies.
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    return ae


def handlers_build(registry: AssociationRegistry) -> list[tuple[Any, ...]]:
    """The (event, handler, arguments) bindings of the server: one handler per service, dependencies injected.

    An event that registered services share goes through :func:`_dispatch`, which picks the handler by
    the presentation context's SOP Class.
    """
    own: dict[InterventionEvent, Callable[..., Any]] = {
        evt.EVT_C_ECHO: handle_echo,
        evt.EVT_C_STORE: handle_store,
        evt.EVT_C_FIND: handle_find,
        evt.EVT_C_MOVE: handle_move,
        evt.EVT_C_GET: handle_get,
        evt.EVT_N_ACTION: handle_commitment,
    }
    shared = {event for event, _sop_class in _EXTRA_SERVICES}
    bindings: list[tuple[Any, ...]] = [
        (evt.EVT_REQUESTED, associations.handle_requested, [registry]),
        (evt.EVT_RELEASED, associations.handle_released, [registry]),
        (evt.EVT_ABORTED, associations.handle_aborted, [registry]),
        (evt.EVT_CONN_CLOSE, associations.handle_connection_closed, [registry]),
    ]
    bindings += [(event, handler, [registry]) for event, handler in own.items() if event not in shared]
    bindings += [(event, _dispatch, [registry, own.get(event)]) for event in sorted(shared, key=lambda e: e.name)]
    return bindings


def _request_wait_end(event: evt.Event) -> None:
    """A connection closed before its A-ASSOCIATE-RQ arrived: end the wait for it now.

    pynetdicom's acceptor thread waits for the request for the whole ACSE timeout even when the peer has
    gone (a port probe, a load balancer's health check): each such thread counted against the maximum
    associations for 30 s and held up a graceful stop as long. ``None`` in the queue it waits on is what
    its timeout returns, and it ends the same way.
    """
    association = event.assoc
    if association.is_acceptor and not association.is_established and association.requestor.primitive is None:
        association.dul.to_user_queue.put(None)


class _ArchiveRequestHandler(RequestHandler):
    """Accepts one connection: TCP_NODELAY on the socket, database hygiene around the association thread."""

    def _create_association(self) -> Association:
        set_no_delay(self.request)
        association = super()._create_association()
        reactor = association.run
        held = self.server.held_counts.pop(self.request, None)
        if held is not None:
            association.bind(evt.EVT_CONN_CLOSE, lambda _event: held.release())
        association.bind(evt.EVT_CONN_CLOSE, _request_wait_end)

        def run_with_own_connections() -> None:
            close_old_connections()
            try:
                reactor()
            finally:
                connections.close_all()
                if held is not None:
                    held.release()

        # The association thread's body is pynetdicom's reactor; wrapping it is the one place that runs
        # in that thread both before the first event and after the last.
        association.run = run_with_own_connections  # type: ignore[method-assign]
        return association


class _ContextsCopiedCheaply(list):
    """The server's supported presentation contexts, which pynetdicom deep-copies for every association.

    Every storage SOP class with a dozen transfer syntaxes each: the deep copy took 30-40 ms of each
    association, most of the 100 ms in which a C-ECHO or a C-FIND was answered (py-spy). Negotiation
    only reads the acceptor's contexts, so a shallow copy of each context object is enough.
    """

    def __deepcopy__(self, memo: dict) -> list:
        return [copy.copy(context) for context in self]


class _ArchiveServer(ThreadedAssociationServer):
    """pynetdicom's threaded server, on a listening socket of its own (with ``SO_REUSEPORT`` when asked)
    or on one it is given, shared with the other service processes of ``manage.py dimse --processes``."""

    daemon_threads = True

    def __init__(
        self,
        *args: Any,
        reuse_port: bool = False,
        listening_socket: socket.socket | None = None,
        load: ProcessLoad | None = None,
        **kwargs: Any,
    ) -> None:
        self._reuse_port = reuse_port
        self._shared_socket = listening_socket
        # With a shared socket: this process's association count beside its siblings' (balance.py), and
        # the count each accepted connection holds until its association takes it over.
        self.load = load
        self.held_counts: dict[Any, HeldCount] = {}
        super().__init__(*args, **kwargs)
        self.contexts = _ContextsCopiedCheaply(self.contexts)

    def server_bind(self) -> None:
        if self._shared_socket is not None:
            self.socket.close()  # the one socketserver made, unbound
            self.socket = self._shared_socket
            # Every process polls the shared socket and tries to accept: non-blocking, so the ones that
            # lose the race for a connection go back to polling instead of waiting in accept().
            self.socket.setblocking(False)
            self.server_address = self.socket.getsockname()
            return
        if self._reuse_port:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def get_request(self) -> tuple[socket.socket, Any]:
        if self.load is None:
            return super().get_request()
        self.load.wait_for_turn()
        request, address = super().get_request()  # raises when another process took the connection first
        self.load.started()
        self.held_counts[request] = HeldCount(self.load)
        return request, address

    def shutdown_request(self, request: Any) -> None:
        # Called for a connection that did not become an association (socketserver), and at the end of
        # each association (pynetdicom), whose count its association gave back already.
        held = self.held_counts.pop(request, None)
        if held is not None:
            held.release()
        super().shutdown_request(request)

    def server_activate(self) -> None:
        if self._shared_socket is None:
            super().server_activate()  # a shared socket listens already

    def server_close(self) -> None:
        if self._shared_socket is not None:
            # Only this process's descriptor: shutting the socket down would stop the others listening.
            self.socket.close()
            return
        super().server_close()

    def shutdown(self) -> None:
        # Built with make_server, the server is not in the AE's own list that pynetdicom's shutdown edits.
        socketserver.BaseServer.shutdown(self)
        self.server_close()


class DimseServer:
    """The running DIMSE service: ``start()``, then ``stop()`` from any thread (a signal handler's too)."""

    def __init__(
        self, config: DimseConfig, *, listening_socket: socket.socket | None = None, load: ProcessLoad | None = None
    ) -> None:
        """``listening_socket``: a bound, listening socket to serve instead of binding the configured
        address; ``load``: this process's place among the processes that share it."""
        self.config = config
        self._listening_socket = listening_socket
        self._load = load
        self.registry = AssociationRegistry()
        self.ae = ae_build(config)
        self._server: _ArchiveServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the configured one, or the one the system chose for port 0)."""
        if self._server is None:
            raise RuntimeError("The DIMSE server is not running")
        return int(self._server.server_address[1])

    def start(self) -> None:
        server = self.ae.make_server(
            (self.config.host, self.config.port),
            evt_handlers=handlers_build(self.registry),
            server_class=_ArchiveServer,
            request_handler=_ArchiveRequestHandler,
            reuse_port=self.config.reuse_port,
            listening_socket=self._listening_socket,
            load=self._load,
        )
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="dimse-acceptor", daemon=True)
        self._thread.start()
        logger.info(
            "DIMSE service %s listening on %s:%d (max %d associations)",
            self.config.ae_title,
            self.config.host,
            self.port,
            self.config.maximum_associations,
        )

    def stop(self) -> None:
        """Stop accepting; let running associations finish for the grace period, then abort them."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        deadline = time.monotonic() + self.config.shutdown_grace
        while (remaining := self._acceptor_associations()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for association in remaining:
            logger.warning("Aborting the association with %s at shutdown", association.requestor.ae_title)
            association.abort()
        logger.info("DIMSE service %s stopped", self.config.ae_title)

    def _acceptor_associations(self) -> list[Association]:
        return [association for association in self.ae.active_associations if association.is_acceptor]
