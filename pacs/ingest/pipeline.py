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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, OperationalError

from pacs import storage
from pacs.dicomjson import dataset_to_index_json
from pacs.ingest import errors
from pacs.ingest.errors import DicomStatusError
from pacs.ingest.index import IndexItem, index_with_retries
from pacs.ingest.parse import ParsedInstance, frame_index_of, parse_instance
from pacs.models import Instance, Organization, Series
from pacs.signals import instance_stored, studies_stored

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
    outcome = instances_ingest(sources=[source], origin=origin)[0]
    if isinstance(outcome, DicomStatusError):
        raise outcome
    return outcome


def instances_ingest(*, sources: Sequence[bytes | Path], origin: IngestOrigin) -> list[IngestResult | DicomStatusError]:
    """Store several instances, each durably, with one index transaction for the batch.

    Returns, in the order of ``sources``, each instance's result or the error to answer for it: one
    bad instance never costs the others. Used where several instances arrive together (a STOW-RS
    request, an import); a modality's C-STORE is a batch of one.
    """
    outcomes: list[IngestResult | DicomStatusError | None] = [None] * len(sources)
    parsed_items: list[tuple[int, ParsedInstance]] = []
    for position, source in enumerate(sources):
        try:
            parsed = parse_instance(_read_source(source))
            _validate(parsed, origin)
        except DicomStatusError as exc:
            outcomes[position] = exc
            continue
        parsed_items.append((position, parsed))

    try:
        existing = _stored_instances(origin.organization, [parsed.sop_uid for _, parsed in parsed_items])
    except OperationalError as exc:
        error = DicomStatusError(errors.OUT_OF_RESOURCES, "Database unavailable")
        error.__cause__ = exc
        for position, _parsed in parsed_items:
            outcomes[position] = error
        return _complete(outcomes)

    batch: list[tuple[int, ParsedInstance, Instance | None]] = []
    repeated: list[tuple[int, ParsedInstance]] = []
    seen: set[str] = set()
    for position, parsed in parsed_items:
        if parsed.sop_uid in seen:
            # The same instance twice in one batch: the second is handled once the first is indexed.
            repeated.append((position, parsed))
            continue
        seen.add(parsed.sop_uid)
        old = existing.get(parsed.sop_uid)
        if old is not None and (old.file_sha256 == parsed.sha256 or settings.PACS_DUPLICATE_POLICY == "keep"):
            outcomes[position] = _result(old.pk, parsed, "duplicate")
        else:
            batch.append((position, parsed, old))
    _store(batch, origin, outcomes)
    for position, parsed in repeated:
        outcomes[position] = instances_ingest(sources=[parsed.buffer], origin=origin)[0]
    return _complete(outcomes)


def _stored_instances(organization: Organization, sop_uids: list[str]) -> dict[str, Instance]:
    if not sop_uids:
        return {}
    # Looked up by UID alone, the organization checked after: joined to series and studies and filtered
    # on the organization, PostgreSQL walked every study of the organization whenever its statistics
    # were older than the last big load (3.5 ms a STOW-RS batch at 150 studies, and growing) instead of
    # using the UID index. Almost always nothing is found and the second query is not needed.
    rows = list(
        Instance.objects.filter(sop_instance_uid__in=sop_uids).only(
            "series_id", "sop_instance_uid", "file_sha256", "file_path", "file_size"
        )
    )
    if not rows:
        return {}
    organization_of_series = dict(
        Series.objects.filter(pk__in={row.series_id for row in rows}).values_list("pk", "study__organization_id")
    )
    return {row.sop_instance_uid: row for row in rows if organization_of_series[row.series_id] == organization.pk}


def _store(
    batch: list[tuple[int, ParsedInstance, Instance | None]],
    origin: IngestOrigin,
    outcomes: list[IngestResult | DicomStatusError | None],
) -> None:
    """Write the files, then index them together; every position of ``batch`` gets its outcome."""
    written: list[tuple[int, IndexItem]] = []
    for position, parsed, old in batch:
        relative_path = storage.instance_relative_path(
            organization_slug=origin.organization.slug,
            study_uid=parsed.study_uid,
            series_uid=parsed.series_uid,
            sop_uid=parsed.sop_uid,
            variant=parsed.sha256[:12] if old is not None else "",
        )
        try:
            storage.write_atomic(relative_path, [parsed.buffer], sync_directory=False)
        except OSError as exc:
            logger.error("Could not write %s: %s", relative_path, exc)
            outcomes[position] = DicomStatusError(errors.OUT_OF_RESOURCES, f"Storage unavailable: {exc.strerror}")
            continue
        item = IndexItem(
            parsed=parsed,
            relative_path=relative_path,
            frame_index=frame_index_of(parsed),
            index_json=dataset_to_index_json(parsed.dataset),
            replacing=old,
        )
        written.append((position, item))
    if not written:
        return
    try:
        storage.directories_sync(item.relative_path for _, item in written)
    except OSError as exc:
        logger.error("Could not make the stored files durable: %s", exc)
        for position, item in written:
            storage.delete(item.relative_path)
            outcomes[position] = DicomStatusError(errors.OUT_OF_RESOURCES, f"Storage unavailable: {exc.strerror}")
        return
    _index_written(written, origin, outcomes)


def _index_written(
    written: list[tuple[int, IndexItem]],
    origin: IngestOrigin,
    outcomes: list[IngestResult | DicomStatusError | None],
) -> None:
    items = [item for _, item in written]
    replaced = [item.replacing for item in items if item.replacing is not None]
    try:
        instance_ids = index_with_retries(
            items=items,
            organization=origin.organization,
            on_commit=lambda instances, new_study_ids: _after_commit(instances, new_study_ids, origin, replaced),
        )
    except DicomStatusError as exc:
        if len(written) > 1 and exc.status != errors.OUT_OF_RESOURCES:
            # One instance may be what the batch tripped on: give each its own transaction.
            for entry in written:
                _index_written([entry], origin, outcomes)
            return
        for position, item in written:
            _discard_unindexed(item.relative_path)
            outcomes[position] = exc
        return
    except BaseException:
        for _position, item in written:
            _discard_unindexed(item.relative_path)
        raise
    for (position, item), instance_id in zip(written, instance_ids, strict=True):
        outcome = "replaced" if item.replacing is not None else "stored"
        logger.info(
            "Stored %s (%s) from %s %s: %s",
            item.parsed.sop_uid,
            outcome,
            origin.kind,
            origin.description,
            item.relative_path,
        )
        outcomes[position] = _result(instance_id, item.parsed, outcome)


def _complete(outcomes: list[IngestResult | DicomStatusError | None]) -> list[IngestResult | DicomStatusError]:
    assert all(outcome is not None for outcome in outcomes), "every instance gets an outcome"
    return outcomes  # type: ignore[return-value]


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


def _after_commit(
    instances: list[Instance], new_study_ids: list[int], origin: IngestOrigin, replaced: list[Instance]
) -> None:
    from pacs.tasks import series_metadata_build_soon

    for old in replaced:
        storage.delete(old.file_path)
    minimum = settings.PACS_METADATA_PRECOMPUTE_MIN_INSTANCES
    new_series = {instance.series_id for instance in instances}
    series_metadata_build_soon(
        *(instance.series_id for instance in instances if instance.series.number_of_instances >= minimum),
        # A series an instance moved out of: its cached metadata and RLE copy are brought up to date, or
        # removed with it when that was its last instance (the builds clean up after a gone series).
        *(old.series_id for old in replaced if old.series_id not in new_series),
    )
    replaced_sops = {old.sop_instance_uid for old in replaced}
    for instance in instances:
        instance_stored.send(
            sender=Instance,
            instance_id=instance.pk,
            series_id=instance.series_id,
            study_id=instance.series.study_id,
            organization_id=origin.organization.pk,
            origin_kind=origin.kind,
            outcome="replaced" if instance.sop_instance_uid in replaced_sops else "stored",
        )
    studies_stored.send(
        sender=Instance,
        organization_id=origin.organization.pk,
        study_ids=list(dict.fromkeys(instance.series.study_id for instance in instances)),
        new_study_ids=new_study_ids,
        origin_kind=origin.kind,
    )
