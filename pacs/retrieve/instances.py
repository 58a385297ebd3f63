"""Select the stored instances of a study, series or instance for one organization, and read them.

These are the selectors every retrieval starts from (WADO-RS PS3.18 10.4, WADO-URI PS3.18 9, C-GET and
C-MOVE PS3.4 C.4.2 and C.4.3): the UIDs are always matched inside the caller's organization, so another
organization's data is indistinguishable from data that does not exist.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from pydicom.dataset import Dataset

from pacs import storage
from pacs.models import Instance, Organization, Series
from pacs.retrieve import codecs
from pacs.retrieve.errors import NotFound

CHUNK_SIZE = 1024 * 1024

_FIELDS = (
    "pk",
    "series__study__study_instance_uid",
    "series__series_instance_uid",
    "sop_instance_uid",
    "sop_class_uid",
    "transfer_syntax_uid",
    "file_path",
    "file_size",
    "number_of_frames",
)


@dataclass(frozen=True)
class StoredInstance:
    """What retrieval needs to know of an instance, without its (large) metadata."""

    pk: int
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    file_path: str
    file_size: int
    number_of_frames: int
    # Loaded only when frames are asked for: a multi-frame index can be large.
    frame_index: list[list[list[int]]] = field(default_factory=list)


def instances_select(
    *,
    organization: Organization,
    study_uid: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    with_frame_index: bool = False,
) -> list[StoredInstance]:
    """The instances the UIDs name, in series then instance number order; :class:`NotFound` if none.

    ``with_frame_index``: each with its frame index, for reading their frames (one query for them all).
    """
    queryset = Instance.objects.filter(
        series__study__organization=organization, series__study__study_instance_uid=study_uid
    )
    if series_uid is not None:
        queryset = queryset.filter(series__series_instance_uid=series_uid)
    if sop_uid is not None:
        queryset = queryset.filter(sop_instance_uid=sop_uid)
    fields = (*_FIELDS, "frame_index") if with_frame_index else _FIELDS
    rows = queryset.order_by("series__series_number", "series_id", "instance_number", "pk").values_list(*fields)
    instances = [StoredInstance(*row) for row in rows]
    if not instances:
        raise NotFound(_not_found_reason(study_uid, series_uid, sop_uid))
    return instances


def instance_get(
    *, organization: Organization, study_uid: str, series_uid: str, sop_uid: str, with_frame_index: bool = False
) -> StoredInstance:
    """One instance, with its frame index when asked; :class:`NotFound` if the caller cannot see it.

    The most frequent query of the archive (one per frame a viewer fetches): its SQL is compiled once
    per database and reused, which saves the ORM's compilation on every call.
    """
    sql, order = _instance_get_sql(connection.vendor, with_frame_index)
    values = {"organization": organization.pk, "study": study_uid, "series": series_uid, "sop": sop_uid}
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[name] for name in order])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_not_found_reason(study_uid, series_uid, sop_uid))
    if with_frame_index and isinstance(row[-1], str):
        row = (*row[:-1], json.loads(row[-1]))
    return StoredInstance(*row)


# Stand-ins the compiled SQL's parameters are recognised by, then replaced with each call's values.
_SENTINELS: dict[str, int | str] = {
    "organization": -73_019_284,
    "study": "\x01study-uid",
    "series": "\x01series-uid",
    "sop": "\x01sop-uid",
}


@functools.cache
def _instance_get_sql(vendor: str, with_frame_index: bool) -> tuple[str, tuple[str, ...]]:
    fields = (*_FIELDS, "frame_index") if with_frame_index else _FIELDS
    # The constraints make the match unique: a study UID once per organization, a series UID once
    # per study, a SOP Instance UID once per series.
    queryset = Instance.objects.filter(
        series__study__organization_id=_SENTINELS["organization"],
        series__study__study_instance_uid=_SENTINELS["study"],
        series__series_instance_uid=_SENTINELS["series"],
        sop_instance_uid=_SENTINELS["sop"],
    ).values_list(*fields)
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    names = {value: name for name, value in _SENTINELS.items()}
    order = tuple(names[param] for param in params)  # a KeyError here means the query changed shape
    return sql, order


def series_ids_select(*, organization: Organization, study_uid: str, series_uid: str | None = None) -> list[int]:
    """The primary keys of a study's series (or of one series), in series number order; :class:`NotFound` if none."""
    queryset = Series.objects.filter(study__organization=organization, study__study_instance_uid=study_uid)
    if series_uid is not None:
        queryset = queryset.filter(series_instance_uid=series_uid)
    series_ids = list(queryset.order_by("series_number", "pk").values_list("pk", flat=True))
    if not series_ids:
        raise NotFound(_not_found_reason(study_uid, series_uid, None))
    return series_ids


def instance_metadata(instance: StoredInstance) -> dict:
    """The instance's top-level DICOM JSON as indexed (bulk data as relative markers)."""
    return Instance.objects.values_list("metadata", flat=True).get(pk=instance.pk)


def instance_stream(instance: StoredInstance, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The stored Part 10 bytes, untouched, in chunks: a large instance never sits in memory whole."""
    with storage.open_binary(instance.file_path) as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


def instance_bytes(instance: StoredInstance) -> bytes:
    """The stored Part 10 bytes, untouched: what C-GET/C-MOVE send when the stored syntax was accepted."""
    with storage.open_binary(instance.file_path) as handle:
        return handle.read()


def instance_dataset(instance: StoredInstance, *, transfer_syntax: str | None = None) -> Dataset:
    """The instance as a dataset, converted to ``transfer_syntax`` when given (for C-GET/C-MOVE).

    Raises :class:`pacs.retrieve.codecs.CodecError` when that syntax cannot be produced.
    """
    dataset = codecs.dataset_read(storage.absolute_path(instance.file_path))
    if transfer_syntax is not None:
        codecs.dataset_transcode(dataset, transfer_syntax)
    return dataset


def instance_file(instance: StoredInstance) -> Path | None:
    """The stored Part 10 file of the instance, to be sent as it is; None when it is missing."""
    path = storage.absolute_path(instance.file_path)
    return path if path.is_file() else None


def instance_element_bytes(instance: StoredInstance, tag: int) -> bytes:
    """The value of one top-level bulk data element of the stored file (what a BulkDataURI points at)."""
    return codecs.element_value_bytes(storage.absolute_path(instance.file_path), tag)


def instance_transcoded_bytes(instance: StoredInstance, transfer_syntax: str) -> bytes:
    """The Part 10 bytes of the instance converted to ``transfer_syntax`` (the stored bytes if equal)."""
    if instance.transfer_syntax_uid == transfer_syntax:
        return instance_bytes(instance)
    return codecs.dataset_to_part10(instance_dataset(instance, transfer_syntax=transfer_syntax))


def _not_found_reason(study_uid: str, series_uid: str | None, sop_uid: str | None) -> str:
    if sop_uid is not None:
        return f"No instance {sop_uid} in series {series_uid} of study {study_uid}"
    if series_uid is not None:
        return f"No series {series_uid} in study {study_uid}"
    return f"No study {study_uid}"
