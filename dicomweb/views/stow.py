"""STOW-RS, Store Instances (PS3.18 10.5): multipart/related application/dicom into the ingest pipeline.

Each part is stored on its own: the good instances of a request are kept even when others fail, and
each failure is reported with its Failure Reason (the DICOM status of ``DicomStatusError``). HTTP status
per PS3.18 10.5.3: 200 all stored, 202 some failed, 409 all failed, 400 malformed request, 413 body
over ``PACS_MAX_UPLOAD_BYTES``, 415 not multipart/related application/dicom.
"""

from __future__ import annotations

import io
import logging

import pydicom
from django.conf import settings
from django.http import HttpResponse, JsonResponse

from dicomweb.multipart import BodyTooLarge, MultipartError, iter_parts, parse_content_type
from dicomweb.views.base import dicomweb_root_url, request_organization
from pacs.ingest import DicomStatusError, IngestOrigin, IngestResult, instances_ingest
from pacs.ingest import errors as status

logger = logging.getLogger(__name__)

DICOM = "application/dicom"
# Attribute tags of the response (PS3.18 Table 10.5.3-2).
RETRIEVE_URL = "00081190"
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
REFERENCED_SOP_CLASS_UID = "00081150"
REFERENCED_SOP_INSTANCE_UID = "00081155"
FAILURE_REASON = "00081197"
WARNING_REASON = "00081196"
# Warning Reason 0xB000 "Coercion of data elements" is the closest standard code for "already stored".


def store_instances(request, study: str | None = None) -> HttpResponse:  # type: ignore[no-untyped-def]
    """Store the instances of a STOW-RS request; ``study`` when the URL names the target study."""
    organization = request_organization(request)
    content_type = request.META.get("CONTENT_TYPE", "")
    media_type, params = parse_content_type(content_type) if content_type else ("", {})
    if media_type != "multipart/related":
        return _error(415, f'Content-Type must be multipart/related; type="{DICOM}", not {content_type!r}')
    part_type = params.get("type", DICOM).lower()
    if part_type != DICOM:
        return _error(415, f'Only type="{DICOM}" is supported, not {part_type!r}')
    boundary = params.get("boundary")
    if not boundary:
        return _error(400, "The multipart/related Content-Type has no boundary parameter")
    declared_length = _content_length(request)
    limit = settings.PACS_MAX_UPLOAD_BYTES
    if declared_length is not None and declared_length > limit:
        return _error(413, f"The body of {declared_length} bytes is over the limit of {limit} bytes")

    user = request.user
    origin = IngestOrigin(
        kind="stow",
        organization=organization,
        description=f"user {user.get_username()} from {request.META.get('REMOTE_ADDR', '?')}",
        expected_study_uid=study,
    )
    stored: list[IngestResult] = []
    failed: list[dict] = []
    pending = _PendingParts()

    def ingest_pending() -> None:
        outcomes = instances_ingest(sources=pending.bodies, origin=origin)
        for number, body, outcome in zip(pending.numbers, pending.bodies, outcomes, strict=True):
            if isinstance(outcome, DicomStatusError):
                logger.info("STOW part %d refused: %s", number, outcome)
                failed.append(_failure(outcome.status, outcome.comment, body=body))
            else:
                stored.append(outcome)
        pending.clear()

    try:
        for index, part in enumerate(iter_parts(request._request, boundary, max_bytes=limit), start=1):
            part_media_type = parse_content_type(part.content_type)[0] if part.content_type else DICOM
            if part_media_type != DICOM:
                failed.append(_failure(status.CANNOT_UNDERSTAND, f"part {index} is {part_media_type}"))
                continue
            pending.add(index, part.body)
            if pending.full():
                ingest_pending()
    except BodyTooLarge:
        ingest_pending()
        if not stored:
            return _error(413, f"The body is over the limit of {limit} bytes")
        failed.append(_failure(status.OUT_OF_RESOURCES, f"the rest of the body is over {limit} bytes"))
    except MultipartError as exc:
        ingest_pending()
        if not stored and not failed:
            return _error(400, str(exc))
        failed.append(_failure(status.CANNOT_UNDERSTAND, str(exc)))
    ingest_pending()

    if not stored and not failed:
        return _error(400, "The request has no parts")
    http_status = 200 if not failed else (409 if not stored else 202)
    response = JsonResponse(
        _response_dataset(request, stored, failed, study), status=http_status, content_type="application/dicom+json"
    )
    if failed:
        response["Warning"] = ", ".join(_warning_text(item) for item in failed[:20])
    return response


class _PendingParts:
    """Parts read but not yet stored: indexed together, up to a count and a size held in memory."""

    MAX_PARTS = 64
    MAX_BYTES = 64 * 1024 * 1024

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.bodies: list[bytes] = []
        self.size = 0

    def add(self, number: int, body: bytes) -> None:
        self.numbers.append(number)
        self.bodies.append(body)
        self.size += len(body)

    def full(self) -> bool:
        return len(self.bodies) >= self.MAX_PARTS or self.size >= self.MAX_BYTES

    def clear(self) -> None:
        self.numbers.clear()
        self.bodies.clear()
        self.size = 0


def _warning_text(item: dict) -> str:
    uid = item.get(REFERENCED_SOP_INSTANCE_UID, {}).get("Value", ["(unidentified part)"])[0]
    reason = item[FAILURE_REASON]["Value"][0]
    comment = item["_comment"].replace('"', "'")
    return f'299 pacs: "{uid}: 0x{reason:04X} {comment}"'


def _content_length(request) -> int | None:  # type: ignore[no-untyped-def]
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _failure(reason: int, comment: str, body: bytes | None = None) -> dict:
    """A FailedSOPSequence item; the UIDs are read from the part when it is parseable enough."""
    sop_class, sop_instance = _identify(body) if body else ("", "")
    item: dict = {FAILURE_REASON: {"vr": "US", "Value": [reason]}}
    if sop_class:
        item[REFERENCED_SOP_CLASS_UID] = {"vr": "UI", "Value": [sop_class]}
    if sop_instance:
        item[REFERENCED_SOP_INSTANCE_UID] = {"vr": "UI", "Value": [sop_instance]}
    # The response's IOD has no text for the reason: the words go to the log and the Warning header.
    item["_comment"] = comment
    return item


def _identify(body: bytes) -> tuple[str, str]:
    try:
        dataset = pydicom.dcmread(
            io.BytesIO(body), stop_before_pixels=True, force=True, specific_tags=["SOPClassUID", "SOPInstanceUID"]
        )
        return str(dataset.get("SOPClassUID", "")), str(dataset.get("SOPInstanceUID", ""))
    except Exception:  # noqa: BLE001 - unparseable is exactly why it failed
        return "", ""


def _response_dataset(request, stored: list[IngestResult], failed: list[dict], study: str | None) -> dict:  # type: ignore[no-untyped-def]
    base = dicomweb_root_url(request)
    response: dict = {}
    study_uids = {result.study_instance_uid for result in stored}
    target_study = study or (next(iter(study_uids)) if len(study_uids) == 1 else None)
    if target_study:
        response[RETRIEVE_URL] = {"vr": "UR", "Value": [f"{base}/studies/{target_study}"]}
    if stored:
        items = []
        for result in stored:
            item = {
                REFERENCED_SOP_CLASS_UID: {"vr": "UI", "Value": [result.sop_class_uid]},
                REFERENCED_SOP_INSTANCE_UID: {"vr": "UI", "Value": [result.sop_instance_uid]},
                RETRIEVE_URL: {
                    "vr": "UR",
                    "Value": [
                        f"{base}/studies/{result.study_instance_uid}/series/{result.series_instance_uid}"
                        f"/instances/{result.sop_instance_uid}"
                    ],
                },
            }
            if result.outcome == "duplicate":
                item[WARNING_REASON] = {"vr": "US", "Value": [0xB000]}
            items.append(item)
        response[REFERENCED_SOP_SEQUENCE] = {"vr": "SQ", "Value": items}
    if failed:
        response[FAILED_SOP_SEQUENCE] = {
            "vr": "SQ",
            "Value": [{k: v for k, v in item.items() if not k.startswith("_")} for item in failed],
        }
    return response


def _error(http_status: int, reason: str) -> HttpResponse:
    logger.info("STOW request refused with %d: %s", http_status, reason)
    response = JsonResponse({"error": reason}, status=http_status)
    response["Warning"] = f'299 pacs: "{reason}"'
    return response
