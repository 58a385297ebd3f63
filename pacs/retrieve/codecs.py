"""The one codec module: which transfer syntaxes can be decoded and produced, and the conversions.

Decoding goes through pydicom's pixel decoders, backed by the installed plugins (pylibjpeg with its
openjpeg, libjpeg and rle plugins, pyjpegls); encoding through pydicom's encoders. Nothing else in the
project decodes or encodes pixel data, so what the archive can convert is decided here once.

Conversions (PS3.5 Section 8 and 10, Annex A):

- any decodable syntax to the uncompressed little-endian syntaxes (Explicit and Implicit VR Little Endian,
  Deflated Explicit VR Little Endian): decompressing also converts YCbCr JPEG data to RGB, as pydicom
  does, and updates Photometric Interpretation to match;
- Explicit VR Big Endian (retired) to little endian, swapping pixel data and other word-valued data;
- the uncompressed data to the lossless compressed syntaxes the encoders support (RLE Lossless, JPEG-LS
  Lossless, JPEG 2000 Lossless), for C-GET and C-MOVE peers that accept nothing else.

What cannot be converted raises :class:`CodecError`, which DICOMweb answers with 406 (PS3.18 10.4.3)
and C-GET/C-MOVE treat as a failed sub-operation, never as an internal error.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom import dcmwrite
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder, get_encoder, pack_bits
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from pacs.retrieve.errors import NotAcceptable

logger = logging.getLogger(__name__)

# Native syntaxes whose stored pixel bytes are little endian: a frame read by offset is served as is.
LITTLE_ENDIAN_NATIVE = frozenset({ExplicitVRLittleEndian, ImplicitVRLittleEndian})
UNCOMPRESSED_TARGETS = frozenset({ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian})
LOSSLESS_TARGETS = frozenset({RLELossless, JPEGLSLossless, JPEG2000Lossless})
# Word-valued VRs whose bytes pydicom keeps in file order: swapped when big endian becomes little.
_WORD_SIZES = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}


class CodecError(NotAcceptable):
    """The stored data cannot be decoded, or the requested syntax cannot be produced from it."""


@dataclass(frozen=True)
class ImagePixel:
    """The Image Pixel Module attributes (PS3.3 C.7.6.3) a decoder needs for one frame."""

    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric_interpretation: str
    planar_configuration: int

    @classmethod
    def from_json(cls, metadata: dict[str, Any]) -> ImagePixel:
        """Read the attributes from an instance's DICOM JSON (``Instance.metadata``)."""

        def value(keyword: str, default: Any = None) -> Any:
            element = metadata.get(f"{tag_for_keyword(keyword):08X}") or {}
            values = element.get("Value") or [default]
            return values[0]

        try:
            bits_allocated = int(value("BitsAllocated"))
            return cls(
                rows=int(value("Rows")),
                columns=int(value("Columns")),
                samples_per_pixel=int(value("SamplesPerPixel", 1)),
                bits_allocated=bits_allocated,
                bits_stored=int(value("BitsStored", bits_allocated)),
                pixel_representation=int(value("PixelRepresentation", 0)),
                photometric_interpretation=str(value("PhotometricInterpretation", "MONOCHROME2")).strip(),
                planar_configuration=int(value("PlanarConfiguration", 0)),
            )
        except (TypeError, ValueError) as exc:
            raise CodecError(f"The instance has no usable Image Pixel attributes: {exc}") from exc

    def decode_options(self, transfer_syntax: str) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": self.columns,
            "samples_per_pixel": self.samples_per_pixel,
            "bits_allocated": self.bits_allocated,
            "bits_stored": self.bits_stored,
            "pixel_representation": self.pixel_representation,
            "photometric_interpretation": self.photometric_interpretation,
            "planar_configuration": self.planar_configuration,
            "number_of_frames": 1,
            "transfer_syntax_uid": UID(transfer_syntax),
            "pixel_keyword": "PixelData",
        }


@functools.cache
def can_decode(transfer_syntax: str) -> bool:
    """Whether pixel data stored in ``transfer_syntax`` can be decoded with the installed plugins."""
    uid = UID(transfer_syntax)
    if not uid.is_transfer_syntax:
        return False
    if not uid.is_compressed:
        return True
    try:
        return bool(get_decoder(uid).is_available)
    except NotImplementedError:
        return False


@functools.cache
def can_encode(transfer_syntax: str) -> bool:
    """Whether a dataset can be written in ``transfer_syntax`` (after decoding, when it is compressed)."""
    uid = UID(transfer_syntax)
    if uid in UNCOMPRESSED_TARGETS:
        return True
    if uid not in LOSSLESS_TARGETS:
        return False
    try:
        return bool(get_encoder(uid).is_available)
    except NotImplementedError:
        return False


def can_transcode(source: str, target: str) -> bool:
    """Whether an instance stored in ``source`` can be delivered in ``target``."""
    return source == target or (can_decode(source) and can_encode(target))


def dataset_read(path: Path) -> Dataset:
    """Read a stored Part 10 file whole (pixel data included), for conversions that need the dataset."""
    try:
        return pydicom.dcmread(path)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types for files it cannot read
        raise CodecError(f"The stored file cannot be read: {exc}") from exc


def element_value_bytes(path: Path, tag: int) -> bytes:
    """The value of a top-level binary element as little-endian bytes (for a BulkDataURI, PS3.18 8.7.3.3)."""
    dataset = dataset_read(path)
    if tag not in dataset:
        raise CodecError(f"The stored file has no element {tag:08X}")
    element = dataset[tag]
    value = element.value
    if not isinstance(value, bytes | bytearray):
        raise CodecError(f"Element {tag:08X} is not binary data")
    size = _WORD_SIZES.get(str(element.VR))
    little_endian = dataset.original_encoding[1] is not False
    if size and not little_endian and len(value) % size == 0:
        return np.frombuffer(value, dtype=f">u{size}").astype(f"<u{size}").tobytes()
    return bytes(value)


def dataset_transcode(dataset: Dataset, target: str) -> Dataset:
    """Convert ``dataset`` (in place) to ``target`` and return it; raise :class:`CodecError` if impossible.

    SOP Instance UIDs are kept: a lossless conversion keeps the instance the same (PS3.5 Section 10),
    and a decompressed lossy image is still the image the modality made.
    """
    source = UID(str(dataset.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian)))
    target_uid = UID(target)
    if source == target_uid:
        return dataset
    if not can_transcode(source, target_uid):
        raise CodecError(f"Cannot convert from transfer syntax {source.name} to {target_uid.name}")
    try:
        if "PixelData" in dataset and source.is_compressed:
            # pydicom 3 gives a converted dataset a new SOP Instance UID unless told not to: the instance
            # sent or served is the same instance in another encoding, so it keeps its UID.
            dataset.decompress(generate_instance_uid=False)  # to Explicit VR Little Endian, YCbCr to RGB
        elif source == ExplicitVRBigEndian:
            _swap_to_little_endian(dataset)
        if "PixelData" in dataset and target_uid.is_compressed:
            dataset.compress(target_uid, generate_instance_uid=False)
        else:
            dataset.file_meta.TransferSyntaxUID = target_uid
    except CodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders and encoders raise many types for bad data
        raise CodecError(f"Cannot convert from {source.name} to {target_uid.name}: {exc}") from exc
    return dataset


def dataset_to_part10(dataset: Dataset) -> bytes:
    """The Part 10 file (PS3.10 7.1) of ``dataset`` in the transfer syntax of its File Meta Information."""
    transfer_syntax = UID(str(dataset.file_meta.TransferSyntaxUID))
    out = io.BytesIO()
    try:
        # Elements still raw have no VR when the file declared explicit VR but was implicit; converting
        # them gives them their dictionary VR, which an explicit-VR writer needs.
        dataset.walk(lambda _dataset, _element: None)
        dcmwrite(
            out,
            dataset,
            implicit_vr=transfer_syntax.is_implicit_VR,
            little_endian=transfer_syntax.is_little_endian,
            enforce_file_format=True,
        )
    except Exception as exc:  # noqa: BLE001 - a value the writer cannot encode in this syntax
        raise CodecError(f"Cannot write the instance as {transfer_syntax.name}: {exc}") from exc
    return out.getvalue()


def frame_array(encoded: bytes, *, transfer_syntax: str, image: ImagePixel, as_rgb: bool = True) -> np.ndarray:
    """Decode one frame's bytes (a codestream, or native little-endian pixels) to an array.

    ``as_rgb`` converts YCbCr to RGB, which is what a viewer and a decompressed instance both want.
    """
    uid = UID(transfer_syntax)
    if not can_decode(uid):
        raise CodecError(f"No installed decoder for transfer syntax {uid.name} ({uid})")
    # pydicom's decoders take encapsulated data; one frame becomes one item behind an empty offset table.
    source = encapsulate([encoded]) if uid.is_encapsulated else encoded
    try:
        array, _ = get_decoder(uid).as_array(source, raw=not as_rgb, **image.decode_options(uid))
    except Exception as exc:  # noqa: BLE001 - decoders raise many types for corrupt codestreams
        raise CodecError(f"Cannot decode a {uid.name} frame: {exc}") from exc
    return array


def dataset_frame_array(dataset: Dataset, index: int, *, as_rgb: bool = True) -> np.ndarray:
    """Decode frame ``index`` (from 0) from a whole dataset: for files without a frame index."""
    uid = UID(str(dataset.file_meta.TransferSyntaxUID))
    if not can_decode(uid):
        raise CodecError(f"No installed decoder for transfer syntax {uid.name} ({uid})")
    try:
        array, _ = get_decoder(uid).as_array(dataset, index=index, raw=not as_rgb)
    except Exception as exc:  # noqa: BLE001
        raise CodecError(f"Cannot decode frame {index + 1}: {exc}") from exc
    return array


def array_to_native_bytes(array: np.ndarray, *, bits_allocated: int) -> bytes:
    """Pixels as uncompressed little-endian Pixel Data bytes (PS3.5 8.1.1), bit-packed when 1 bit."""
    if bits_allocated == 1:
        return bytes(pack_bits(array))
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def _swap_to_little_endian(dataset: Dataset) -> None:
    """Make a dataset read from Explicit VR Big Endian writable as little endian.

    pydicom converts numbers and text when reading but keeps word-valued bytes (OW, OF, ...) in file order;
    pixel data goes through the decoder, which knows its real word size, the rest is swapped by VR.
    """
    if "PixelData" in dataset:
        # raw: keep the photometric interpretation; the decoder returns pixel-interleaved, full-size samples.
        pixels, _ = get_decoder(ExplicitVRBigEndian).as_array(dataset, raw=True)
        dataset.PixelData = array_to_native_bytes(pixels, bits_allocated=int(dataset.BitsAllocated))
        dataset["PixelData"].VR = "OB" if int(dataset.BitsAllocated) <= 8 else "OW"
        if int(dataset.get("SamplesPerPixel", 1) or 1) > 1:
            dataset.PlanarConfiguration = 0
        if dataset.get("PhotometricInterpretation") == "YBR_FULL_422":
            dataset.PhotometricInterpretation = "YBR_FULL"
    _swap_words(dataset, skip_pixel_data=True)


def _swap_words(dataset: Dataset, *, skip_pixel_data: bool) -> None:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                _swap_words(item, skip_pixel_data=False)
            continue
        if skip_pixel_data and element.tag == 0x7FE00010:
            continue
        size = _WORD_SIZES.get(str(element.VR))
        if size and isinstance(element.value, bytes | bytearray) and len(element.value) % size == 0:
            element.value = np.frombuffer(element.value, dtype=f">u{size}").astype(f"<u{size}").tobytes()
