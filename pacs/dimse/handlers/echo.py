"""Verification Service Class (PS3.4 Annex A): C-ECHO."""

from __future__ import annotations

from pynetdicom import evt

from pacs.dimse.associations import AssociationRegistry

SUCCESS = 0x0000


def handle_echo(event: evt.Event, registry: AssociationRegistry) -> int:
    """Answer C-ECHO with Success (PS3.4 A.4): the association was accepted, so the peer is known."""
    registry.note(event.assoc, "C-ECHO")
    return SUCCESS
