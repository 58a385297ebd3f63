"""Parse and check one Part 10 instance: the first steps of ingest, before anything is written."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from pacs.dicomjson import PIXEL_DATA_TAGS
from pacs.ingest import errors
from pacs.ingest.errors import DicomStatusError
from pacs.ingest.frames import FrameIndexError, build_frame_index

logger = logging.getLogger(__name__)

# Transfer syntaxes whose stored bytes cannot be addressed frame by frame: the dataset is deflated,
# or its words are big endian and must be swapped before a little-endian client can use them.
_NOT_OFFSET_ADDRESSABLE = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"})


@dataclass
class ParsedInstance:
    buffer: bytes
    dataset: Dataset
    pixel_data: RawDataElement | None  # as read, before any value is converted: it has the offset
    transfer_syntax: UID
    sha256: str
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str


def parse_instance(buffer: bytes) -> ParsedInstance:
    if len(buffer) < 8:
        raise DicomStatusError(errors.CANNOT_UNDERSTAND, "Not a DICOM file: too short")
    try:
        dataset = pydicom.dcmread(io.BytesIO(buffer), defer_size=1024)
    except InvalidDicomError:
        dataset, buffer = _parse_without_file_meta(buffer)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types for broken input
        raise DicomStatusError(errors.CANNOT_UNDERSTAND, f"Cannot parse DICOM: {exc}") from exc

    transfer_syntax = UID(str(dataset.file_meta.get("TransferSyntaxUID", "")))
    if not transfer_syntax:
        raise DicomStatusError(errors.CANNOT_UNDERSTAND, "File Meta Information has no Transfer Syntax UID")
    if not transfer_syntax.is_transfer_syntax:
        raise DicomStatusError(
            errors.TRANSFER_SYNTAX_NOT_SUPPORTED, f"Transfer syntax {transfer_syntax} is not supported"
        )
    pixel_data = dataset.get_item(0x7FE00010, keep_deferred=True)
    _check_complete(buffer, dataset)
    return ParsedInstance(
        buffer=buffer,
        dataset=dataset,
        pixel_data=pixel_data if isinstance(pixel_data, RawDataElement) else None,
        transfer_syntax=transfer_syntax,
        sha256=hashlib.sha256(buffer).hexdigest(),
        study_uid=_uid(dataset, "StudyInstanceUID"),
        series_uid=_uid(dataset, "SeriesInstanceUID"),
        sop_uid=_uid(dataset, "SOPInstanceUID"),
        sop_class_uid=_uid(dataset, "SOPClassUID"),
    )


def _parse_without_file_meta(buffer: bytes) -> tuple[Dataset, bytes]:
    """A bare dataset (no preamble, no File Meta): accepted when it holds the identifying UIDs, and
    rewritten as a Part 10 file in its own encoding so the stored file is standard."""
    try:
        dataset = pydicom.dcmread(io.BytesIO(buffer), force=True)
        if "SOPInstanceUID" not in dataset or "SOPClassUID" not in dataset:
            raise DicomStatusError(errors.CANNOT_UNDERSTAND, "Not a DICOM file: no preamble, no SOP UIDs")
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = dataset.SOPClassUID
        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        if dataset.original_encoding[0]:
            meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        elif dataset.original_encoding[1]:
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
        else:
            meta.TransferSyntaxUID = pydicom.uid.ExplicitVRBigEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        dataset.file_meta = meta
        out = io.BytesIO()
        dataset.save_as(out, enforce_file_format=True)
        rewritten = out.getvalue()
        return pydicom.dcmread(io.BytesIO(rewritten), defer_size=1024), rewritten
    except DicomStatusError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DicomStatusError(errors.CANNOT_UNDERSTAND, f"Not a DICOM file: {exc}") from exc


def _check_complete(buffer: bytes, dataset: Dataset) -> None:
    """Refuse truncated files: every element must be readable and end inside the buffer."""
    tags = list(dataset.keys())
    if not tags:
        raise DicomStatusError(errors.CANNOT_UNDERSTAND, "The file has no data set after its File Meta Information")
    # pydicom stops quietly at the end of a truncated file; the last element then claims more bytes
    # than there are.
    last = dataset.get_item(tags[-1], keep_deferred=True)
    # In a deflated file value_tell counts inflated bytes; it cannot be compared with the stored length.
    deflated = dataset.file_meta.get("TransferSyntaxUID") == pydicom.uid.DeflatedExplicitVRLittleEndian
    if not deflated and isinstance(last, RawDataElement) and last.length != 0xFFFFFFFF and last.value_tell is not None:
        if last.value_tell + last.length > len(buffer):
            raise DicomStatusError(
                errors.CANNOT_UNDERSTAND, f"Truncated file: element {last.tag} ends past the end of the data"
            )
    try:
        _convert_all(dataset)
    except Exception as exc:  # noqa: BLE001
        raise DicomStatusError(errors.CANNOT_UNDERSTAND, f"Cannot parse DICOM: {exc}") from exc


def _convert_all(dataset: Dataset) -> None:
    """Convert every value except pixel data (which stays deferred on disk) to find broken encodings."""
    for tag in list(dataset.keys()):
        if tag in PIXEL_DATA_TAGS:
            continue
        element = dataset[tag]
        if element.VR == "SQ":
            for item in element.value:
                _convert_all(item)


def _uid(dataset: Dataset, keyword: str) -> str:
    value = str(dataset.get(keyword, "") or "").strip("\x00 ")
    if not value:
        raise DicomStatusError(errors.DATASET_DOES_NOT_MATCH, f"Missing {keyword}")
    if len(value) > 64 or not UID(value).is_valid:
        raise DicomStatusError(errors.DATASET_DOES_NOT_MATCH, f"Invalid {keyword}: {value[:64]}")
    return value


def frame_index_of(parsed: ParsedInstance) -> list:
    dataset = parsed.dataset
    raw = parsed.pixel_data
    if raw is None or parsed.transfer_syntax in _NOT_OFFSET_ADDRESSABLE or "Rows" not in dataset:
        return []
    if raw.value_tell is None:
        return []
    encapsulated = parsed.transfer_syntax.is_encapsulated
    length = len(parsed.buffer) - raw.value_tell if raw.length == 0xFFFFFFFF else raw.length
    try:
        return build_frame_index(
            buffer=parsed.buffer,
            dataset=dataset,
            value_offset=raw.value_tell,
            value_length=length,
            encapsulated=encapsulated,
        )
    except (FrameIndexError, AttributeError, ValueError) as exc:
        # Still stored and served: frames are then decoded from the dataset instead of read by offset.
        logger.warning("No frame index for %s: %s", parsed.sop_uid, exc)
        return []
