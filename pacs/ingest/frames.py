"""The frame index: where each frame's bytes lie in the stored file, so frames are served by offset.

Native (uncompressed) Pixel Data holds frames back to back. Encapsulated Pixel Data (PS3.5 A.4) is a
sequence of items: the Basic Offset Table, then fragments; a frame is one or more fragments, grouped
by the Extended Offset Table, the Basic Offset Table, or, when both are empty, one fragment per frame
when counts agree and JPEG start-of-image markers otherwise.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pydicom.dataset import Dataset

ITEM_TAG = 0xFFFEE000
SEQUENCE_DELIMITER_TAG = 0xFFFEE0DD
UNDEFINED_LENGTH = 0xFFFFFFFF
JPEG_SOI = b"\xff\xd8"

FrameRanges = list[list[int]]  # [[offset, length], ...] for one frame


class FrameIndexError(ValueError):
    pass


def number_of_frames(dataset: Dataset) -> int:
    try:
        return max(int(dataset.get("NumberOfFrames", 1) or 1), 1)
    except (TypeError, ValueError):
        return 1


def native_frame_length(dataset: Dataset) -> int:
    rows = int(dataset.Rows)
    columns = int(dataset.Columns)
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    bits = int(dataset.BitsAllocated)
    if bits == 1:
        return (rows * columns * samples + 7) // 8
    return rows * columns * samples * (bits // 8)


def build_frame_index(
    *, buffer: bytes | memoryview, dataset: Dataset, value_offset: int, value_length: int, encapsulated: bool
) -> list[FrameRanges]:
    """Return, for each frame, the byte ranges in ``buffer`` (the whole Part 10 file) that hold it."""
    frames = number_of_frames(dataset)
    if not encapsulated:
        frame_length = native_frame_length(dataset)
        if frame_length * frames > value_length and frames > 1:
            raise FrameIndexError("Pixel Data is shorter than Rows × Columns × frames")
        if frame_length * frames > value_length:
            frame_length = value_length
        return [[[value_offset + i * frame_length, frame_length]] for i in range(frames)]
    offset_table, fragments = _read_items(buffer, value_offset)
    return _group_fragments(buffer, dataset, frames, offset_table, fragments)


def _read_items(buffer: bytes | memoryview, position: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Parse encapsulated items from ``position``: the Basic Offset Table and the fragments' ranges."""
    end = len(buffer)
    items: list[tuple[int, int]] = []
    while position + 8 <= end:
        group, element, length = struct.unpack_from("<HHI", buffer, position)
        tag = (group << 16) | element
        position += 8
        if tag == SEQUENCE_DELIMITER_TAG:
            break
        if tag != ITEM_TAG or length == UNDEFINED_LENGTH or position + length > end:
            raise FrameIndexError("Encapsulated Pixel Data has a malformed item")
        items.append((position, length))
        position += length
    if not items:
        raise FrameIndexError("Encapsulated Pixel Data has no Basic Offset Table item")
    bot_offset, bot_length = items[0]
    offsets = list(struct.unpack_from(f"<{bot_length // 4}I", buffer, bot_offset)) if bot_length else []
    return offsets, items[1:]


def _group_fragments(
    buffer: bytes | memoryview,
    dataset: Dataset,
    frames: int,
    basic_offsets: Sequence[int],
    fragments: list[tuple[int, int]],
) -> list[FrameRanges]:
    if not fragments:
        raise FrameIndexError("Encapsulated Pixel Data has no fragments")
    if frames == 1:
        return [[[offset, length] for offset, length in fragments]]
    extended = dataset.get("ExtendedOffsetTable")
    if extended is not None:
        starts = list(struct.unpack(f"<{len(extended) // 8}Q", extended))
        return _split_by_offsets(frames, starts, fragments)
    if len(basic_offsets) == frames:
        return _split_by_offsets(frames, list(basic_offsets), fragments)
    if len(fragments) == frames:
        return [[[offset, length]] for offset, length in fragments]
    # No usable offset table: a JPEG-family frame starts with an SOI marker.
    grouped: list[FrameRanges] = []
    for offset, length in fragments:
        if bytes(buffer[offset : offset + 2]) == JPEG_SOI or not grouped:
            grouped.append([])
        grouped[-1].append([offset, length])
    if len(grouped) != frames:
        raise FrameIndexError(f"Cannot tell {frames} frames apart in {len(fragments)} fragments")
    return grouped


def _split_by_offsets(frames: int, starts: list[int], fragments: list[tuple[int, int]]) -> list[FrameRanges]:
    """Offsets in the tables count from the first byte of the first fragment's item tag."""
    if len(starts) != frames:
        raise FrameIndexError("The offset table does not have one entry per frame")
    first_item = fragments[0][0] - 8
    grouped: list[FrameRanges] = [[] for _ in range(frames)]
    frame = -1
    for offset, length in fragments:
        relative = offset - 8 - first_item
        while frame + 1 < frames and relative >= starts[frame + 1]:
            frame += 1
        if frame < 0:
            raise FrameIndexError("The offset table does not start at the first fragment")
        grouped[frame].append([offset, length])
    if any(not ranges for ranges in grouped):
        raise FrameIndexError("The offset table leaves a frame without fragments")
    return grouped
