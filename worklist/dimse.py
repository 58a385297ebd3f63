"""The worklist's DIMSE services, served by the archive's AE through ``pacs.dimse.server.service_register``:

- Modality Worklist Information Model - FIND (PS3.4 K.6), a C-FIND SCP over :mod:`worklist.query`;
- Modality Performed Procedure Step (PS3.4 F.7, F.8), N-CREATE and N-SET SCP over
  :mod:`worklist.services.mpps`.

Handlers are plain functions of the pynetdicom event and the association registry (which tells the
calling peer and its organization), registered by :func:`services_register` from ``WorklistConfig.ready``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import Error as DatabaseError
from django.db import close_old_connections
from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind

from pacs.dimse.associations import AssociationRegistry
from pacs.dimse.server import service_register
from pacs.query.matching import QueryError
from worklist.query import worklist_exams, worklist_response, worklist_time_filter
from worklist.services.mpps import PROCESSING_FAILURE, MppsError, performed_step_create, performed_step_update

logger = logging.getLogger(__name__)

PENDING = 0xFF00
CANCEL = 0xFE00
NOT_AUTHORIZED = 0x0124  # Refused: Not Authorized, a general status of DIMSE services (PS3.7 Annex C)
OUT_OF_RESOURCES = 0xA700
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000

FindResponse = tuple[int | Dataset, Dataset | None]
NResponse = tuple[int | Dataset, Dataset | None]


def _status(status: int, comment: str) -> Dataset:
    response = Dataset()
    response.Status = status
    response.ErrorComment = comment[:64]
    return response


def handle_worklist_find(event: evt.Event, registry: AssociationRegistry) -> Iterator[FindResponse]:
    """EVT_C_FIND on the worklist model: one Pending response per scheduled step (PS3.4 K.4.1.3).

    A C-CANCEL is answered with Cancel between responses (PS3.4 C.4.1.2.3, which K.4.1.3 follows).
    """
    peer = registry.peer(event.assoc)
    registry.note(event.assoc, "MWL C-FIND")
    if not peer.may_query:
        yield _status(NOT_AUTHORIZED, "This AE may not query the worklist"), None
        return
    try:
        identifier = event.identifier
        exams = list(worklist_exams(organization=peer.organization, identifier=identifier))
        matches = list(worklist_time_filter(exams, identifier=identifier))
    except QueryError as exc:
        logger.info("MWL C-FIND from %s refused: %s", peer.description, exc)
        yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
        return
    except DatabaseError as exc:
        close_old_connections()
        logger.error("MWL C-FIND from %s: database unavailable: %s", peer.description, exc)
        yield _status(OUT_OF_RESOURCES, "Database unavailable"), None
        return
    except Exception as exc:  # noqa: BLE001 - an identifier pydicom cannot decode
        yield _status(UNABLE_TO_PROCESS, f"Cannot read the identifier: {exc}"), None
        return
    for exam in matches:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, worklist_response(exam, identifier=identifier)


def handle_mpps_create(event: evt.Event, registry: AssociationRegistry) -> NResponse:
    """EVT_N_CREATE on MPPS: a modality starts a procedure step (PS3.4 F.7.2.1)."""
    peer = registry.peer(event.assoc)
    registry.note(event.assoc, "MPPS N-CREATE")
    if not peer.known:
        return NOT_AUTHORIZED, None
    attributes = event.attribute_list
    uid = str(event.request.AffectedSOPInstanceUID or "")
    try:
        performed_step_create(
            organization=peer.organization, sop_instance_uid=uid, attributes=attributes, calling_ae_title=peer.ae_title
        )
    except MppsError as exc:
        logger.info("MPPS N-CREATE %s from %s refused: %s", uid, peer.description, exc.comment)
        return _status(exc.status, exc.comment), None
    except DatabaseError as exc:
        close_old_connections()
        logger.error("MPPS N-CREATE from %s: database unavailable: %s", peer.description, exc)
        return _status(PROCESSING_FAILURE, "Database unavailable"), None
    return 0x0000, attributes


def handle_mpps_set(event: evt.Event, registry: AssociationRegistry) -> NResponse:
    """EVT_N_SET on MPPS: a modality updates, completes or discontinues a step (PS3.4 F.7.2.2)."""
    peer = registry.peer(event.assoc)
    registry.note(event.assoc, "MPPS N-SET")
    if not peer.known:
        return NOT_AUTHORIZED, None
    modifications = event.modification_list
    uid = str(event.request.RequestedSOPInstanceUID or "")
    try:
        performed_step_update(organization=peer.organization, sop_instance_uid=uid, modifications=modifications)
    except MppsError as exc:
        logger.info("MPPS N-SET %s from %s refused: %s", uid, peer.description, exc.comment)
        return _status(exc.status, exc.comment), None
    except DatabaseError as exc:
        close_old_connections()
        logger.error("MPPS N-SET from %s: database unavailable: %s", peer.description, exc)
        return _status(PROCESSING_FAILURE, "Database unavailable"), None
    return 0x0000, modifications


def services_register() -> None:
    """Have the archive's AE serve the worklist and MPPS."""
    service_register(sop_class=ModalityWorklistInformationFind, event=evt.EVT_C_FIND, handler=handle_worklist_find)
    service_register(sop_class=ModalityPerformedProcedureStep, event=evt.EVT_N_CREATE, handler=handle_mpps_create)
    service_register(sop_class=ModalityPerformedProcedureStep, event=evt.EVT_N_SET, handler=handle_mpps_set)
