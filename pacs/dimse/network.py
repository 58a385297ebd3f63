"""Socket settings shared by the associations the archive accepts and those it opens."""

from __future__ import annotations

import socket

from pynetdicom import evt


def set_no_delay(sock: socket.socket) -> None:
    """Send each PDU at once (no Nagle): DIMSE is request/response, and DCMTK peers delay their ACKs."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def handle_requestor_connection_open(event: evt.Event) -> None:
    """EVT_CONN_OPEN on an association the archive requests (C-MOVE, Storage Commitment report)."""
    transport = event.assoc.dul.socket
    if transport is not None and transport.socket is not None:
        set_no_delay(transport.socket)
