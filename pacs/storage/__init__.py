"""Where instance files live: ``{root}/{organization}/{Study}/{Series}/{SOP}.dcm`` on local disk.

Writes are atomic and durable: a temporary file in the target folder, fsync, rename, fsync of the folder.
A reader therefore sees either no file or a whole one, and a crash leaves at most a ``.tmp`` file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings


def storage_root() -> Path:
    return Path(settings.PACS_STORAGE_ROOT)


def absolute_path(relative_path: str) -> Path:
    return storage_root() / relative_path


def instance_relative_path(
    *, organization_slug: str, study_uid: str, series_uid: str, sop_uid: str, variant: str = ""
) -> str:
    name = f"{sop_uid}-{variant}.dcm" if variant else f"{sop_uid}.dcm"
    return f"{organization_slug}/{study_uid}/{series_uid}/{name}"


def write_atomic(relative_path: str, chunks: Iterable[bytes], *, sync_directory: bool = True) -> int:
    """Write the chunks to ``relative_path`` durably; return the number of bytes written.

    With ``sync_directory=False`` the rename is durable only once the caller has passed the file to
    :func:`directories_sync`: a batch of files in one folder then costs one folder fsync, not one each.
    """
    target = absolute_path(relative_path)
    size = 0
    with _file_replaced(target, durable=True) as handle:
        for chunk in chunks:
            handle.write(chunk)
            size += len(chunk)
    if sync_directory:
        _fsync_directory(target.parent)
    return size


def cache_file(path: Path) -> contextlib.AbstractContextManager[BinaryIO]:
    """A handle to write a cache file (outside the archive) whole or not at all: it appears at ``path``
    when the block ends without an error. No fsync: a cache lost in a crash is rebuilt, and the fsyncs
    would cost the worker more than the rebuild ever will."""
    return _file_replaced(path, durable=False)


def cache_write(path: Path, content: bytes) -> None:
    """Write a whole cache file (see :func:`cache_file`)."""
    with cache_file(path) as handle:
        handle.write(content)


@contextlib.contextmanager
def _file_replaced(target: Path, *, durable: bool) -> Iterator[BinaryIO]:
    """A temporary file beside ``target`` that replaces it once the block succeeds (fsynced first when
    ``durable``); after an error it is removed and ``target`` is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def directories_sync(relative_paths: Iterable[str]) -> None:
    """Make the renames of files written with ``sync_directory=False`` durable: fsync each folder once."""
    for folder in sorted({absolute_path(path).parent for path in relative_paths}):
        _fsync_directory(folder)


def delete(relative_path: str) -> None:
    absolute_path(relative_path).unlink(missing_ok=True)


def open_binary(relative_path: str) -> BinaryIO:
    return open(absolute_path(relative_path), "rb")


def read_ranges(relative_path: str, ranges: Iterable[tuple[int, int]]) -> bytes:
    """Read and join byte ranges ``(offset, length)`` of a stored file."""
    parts = []
    with open_binary(relative_path) as handle:
        for offset, length in ranges:
            handle.seek(offset)
            parts.append(handle.read(length))
    return b"".join(parts)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
