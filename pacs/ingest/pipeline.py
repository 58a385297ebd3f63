"""Parse, validate, write the file, index it in one transaction, then queue follow-up work on commit.

Duplicate policy (setting ``PACS_DUPLICATE_POLICY``), for a SOP Instance UID already stored in the same
organization:

- byte-identical content: nothing is written; the caller is answered success (outcome ``duplicate``),
  so a modality that re-sends after a lost response is not told it failed;
- different content, policy ``replace`` (default): the new instance replaces the old one, file and index
  together (outcome ``replaced``); the newest version is what a corrected re-send expects to be served;
- different content, policy ``keep``: the stored instance is kept and the caller is answered success
  (outcome ``duplicate``), as Orthanc does without ``OverwriteInstances``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, OperationalError

from pacs import storage
from pacs.dicomjson import dataset_to_index_json
from pacs.ingest import errors
from pacs.ingest.errors import DicomStatusError
from pacs.ingest.index import index_with_retries
from pacs.ingest.parse import ParsedInstance, frame_index_of, parse_instance
from pacs.models import Instance, Organization
from pacs.signals import instance_stored

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOrigin:
    """Where the bytes came from: decides the organization and what the instance must match."""

    kind: str  # "dimse", "stow", "import", "capture"
    organization: Organization
    description: str = ""
    expected_study_uid: str | None = None
    expected_sop_class_uid: str | None = None
    expected_sop_instance_uid: str | None = None


@dataclass(frozen=True)
class IngestResult:
    instance_id: int
    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    outcome: str  # "stored", "replaced", "duplicate"


def instance_ingest(*, source: bytes | Path, origin: IngestOrigin) -> IngestResult:
    """Store one Part 10 instance durably; raise :class:`DicomStatusError` with the status to answer."""
    buffer = _read_source(source)
    parsed = parse_instance(buffer)
    _validate(parsed, origin)

    try:
        existing = (
            Instance.objects.filter(series__study__organization=origin.organization, sop_instance_uid=parsed.sop_uid)
            .select_related("series__study")
            .first()
        )
    except OperationalError as exc:
        raise DicomStatusError(errors.OUT_OF_RESOURCES, "Database unavailable") from exc
    if existing is not None and (existing.file_sha256 == parsed.sha256 or settings.PACS_DUPLICATE_POLICY == "keep"):
        return _result(existing.pk, parsed, "duplicate")

    relative_path = storage.instance_relative_path(
        organization_slug=origin.organization.slug,
        study_uid=parsed.study_uid,
        series_uid=parsed.series_uid,
        sop_uid=parsed.sop_uid,
        variant=parsed.sha256[:12] if existing is not None else "",
    )
    frame_index = frame_index_of(parsed)
    index_json = dataset_to_index_json(parsed.dataset)
    try:
        storage.write_atomic(relative_path, [parsed.buffer])
    except OSError as exc:
        logger.error("Could not write %s: %s", relative_path, exc)
        raise DicomStatusError(errors.OUT_OF_RESOURCES, f"Storage unavailable: {exc.strerror}") from exc

    try:
        old_path = existing.file_path if existing is not None else None
        instance_id = index_with_retries(
            parsed=parsed,
            organization=origin.organization,
            relative_path=relative_path,
            frame_index=frame_index,
            index_json=index_json,
            replacing=existing,
            on_commit=lambda instance: _after_commit(instance, origin, old_path),
        )
    except BaseException:
        _discard_unindexed(relative_path)
        raise
    outcome = "replaced" if existing is not None else "stored"
    logger.info(
        "Stored %s (%s) from %s %s: %s", parsed.sop_uid, outcome, origin.kind, origin.description, relative_path
    )
    return _result(instance_id, parsed, outcome)


def _discard_unindexed(relative_path: str) -> None:
    """Remove a file whose indexing failed, unless a concurrent ingest of the same instance (a retry
    on another association) indexed that very path; when the database cannot say, keep the file: an
    orphan file costs disk, a deleted indexed one loses an image."""
    try:
        if Instance.objects.filter(file_path=relative_path).exists():
            return
    except DatabaseError:
        logger.warning("Keeping %s: cannot tell whether it is indexed", relative_path)
        return
    storage.delete(relative_path)


def _result(instance_id: int, parsed: ParsedInstance, outcome: str) -> IngestResult:
    return IngestResult(
        instance_id=instance_id,
        sop_class_uid=parsed.sop_class_uid,
        sop_instance_uid=parsed.sop_uid,
        study_instance_uid=parsed.study_uid,
        series_instance_uid=parsed.series_uid,
        outcome=outcome,
    )


def _read_source(source: bytes | Path) -> bytes:
    if isinstance(source, Path):
        try:
            return source.read_bytes()
        except OSError as exc:
            raise DicomStatusError(errors.PROCESSING_FAILURE, f"Cannot read {source.name}: {exc.strerror}") from exc
    return bytes(source)


def _validate(parsed: ParsedInstance, origin: IngestOrigin) -> None:
    if origin.expected_study_uid and parsed.study_uid != origin.expected_study_uid:
        raise DicomStatusError(
            errors.DATASET_DOES_NOT_MATCH,
            f"Instance belongs to study {parsed.study_uid}, not {origin.expected_study_uid}",
        )
    if origin.expected_sop_instance_uid and parsed.sop_uid != origin.expected_sop_instance_uid:
        raise DicomStatusError(
            errors.DATASET_DOES_NOT_MATCH,
            f"SOP Instance UID {parsed.sop_uid} differs from the request's {origin.expected_sop_instance_uid}",
        )
    if origin.expected_sop_class_uid and parsed.sop_class_uid != origin.expected_sop_class_uid:
        raise DicomStatusError(
            errors.DATASET_DOES_NOT_MATCH,
            f"SOP Class {parsed.sop_class_uid} differs from the negotiated {origin.expected_sop_class_uid}",
        )


def _after_commit(instance: Instance, origin: IngestOrigin, old_path: str | None) -> None:
    from pacs.tasks import series_metadata_build_soon

    if old_path:
        storage.delete(old_path)
    series_metadata_build_soon(instance.series_id)
    instance_stored.send(
        sender=Instance,
        instance_id=instance.pk,
        series_id=instance.series_id,
        study_id=instance.series.study_id,
        organization_id=origin.organization.pk,
        origin_kind=origin.kind,
        outcome="replaced" if old_path else "stored",
    )
