"""A lossless RLE copy of each large series' uncompressed pixel data, for viewers that load whole series.

A viewer opening a 2,000-slice CT reads a gigabyte of 16-bit pixels. The same pixels in RLE Lossless
(PS3.5 Annex G) are about half that on CT (1.9:1 on the benchmark's CT), and they decode with a byte loop
that a browser runs in WebAssembly faster than it reads the bytes it saves. Encoding on request would
cost the server 5 ms a slice, so the worker encodes each large series once, after its burst of
instances has paused (with the metadata, see ``pacs.tasks``), and the series' Retrieve Pixel Data
resource sends the copy to a client that asks for ``image/dicom-rle`` (``dicomweb.views.wado``).

The copy is a cache: ``{PACS_CACHE_ROOT}/series-rle/{series id}/`` holds the frames end to end in a data
file and ``index.json``, which names that file and, per SOP Instance UID, the stored file the frames
were encoded from and each frame's byte range. A frame is served from the copy only while its instance
still points at that stored file (a correction or a replacement writes a new file), so an instance that
arrived or changed since the copy was made is simply sent as stored. Rebuilding reuses the frames of
the instances that did not change, and remembers the ones found not worth copying (by their stored
file), so a noisy series is not encoded again at the end of every burst.

Only grey 16-bit instances stored uncompressed little endian, with a frame index, are copied: the frames
a viewer decodes itself, and the ones whose size matters. A frame that RLE would not shrink by a tenth
leaves its instance out.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from pydicom.pixels import get_encoder
from pydicom.uid import RLELossless

from pacs import storage
from pacs.models import Instance, Series
from pacs.retrieve import codecs
from pacs.retrieve.instances import StoredInstance

logger = logging.getLogger(__name__)

COPY_SYNTAX = str(RLELossless)
_FOLDER = "series-rle"
_INDEX = "index.json"
# A frame must shrink to this fraction of its raw size, or sending it raw is as good.
_WORTHWHILE_RATIO = 0.9


@dataclass(frozen=True)
class CopiedInstance:
    """Where an instance's frames are in a copy, and which stored file they were encoded from."""

    file_path: str
    frames: list[tuple[int, int]]  # (offset, length) in the data file, frame 1 first


@dataclass(frozen=True)
class SeriesCopy:
    """A series' RLE copy as its index describes it."""

    data_path: Path
    series_uid: str
    instances: dict[str, CopiedInstance]
    # SOP Instance UID -> the stored file found not worth copying (see _WORTHWHILE_RATIO) or unreadable.
    skipped: dict[str, str] = field(default_factory=dict)

    def frames_of(self, *, sop_uid: str, file_path: str, number_of_frames: int) -> list[tuple[int, int]] | None:
        """The instance's frames in the copy, or None when the copy does not hold its current pixels."""
        copied = self.instances.get(sop_uid)
        if copied is None or copied.file_path != file_path or len(copied.frames) != number_of_frames:
            return None
        return copied.frames

    def decided(self, *, sop_uid: str, file_path: str, number_of_frames: int) -> bool:
        """Whether the copy holds the instance's current pixels or has already left them out."""
        if self.skipped.get(sop_uid) == file_path:
            return True
        return self.frames_of(sop_uid=sop_uid, file_path=file_path, number_of_frames=number_of_frames) is not None


def copies_enabled() -> bool:
    return bool(settings.PACS_SERIES_RLE_COPIES)


def series_copy(series_id: int) -> SeriesCopy | None:
    """The series' copy, or None when it has none (not built, nothing in it, or being replaced right now)."""
    copy = _index_read(series_id)
    return copy if copy is not None and copy.instances else None


def _index_read(series_id: int) -> SeriesCopy | None:
    folder = _folder(series_id)
    try:
        index = json.loads((folder / _INDEX).read_bytes())
        return SeriesCopy(
            data_path=folder / index["data"],
            series_uid=index["series_uid"],
            instances={
                sop: CopiedInstance(entry["file_path"], [tuple(frame) for frame in entry["frames"]])
                for sop, entry in index["instances"].items()
            },
            skipped=dict(index.get("skipped", {})),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("Ignoring the unreadable RLE copy index of series %s: %s", series_id, exc)
        return None


class OpenCopies:
    """The copies of a response's series with their data files open, opened before the response starts:
    a copy replaced while it is sent is still read whole (its unlinked file stays readable), and one
    replaced before is simply not used."""

    def __init__(self, series_ids: list[int]) -> None:
        self._opened: dict[str, tuple[SeriesCopy, BinaryIO]] = {}
        for series_id in series_ids:
            copy = series_copy(series_id)
            if copy is None:
                continue
            try:
                self._opened[copy.series_uid] = (copy, open(copy.data_path, "rb"))  # noqa: SIM115 - see close()
            except FileNotFoundError:
                continue

    def frames_of(self, instance: StoredInstance) -> list[tuple[int, int]] | None:
        """Where the instance's current frames are in its series' copy, or None when they are not."""
        opened = self._opened.get(instance.series_uid)
        if opened is None:
            return None
        return opened[0].frames_of(
            sop_uid=instance.sop_uid, file_path=instance.file_path, number_of_frames=instance.number_of_frames
        )

    def frames_read(self, instance: StoredInstance, frames: list[tuple[int, int]]) -> list[bytes]:
        """The instance's RLE frames; OSError when the copy's file is shorter than its index says."""
        return list(frames_read(self._opened[instance.series_uid][1], frames))

    def close(self) -> None:
        for _copy, data in self._opened.values():
            data.close()
        self._opened = {}


def frames_read(data: BinaryIO, frames: list[tuple[int, int]]) -> Iterator[bytes]:
    """Each frame's RLE bytes from an open copy data file (``os.pread``: no shared file position)."""
    for offset, length in frames:
        chunk = os.pread(data.fileno(), length, offset)
        if len(chunk) != length:
            raise OSError(f"The RLE copy {data.name} ends before a frame at {offset} of {length} bytes")
        yield chunk


def series_copy_build(*, series_id: int) -> SeriesCopy | None:
    """Make the series' copy hold every instance it can (idempotent); None when nothing is worth copying.

    Reads the index in one transaction and encodes outside it; an instance indexed meanwhile is left
    for the next build, which its arrival queues.
    """
    started = time.monotonic()
    with transaction.atomic():
        series_uid = Series.objects.filter(pk=series_id).values_list("series_instance_uid", flat=True).first()
        rows = list(
            Instance.objects.filter(series_id=series_id, number_of_frames__gt=0)
            .order_by("instance_number", "sop_instance_uid")
            .values_list("sop_instance_uid", "file_path", "transfer_syntax_uid", "frame_index", "metadata")
        )
    folder = _folder(series_id)
    if series_uid is None:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    wanted = [
        (sop, path, index, image)
        for sop, path, syntax, index, metadata in rows
        if (image := _copyable_image(syntax, index, metadata)) is not None
    ]
    with _build_lock(folder):
        if not wanted:
            series_copy_remove(series_id)  # nothing in the series a copy is for (compressed, colour, 8-bit)
            return None
        previous = _index_read(series_id)
        if previous is not None and previous.series_uid != series_uid:
            previous = None  # a reused primary key (a restored database): nothing in it is this series'
        if previous is not None and all(
            previous.decided(sop_uid=sop, file_path=path, number_of_frames=len(index))
            for sop, path, index, _image in wanted
        ):
            return previous if previous.instances else None  # nothing new since the last build
        copied, skipped, encoded, data_name = _data_write(folder, wanted, previous)
        # Written even when nothing was worth copying: the next build then knows not to encode it again.
        index = {
            "series_uid": series_uid,
            "data": data_name,
            "instances": {sop: {"file_path": c.file_path, "frames": c.frames} for sop, c in copied.items()},
            "skipped": skipped,
        }
        storage.cache_write(folder / _INDEX, json.dumps(index, separators=(",", ":")).encode())
        _remove_unreferenced(folder, keep=data_name)
    logger.info(
        "RLE copy of series %s: %d of %d images (%d encoded now) in %.1f s",
        series_id,
        len(copied),
        len(rows),
        encoded,
        time.monotonic() - started,
    )
    built = SeriesCopy(data_path=folder / data_name, series_uid=series_uid, instances=copied, skipped=skipped)
    return built if copied else None


def _data_write(
    folder: Path, wanted: list[tuple[str, str, list, codecs.ImagePixel]], previous: SeriesCopy | None
) -> tuple[dict[str, CopiedInstance], dict[str, str], int, str]:
    """Write a new data file: frames of unchanged instances taken from ``previous``, the rest encoded
    unless ``previous`` already left them out.

    Returns what it holds, what it left out (by stored file), how many instances were encoded, its name.
    """
    data_name = f"{uuid.uuid4().hex}.rle"
    copied: dict[str, CopiedInstance] = {}
    skipped: dict[str, str] = {}
    encoded = 0
    with storage.cache_file(folder / data_name) as out, _previous_data(previous) as old_data:
        for sop, file_path, frame_index, image in wanted:
            if previous is not None and previous.skipped.get(sop) == file_path:
                skipped[sop] = file_path
                continue
            old = None
            if previous is not None and old_data is not None:
                old = previous.frames_of(sop_uid=sop, file_path=file_path, number_of_frames=len(frame_index))
            if old is not None:
                frames: list[bytes] | None = list(frames_read(old_data, old))
            else:
                frames = _instance_encode(file_path, frame_index, image)
                encoded += 1
            if frames is None:
                skipped[sop] = file_path
                continue
            ranges = []
            for frame in frames:
                ranges.append((out.tell(), len(frame)))
                out.write(frame)
            copied[sop] = CopiedInstance(file_path, ranges)
    return copied, skipped, encoded, data_name


def series_copy_remove(series_id: int) -> None:
    """Delete the series' copy: the index first, so no reader picks a data file about to go."""
    folder = _folder(series_id)
    (folder / _INDEX).unlink(missing_ok=True)
    _remove_unreferenced(folder, keep=None)


def _copyable_image(transfer_syntax: str, frame_index: list | None, metadata: dict) -> codecs.ImagePixel | None:
    """The instance's Image Pixel attributes when a copy is for it (see the module's docstring), else None."""
    if transfer_syntax not in codecs.LITTLE_ENDIAN_NATIVE or not frame_index:
        return None
    try:
        image = codecs.ImagePixel.from_json(metadata)
    except codecs.CodecError:
        return None
    grey16 = (
        image.samples_per_pixel == 1
        and image.bits_allocated == 16
        and image.photometric_interpretation in ("MONOCHROME1", "MONOCHROME2")
    )
    return image if grey16 else None


def _instance_encode(file_path: str, frame_index: list, image: codecs.ImagePixel) -> list[bytes] | None:
    """The instance's frames in RLE Lossless, or None when one cannot be read, encoded or shrunk enough."""
    encoder = get_encoder(RLELossless)
    options = {**image.decode_options(COPY_SYNTAX), "number_of_frames": 1}
    del options["transfer_syntax_uid"], options["pixel_keyword"]
    frame_bytes = image.rows * image.columns * 2
    frames = []
    try:
        with storage.open_binary(file_path) as handle:
            for ranges in frame_index:
                raw = b"".join(os.pread(handle.fileno(), size, offset) for offset, size in ranges)
                if len(raw) != frame_bytes:
                    return None
                frame = encoder.encode(raw, **options)
                if len(frame) > _WORTHWHILE_RATIO * frame_bytes:
                    return None
                frames.append(frame)
    except Exception as exc:  # noqa: BLE001 - a file gone or an encoder refusing the data: leave it out
        logger.warning("No RLE copy of %s: %s", file_path, exc)
        return None
    return frames


@contextlib.contextmanager
def _previous_data(previous: SeriesCopy | None) -> Iterator[BinaryIO | None]:
    """The previous copy's data file, or None when there is none (or it went meanwhile)."""
    try:
        handle = open(previous.data_path, "rb") if previous is not None else None  # noqa: SIM115
    except FileNotFoundError:
        handle = None
    try:
        yield handle
    finally:
        if handle is not None:
            handle.close()


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """One build of a series at a time: two would each delete the data file the other's index names."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "wb") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


def _folder(series_id: int) -> Path:
    return Path(settings.PACS_CACHE_ROOT) / _FOLDER / str(series_id)


def _remove_unreferenced(folder: Path, *, keep: str | None) -> None:
    """Delete the data files other than ``keep``; a response reading one keeps its open file until done."""
    if not folder.is_dir():
        return
    for entry in folder.glob("*.rle"):
        if entry.name != keep:
            entry.unlink(missing_ok=True)
