"""Query/Retrieve C-FIND SCP (PS3.4 C.4.1) over the shared query engine, Patient Root and Study Root.

The identifier becomes one query of the engine (the same one QIDO-RS uses), run in the calling AE's
organization. Results are fetched a page at a time and each is sent as a Pending response as soon as it
is ready, so the first match reaches the SCU without waiting for the last; a C-CANCEL is honoured
between responses with a Cancel response (PS3.4 C.4.1.2.3). Each response is in the character set the
identifier named when it can hold the text, otherwise in UTF-8 (PS3.4 C.4.1.1.3.1, done by the engine).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import Error as DatabaseError
from django.db import close_old_connections
from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.sop_class import PatientRootQueryRetrieveInformationModelFind

from pacs.dimse.associations import AssociationRegistry
from pacs.query.engine import QueryError, dataset_from_json, query_execute, query_from_identifier

logger = logging.getLogger(__name__)

PENDING = 0xFF00
CANCEL = 0xFE00
OUT_OF_RESOURCES = 0xA700
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
PAGE_SIZE = 200

FindResponse = tuple[int | Dataset, Dataset | None]


def _status(status: int, comment: str) -> Dataset:
    response = Dataset()
    response.Status = status
    response.ErrorComment = comment[:64]
    return response


def handle_find(event: evt.Event, registry: AssociationRegistry) -> Iterator[FindResponse]:
    """EVT_C_FIND: one Pending response per match, then pynetdicom's final Success (or a failure)."""
    peer = registry.peer(event.assoc)
    registry.note(event.assoc, "C-FIND")
    model = "PATIENT" if str(event.context.abstract_syntax) == PatientRootQueryRetrieveInformationModelFind else "STUDY"
    try:
        identifier = event.identifier
        level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
        query = query_from_identifier(identifier, level, model=model)
    except (QueryError, ValueError) as exc:
        # An unknown level, a key the level cannot match, a malformed value (PS3.4 C.4.1.1.4: A900).
        logger.info("C-FIND from %s refused: %s", peer.description, exc)
        yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
        return
    except Exception as exc:  # noqa: BLE001 - an identifier pydicom cannot decode
        yield _status(UNABLE_TO_PROCESS, f"Cannot read the identifier: {exc}"), None
        return
    character_set = identifier.get("SpecificCharacterSet")
    retrieve_ae_title = event.assoc.acceptor.ae_title
    offset = 0
    while True:
        if event.is_cancelled:
            yield CANCEL, None
            return
        try:
            rows, more = query_execute(query, organization=peer.organization, limit=PAGE_SIZE, offset=offset)
        except QueryError as exc:
            yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
            return
        except DatabaseError as exc:
            close_old_connections()
            logger.error("C-FIND from %s: database unavailable: %s", peer.description, exc)
            yield _status(OUT_OF_RESOURCES, "Database unavailable"), None
            return
        for row in rows:
            if event.is_cancelled:
                yield CANCEL, None
                return
            response = dataset_from_json(row, character_set=character_set)
            response.QueryRetrieveLevel = level
            # Where the match can be retrieved from (PS3.4 C.4.1.2.2.1): this AE, by C-MOVE or C-GET.
            response.RetrieveAETitle = retrieve_ae_title
            yield PENDING, response
        if not more:
            return
        offset += PAGE_SIZE
