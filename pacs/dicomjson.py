"""DICOM JSON (PS3.18 F.2) for the index: a dataset's top-level elements with bulk data as URI markers.

Large binary values become ``{"vr": .., "BulkDataURI": "bulk/<tag>"}``: a marker relative to the
instance's WADO-RS URL, made absolute by the retrieve service when a response is written.
"""

from __future__ import annotations

import logging
from typing import Any

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from pacs.charsets import clean_json_strings

logger = logging.getLogger(__name__)

BULK_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
BULK_THRESHOLD = 1024
PIXEL_DATA_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
BULK_MARKER_PREFIX = "bulk/"
_INLINE_EVERYTHING = 2**62


def bulk_marker(tag: int) -> str:
    return f"{BULK_MARKER_PREFIX}{tag:08X}"


def dataset_to_index_json(dataset: Dataset) -> dict[str, dict[str, Any]]:
    """Top-level DICOM JSON of ``dataset``; Pixel Data and large binary values as bulk markers.

    Pixel Data is never read here: for a dataset read with ``defer_size`` it stays on disk.
    Elements whose value cannot be converted are left out and logged, as a tolerant archive must.
    """
    result: dict[str, dict[str, Any]] = {}
    for tag in sorted(dataset.keys()):
        if tag.element == 0 or tag.group == 0x0002:
            continue  # group lengths and file meta are not part of the dataset's JSON
        key = f"{int(tag):08X}"
        raw = dataset.get_item(tag, keep_deferred=True)
        vr = raw.VR if raw is not None else None
        if int(tag) in PIXEL_DATA_TAGS:
            result[key] = {"vr": _pixel_vr(dataset, raw), "BulkDataURI": bulk_marker(int(tag))}
            continue
        if isinstance(raw, RawDataElement) and vr in BULK_VRS and (raw.length or 0) > BULK_THRESHOLD:
            result[key] = {"vr": vr, "BulkDataURI": bulk_marker(int(tag))}
            continue
        try:
            element: DataElement = dataset[tag]
            if element.VR in BULK_VRS and element.value is not None and len(element.value) > BULK_THRESHOLD:
                result[key] = {"vr": element.VR, "BulkDataURI": bulk_marker(int(tag))}
            else:
                result[key] = element.to_json_dict(None, _INLINE_EVERYTHING)
        except Exception as exc:  # noqa: BLE001 - one bad element must not refuse the whole instance
            logger.warning("Leaving out %s from the index JSON: %s", Tag(tag), exc)
    if "2022" in str(dataset.get("SpecificCharacterSet", "")):
        result = clean_json_strings(result)
    return result


def _pixel_vr(dataset: Dataset, raw: RawDataElement | DataElement | None) -> str:
    vr = getattr(raw, "VR", None)
    if vr in ("OB", "OW", "OF", "OD"):
        return str(vr)
    return "OW" if int(dataset.get("BitsAllocated", 8) or 8) > 8 else "OB"
