"""What a retrieval can fail with, each error carrying the HTTP status DICOMweb answers (PS3.18 10.4.3).

The same errors reach C-GET and C-MOVE, which translate them to DIMSE statuses of their own:

- :class:`NotFound` (404): the UIDs name nothing the caller's organization holds;
- :class:`BadRequest` (400): a malformed parameter, such as a frame number beyond the instance's frames;
- :class:`NotAcceptable` (406): no media type or transfer syntax the caller accepts can be produced,
  including a stored syntax the installed codecs cannot decode (:class:`pacs.retrieve.codecs.CodecError`).
"""

from __future__ import annotations


class RetrieveError(Exception):
    http_status = 500

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(RetrieveError):
    http_status = 404


class BadRequest(RetrieveError):
    http_status = 400


class NotAcceptable(RetrieveError):
    http_status = 406
