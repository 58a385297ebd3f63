"""Frames of an instance (PS3.18 10.4.1.1.5 Retrieve Frames, and Pixel Data bulk data), read by offset.

When the ingest pipeline indexed the frames, a frame is one ``read_ranges`` call on the stored file: no
DICOM parsing at all. Compressed frames are delivered as stored when the caller accepts their syntax and
decoded to uncompressed little-endian pixels otherwise. Files without an index (deflated or big-endian
files, or encapsulated data whose frames could not be told apart at ingest) are parsed and decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.encaps import generate_frames
from pydicom.uid import UID, ExplicitVRLittleEndian

from pacs import storage
from pacs.retrieve import codecs
from pacs.retrieve.errors import BadRequest
from pacs.retrieve.instances import StoredInstance, instance_metadata

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """One frame's bytes and the transfer syntax they are encoded in."""

    data: bytes
    transfer_syntax: str


def frame_numbers_parse(text: str, *, number_of_frames: int) -> list[int]:
    """Parse a frame list ("1,3,5", PS3.18 8.3.2; numbers from 1) and check it against the instance."""
    if number_of_frames < 1:
        raise BadRequest("The instance has no pixel data, hence no frames")
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise BadRequest(f"Malformed frame list {text!r}: expected numbers separated by commas") from None
    invalid = [n for n in numbers if not 1 <= n <= number_of_frames]
    if invalid:
        raise BadRequest(f"Frame numbers {invalid} are outside 1..{number_of_frames}")
    return numbers


def delivered_syntax(instance: StoredInstance, *, keep_stored: bool) -> str:
    """The transfer syntax :func:`frames_read` will deliver: compressed as stored, else uncompressed.

    Native stored data is always delivered as little-endian pixels, which is what Explicit VR Little
    Endian names for a frame (PS3.18 8.7.3.3.2), whatever the stored syntax's VR encoding.
    """
    stored = UID(instance.transfer_syntax_uid)
    return str(stored) if keep_stored and stored.is_compressed else str(ExplicitVRLittleEndian)


def frames_read(instance: StoredInstance, numbers: Sequence[int], *, keep_stored: bool) -> Iterator[Frame]:
    """Yield the frames ``numbers`` (from 1) of ``instance``, loaded with its frame index.

    ``keep_stored``: deliver compressed frames as stored; otherwise decode them. Decoding errors raise
    :class:`pacs.retrieve.codecs.CodecError` before or while frames are yielded.
    """
    target = delivered_syntax(instance, keep_stored=keep_stored)
    stored = UID(instance.transfer_syntax_uid)
    if instance.frame_index:
        image = None if target == stored or not stored.is_compressed else _image(instance)
        for number in numbers:
            data = storage.read_ranges(instance.file_path, instance.frame_index[number - 1])
            if image is not None:
                array = codecs.frame_array(data, transfer_syntax=stored, image=image)
                data = codecs.array_to_native_bytes(array, bits_allocated=image.bits_allocated)
            yield Frame(data, target)
        return
    yield from _frames_from_dataset(instance, numbers, target)


def _frames_from_dataset(instance: StoredInstance, numbers: Sequence[int], target: str) -> Iterator[Frame]:
    """The slow path for files without a frame index: parse the file and decode what is asked."""
    dataset = codecs.dataset_read(storage.absolute_path(instance.file_path))
    stored = UID(instance.transfer_syntax_uid)
    if target == stored:
        try:
            encoded = list(generate_frames(dataset.PixelData, number_of_frames=instance.number_of_frames))
        except Exception as exc:  # noqa: BLE001 - malformed encapsulation: decode the whole instead
            logger.warning("Cannot split the frames of %s: %s", instance.sop_uid, exc)
        else:
            if len(encoded) == instance.number_of_frames:
                for number in numbers:
                    yield Frame(encoded[number - 1], target)
                return
        target = str(ExplicitVRLittleEndian)
    bits_allocated = int(dataset.BitsAllocated)
    # Native data keeps its photometric interpretation and planar configuration, as the metadata says;
    # decoded compressed data is pixel-interleaved RGB, as after decompression.
    planar = not stored.is_compressed and int(dataset.get("PlanarConfiguration", 0) or 0) == 1
    for number in numbers:
        array = codecs.dataset_frame_array(dataset, number - 1, as_rgb=stored.is_compressed)
        if planar and array.ndim == 3:
            array = np.moveaxis(array, -1, 0)
        yield Frame(codecs.array_to_native_bytes(array, bits_allocated=bits_allocated), target)


def _image(instance: StoredInstance) -> codecs.ImagePixel:
    return codecs.ImagePixel.from_json(instance_metadata(instance))
