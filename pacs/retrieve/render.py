"""Rendered images and thumbnails (PS3.18 10.4.1.1.3 Rendered Resources, 10.4.1.1.4 Thumbnail Resources,
and the image content types of WADO-URI, PS3.18 9.4).

A frame is decoded (read by offset when indexed), then passed through the grayscale pipeline of
PS3.4 N.2.1: Modality LUT (Rescale Slope/Intercept or Modality LUT Sequence), VOI LUT (the caller's
``window``, else the image's Window Center/Width or VOI LUT Sequence, else the pixel range), MONOCHROME1
inverted to display as MONOCHROME2. Palette colour is expanded through its lookup tables, colour images
are scaled to 8 bits. The result is fitted into the viewport and written as JPEG or PNG with Pillow.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.uid import UID, ExplicitVRLittleEndian

from pacs import storage
from pacs.retrieve import codecs
from pacs.retrieve.errors import BadRequest, NotAcceptable
from pacs.retrieve.instances import StoredInstance, instance_metadata

JPEG = "image/jpeg"
PNG = "image/png"
RENDERED_MEDIA_TYPES = (JPEG, PNG)
THUMBNAIL_SIZE = 128
MAX_VIEWPORT = 8192
DEFAULT_QUALITY = 90
WINDOW_FUNCTIONS = ("linear", "linear-exact", "sigmoid")

# The attributes the pipeline reads; the rest of an instance's metadata is not turned into a dataset.
_PRESENTATION_KEYWORDS = (
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PlanarConfiguration",
    "NumberOfFrames",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "ModalityLUTSequence",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
    "VOILUTSequence",
    "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData",
    "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData",
    "SharedFunctionalGroupsSequence",
    "PerFrameFunctionalGroupsSequence",
)
_PRESENTATION_KEYS = tuple(f"{tag_for_keyword(keyword):08X}" for keyword in _PRESENTATION_KEYWORDS)


@dataclass(frozen=True)
class Window:
    center: float
    width: float
    function: str = "linear"


@dataclass(frozen=True)
class RenderOptions:
    """What the caller asked for (PS3.18 8.3.5.1 Rendered Query Parameters)."""

    media_type: str = JPEG
    window: Window | None = None
    viewport: tuple[int, int] | None = None  # the largest width and height of the result
    crop: tuple[int, int, int, int] | None = None  # x, y, width, height in source pixels
    quality: int = DEFAULT_QUALITY


def window_parse(text: str) -> Window:
    """``center,width[,function]`` (PS3.18 8.3.5.1.4) with the functions of PS3.3 C.11.2.1.3."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (2, 3):
        raise BadRequest(f"window must be center,width[,function], not {text!r}")
    try:
        center, width = float(parts[0]), float(parts[1])
    except ValueError:
        raise BadRequest(f"window center and width must be numbers, not {text!r}") from None
    function = parts[2].lower() if len(parts) == 3 else "linear"
    if function not in WINDOW_FUNCTIONS:
        raise BadRequest(f"window function must be one of {', '.join(WINDOW_FUNCTIONS)}, not {function!r}")
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0 or (function == "linear" and width < 1):
        raise BadRequest(f"window width must be positive (at least 1 for linear): {text!r}")
    return Window(center, width, function)


def viewport_parse(text: str) -> tuple[tuple[int, int], tuple[int, int, int, int] | None]:
    """``vw,vh`` or ``vw,vh,sx,sy,sw,sh`` (PS3.18 8.3.5.1.3): the output size and an optional source region."""
    try:
        values = [int(float(part)) for part in text.split(",")]
    except ValueError:
        raise BadRequest(f"viewport must be integers, not {text!r}") from None
    if len(values) not in (2, 6) or values[0] < 1 or values[1] < 1 or max(values[:2]) > MAX_VIEWPORT:
        raise BadRequest(f"viewport must be vw,vh[,sx,sy,sw,sh] with sizes from 1 to {MAX_VIEWPORT}: {text!r}")
    crop = None
    if len(values) == 6:
        sx, sy, sw, sh = values[2:]
        if sx < 0 or sy < 0 or sw < 1 or sh < 1:
            raise BadRequest(f"viewport source region must be inside the image: {text!r}")
        crop = (sx, sy, sw, sh)
    return (values[0], values[1]), crop


def quality_parse(text: str) -> int:
    try:
        quality = int(text)
    except ValueError:
        raise BadRequest(f"quality must be an integer from 1 to 100, not {text!r}") from None
    if not 1 <= quality <= 100:
        raise BadRequest(f"quality must be from 1 to 100, not {quality}")
    return quality


def representative_instance(instances: Sequence[StoredInstance]) -> StoredInstance:
    """The middle image of the first series that has images: what a study or series thumbnail shows."""
    images = [instance for instance in instances if instance.number_of_frames > 0]
    if not images:
        raise NotAcceptable("There is no image to render: no instance has pixel data")
    first_series = [instance for instance in images if instance.series_uid == images[0].series_uid]
    return first_series[len(first_series) // 2]


def render_frame(instance: StoredInstance, number: int, options: RenderOptions) -> bytes:
    """Render frame ``number`` (from 1) of ``instance`` as a JPEG or PNG image."""
    if instance.number_of_frames < 1:
        raise NotAcceptable(f"Instance {instance.sop_uid} has no pixel data to render")
    if not 1 <= number <= instance.number_of_frames:
        raise BadRequest(f"Frame {number} is outside 1..{instance.number_of_frames}")
    metadata = instance_metadata(instance)
    attributes = _presentation_dataset(instance, metadata)
    pixels = _decoded_frame(instance, number, metadata)
    _apply_frame_functional_groups(attributes, number - 1)
    picture = _to_display(pixels, attributes, options.window)
    return _encode(picture, options)


def _decoded_frame(instance: StoredInstance, number: int, metadata: dict[str, Any]) -> np.ndarray:
    stored = UID(instance.transfer_syntax_uid)
    if instance.frame_index:
        data = storage.read_ranges(instance.file_path, instance.frame_index[number - 1])
        syntax = stored if stored.is_compressed else ExplicitVRLittleEndian
        return codecs.frame_array(data, transfer_syntax=syntax, image=codecs.ImagePixel.from_json(metadata))
    dataset = codecs.dataset_read(storage.absolute_path(instance.file_path))
    return codecs.dataset_frame_array(dataset, number - 1)


def _presentation_dataset(instance: StoredInstance, metadata: dict[str, Any]) -> Dataset:
    """The attributes the pipeline needs, from the index; from the file's header when some are bulk data."""
    subset = {key: metadata[key] for key in _PRESENTATION_KEYS if key in metadata}
    if any("BulkDataURI" in element for element in subset.values()):
        # Large palette lookup tables are kept out of the index: read them, but not the pixels.
        return pydicom.dcmread(storage.absolute_path(instance.file_path), stop_before_pixels=True)
    return Dataset.from_json(subset)


def _apply_frame_functional_groups(dataset: Dataset, index: int) -> None:
    """Enhanced multi-frame objects keep rescale and window per frame (PS3.3 C.7.6.16): lift them up."""
    groups = []
    for keyword in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        sequence = dataset.get(keyword)
        if sequence:
            groups.append(sequence[0] if keyword.startswith("Shared") else sequence[min(index, len(sequence) - 1)])
    for group in groups:
        for macro in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
            items = group.get(macro)
            if items:
                for element in items[0]:
                    dataset[element.tag] = element


def _to_display(pixels: np.ndarray, dataset: Dataset, window: Window | None) -> np.ndarray:
    """8-bit pixels for display: (rows, columns) grayscale or (rows, columns, 3) RGB."""
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if photometric == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, dataset)
        return _to_uint8(pixels, 16 if pixels.dtype.itemsize > 1 else 8)
    if pixels.ndim == 3:
        return _to_uint8(pixels, int(dataset.get("BitsStored", 8) or 8))
    modality = apply_modality_lut(pixels, dataset)
    values = np.asarray(modality, dtype=np.float64)
    if window is None and "WindowCenter" in dataset and "WindowWidth" in dataset:
        window = _image_window(dataset)
    if window is not None:
        display = _apply_window(values, window)
    elif "VOILUTSequence" in dataset:
        lut_output = apply_voi_lut(modality, dataset, prefer_lut=True)
        bits = int(dataset.VOILUTSequence[0].LUTDescriptor[2])
        display = np.asarray(lut_output, dtype=np.float64) * (255.0 / (2**bits - 1))
    else:
        low, high = float(values.min()), float(values.max())
        display = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    if photometric == "MONOCHROME1":
        display = 255.0 - display
    return np.clip(np.rint(display), 0, 255).astype(np.uint8)


def _image_window(dataset: Dataset) -> Window | None:
    """The image's first Window Center/Width pair and VOI LUT Function (PS3.3 C.11.2.1.2)."""
    center, width = dataset.WindowCenter, dataset.WindowWidth
    center = center[0] if isinstance(center, pydicom.multival.MultiValue) else center
    width = width[0] if isinstance(width, pydicom.multival.MultiValue) else width
    function = str(dataset.get("VOILUTFunction", "LINEAR") or "LINEAR").lower().replace("_", "-")
    if function not in WINDOW_FUNCTIONS:
        function = "linear"
    try:
        window = Window(float(center), float(width), function)
    except (TypeError, ValueError):
        return None
    return window if window.width >= 1 or (function != "linear" and window.width > 0) else None


def _apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 (linear), C.11.2.1.3.2 (linear exact), C.11.2.1.3.1 (sigmoid), to 0..255."""
    c, w = window.center, window.width
    if window.function == "sigmoid":
        return 255.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    if window.function == "linear-exact":
        return np.clip((values - c) / w + 0.5, 0.0, 1.0) * 255.0
    return np.clip((values - (c - 0.5)) / (w - 1) + 0.5, 0.0, 1.0) * 255.0 if w > 1 else (values > c) * 255.0


def _to_uint8(pixels: np.ndarray, bits: int) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    shift = max(bits - 8, 0)
    return np.clip(pixels.astype(np.int64) >> shift, 0, 255).astype(np.uint8)


def _encode(pixels: np.ndarray, options: RenderOptions) -> bytes:
    picture = Image.fromarray(np.ascontiguousarray(pixels))  # uint8: "L" for 2 dimensions, "RGB" for 3
    if options.crop is not None:
        x, y, width, height = options.crop
        if x >= picture.width or y >= picture.height:
            raise BadRequest("viewport source region is outside the image")
        picture = picture.crop((x, y, min(x + width, picture.width), min(y + height, picture.height)))
    if options.viewport is not None:
        width, height = options.viewport
        scale = min(width / picture.width, height / picture.height)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)
    out = io.BytesIO()
    if options.media_type == PNG:
        picture.save(out, format="PNG", compress_level=3)
    else:
        picture.save(out, format="JPEG", quality=options.quality)
    return out.getvalue()


def render_options(
    *,
    media_type: str,
    params: Mapping[str, str],
    thumbnail: bool = False,
) -> RenderOptions:
    """Build options from WADO-RS rendered query parameters (``window``, ``viewport``, ``quality``)."""
    viewport: tuple[int, int] | None = (THUMBNAIL_SIZE, THUMBNAIL_SIZE) if thumbnail else None
    crop = None
    if params.get("viewport"):
        viewport, crop = viewport_parse(params["viewport"])
    return RenderOptions(
        media_type=media_type,
        window=window_parse(params["window"]) if params.get("window") else None,
        viewport=viewport,
        crop=crop,
        quality=quality_parse(params["quality"]) if params.get("quality") else DEFAULT_QUALITY,
    )
