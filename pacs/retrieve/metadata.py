"""Series and study metadata (PS3.18 10.4.1.1.2 Retrieve Metadata): DICOM JSON precomputed per series.

The series' JSON array is built from the index (``Instance.metadata``; no file is read) by a task queued
after every ingest, and kept on disk as ``{PACS_CACHE_ROOT}/series-metadata/{id}/{created}-{version}.json``,
keyed by ``Series.metadata_version``, which every change to the series bumps in the same transaction. A
request for a version not yet built builds it on the spot, so the cache is an accelerator only.

BulkDataURIs must be absolute (PS3.18 F.2.6), yet the address the archive is reached by differs between
callers (behind a proxy, by IP, by name). The cached bytes hold :data:`BASE_PLACEHOLDER` where the
DICOMweb root goes, and :func:`with_base_url` puts the request's root in at serve time: one replace over
bytes, cheaper than any JSON work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from pydicom.datadict import tag_for_keyword

from pacs import storage
from pacs.dicomjson import BULK_MARKER_PREFIX
from pacs.models import Instance, Series

logger = logging.getLogger(__name__)

# NUL characters never survive into index JSON (pydicom strips them as padding), so this cannot occur
# in a value; json.dumps writes it as the escaped text in BASE_PLACEHOLDER_BYTES.
BASE_PLACEHOLDER = "\x00dicomweb\x00"
BASE_PLACEHOLDER_BYTES = json.dumps(BASE_PLACEHOLDER)[1:-1].encode()
# Available Transfer Syntax UID (PS3.18 10.4.1.1.2 note): how each instance is stored, so a viewer can
# ask for its frames in that syntax.
AVAILABLE_TRANSFER_SYNTAX = f"{tag_for_keyword('AvailableTransferSyntaxUID'):08X}"
_CACHE_FOLDER = "series-metadata"


def with_base_url(content: bytes, base_url: str) -> bytes:
    """Make the BulkDataURIs in cached metadata absolute: ``base_url`` is the DICOMweb root URL."""
    return content.replace(BASE_PLACEHOLDER_BYTES, json.dumps(base_url.rstrip("/"))[1:-1].encode())


def json_bytes(items: list[dict[str, Any]]) -> bytes:
    """DICOM JSON as compact UTF-8 (PS3.18 F.2): the encoding every metadata response uses."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()


def instance_metadata_json(
    *, metadata: dict[str, Any], study_uid: str, series_uid: str, sop_uid: str, transfer_syntax_uid: str
) -> dict[str, Any]:
    """One instance's metadata object with absolute BulkDataURIs (under the placeholder root)."""
    prefix = f"{BASE_PLACEHOLDER}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/"
    result: dict[str, Any] = {}
    for key, element in metadata.items():
        uri = element.get("BulkDataURI")
        if uri is not None and uri.startswith(BULK_MARKER_PREFIX):
            element = {**element, "BulkDataURI": prefix + uri}
        result[key] = element
    result[AVAILABLE_TRANSFER_SYNTAX] = {"vr": "UI", "Value": [transfer_syntax_uid]}
    return dict(sorted(result.items()))


def series_metadata_cache_build(*, series_id: int) -> Path | None:
    """Build the cache of the series' current metadata version if missing; remove older versions.

    Idempotent, and safe to run concurrently with ingest: what is written under a version holds at
    least that version's instances. Returns the cache file, or None when the series no longer exists.
    """
    built = _series_build(series_id)
    if built is None:
        _remove_versions(series_id, keep=None)
        return None
    return built[0]


def series_metadata_bytes(*, series_id: int) -> bytes:
    """The series' metadata array (with the base placeholder), from the cache or built now."""
    built = _series_build(series_id)
    if built is None:
        return b"[]"
    path, content = built
    return content if content is not None else path.read_bytes()


def study_metadata_chunks(*, series_ids: list[int]) -> Iterator[bytes]:
    """The study's metadata array: the concatenation of its series' cached arrays, streamed."""
    yield b"["
    first = True
    for series_id in series_ids:
        body = series_metadata_bytes(series_id=series_id).strip()[1:-1].strip()
        if not body:
            continue
        if not first:
            yield b","
        first = False
        yield body
    yield b"]"


def _series_build(series_id: int) -> tuple[Path, bytes | None] | None:
    """Return the cache path of the current version and, if it was just built, its content."""
    with transaction.atomic():
        row = (
            Series.objects.filter(pk=series_id)
            .values_list("metadata_version", "created_at", "series_instance_uid", "study__study_instance_uid")
            .first()
        )
        if row is None:
            return None
        version, created_at, series_uid, study_uid = row
        path = _cache_path(series_id, f"{int(created_at.timestamp() * 1_000_000)}-{version}")
        if path.is_file():
            return path, None
        rows = (
            Instance.objects.filter(series_id=series_id)
            .order_by("instance_number", "sop_instance_uid")
            .values_list("sop_instance_uid", "transfer_syntax_uid", "metadata")
            .iterator(chunk_size=500)
        )
        items = [
            instance_metadata_json(
                metadata=metadata,
                study_uid=study_uid,
                series_uid=series_uid,
                sop_uid=sop_uid,
                transfer_syntax_uid=transfer_syntax,
            )
            for sop_uid, transfer_syntax, metadata in rows
        ]
    content = json_bytes(items)
    current = Series.objects.filter(pk=series_id).values_list("metadata_version", flat=True).first()
    if current == version:
        storage.cache_write(path, content)
        _remove_versions(series_id, keep=path.stem)
    else:
        # The series changed while it was read; the task queued by that change builds the new version.
        logger.debug("Series %s changed from version %s during a metadata build", series_id, version)
    return path, content


def _cache_path(series_id: int, key: str) -> Path:
    # The creation time guards against a reused primary key (a restored database) serving stale files.
    return Path(settings.PACS_CACHE_ROOT) / _CACHE_FOLDER / str(series_id) / f"{key}.json"


def _remove_versions(series_id: int, *, keep: str | None) -> None:
    """Delete the series' cache files older than ``keep`` (all of them when None).

    A newer version written meanwhile by a concurrent build is left alone.
    """
    folder = Path(settings.PACS_CACHE_ROOT) / _CACHE_FOLDER / str(series_id)
    if not folder.is_dir():
        return
    kept_created, _, kept_version = (keep or "").partition("-")
    for entry in folder.glob("*.json"):
        created, _, version = entry.stem.partition("-")
        newer = keep is not None and created == kept_created and int(version) >= int(kept_version)
        if not newer:
            entry.unlink(missing_ok=True)
