"""Parse, validate, write the file, index it in one transaction, then queue follow-up work on commit.

Duplicate policy (setting ``PACS_DUPLICATE_POLICY``), for a SOP Instance UID already stored in the same
organization:

- byte-identical content: nothing is written; the caller is answered success (outcome ``duplicate``),
  so a modality that re-sends after a lost response is not told it failed;
- different content, policy ``replace`` (default): the new instance replaces the old one, file and index
  together (outcome ``replaced``); the newest version is what a corrected re-send expects to be served;
- different content, policy ``keep``: the stored instance is kept and the caller is answered success
  (outcome ``duplicate``), as Orthanc does without ``OverwriteInstances``.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pydicom
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import F
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from pacs import levels, names, storage
from pacs.charsets import strip_escape_sequences
from pacs.dicomjson import PIXEL_DATA_TAGS, dataset_to_index_json
from pacs.ingest import errors
from pacs.ingest.errors import DicomStatusError
from pacs.ingest.frames import FrameIndexError, build_frame_index
from pacs.models import Instance, Organization, Patient, Series, Study
from pacs.signals import instance_stored

logger = logging.getLogger(__name__)

# Transfer syntaxes whose stored bytes cannot be addressed frame by frame: the dataset is deflated,
# or its words are big endian and must be swapped before a little-endian client can use them.
_NOT_OFFSET_ADDRESSABLE = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"})
_INDEX_ATTEMPTS = 3


@dataclass(frozen=True)
class IngestOrigin:
    """Where the bytes came from: decides the organization and what the instance must match."""

    kind: str  # "dimse", "stow", "import", "capture"
    organization: Organization
    description: str = ""
    expected_study_uid: str | None = None
    expected_sop_class_uid: str | None = None


@dataclass(frozen=True)
class IngestResult:
    instance_id: int
    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    outcome: str  # "stored", "replaced", "duplicate"


@dataclass
class _Parsed:
    buffer: bytes
    dataset: Dataset
    pixel_data: RawDataElement | None  # as read, before any value is converted: it has the offset
    transfer_syntax: UID
    sha256: str
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str


def instance_ingest(*, source: bytes | Path, origin: IngestOrigin) -> IngestResult:
    """Store one Part 10 instance durably; raise :class:`DicomStatusError` with the status to answer."""
    buffer = _read_source(source)
    parsed = _parse(buffer)
    _validate(parsed, origin)

    existing = (
        Instance.objects.filter(series__study__organization=origin.organization, sop_instance_uid=parsed.sop_uid)
        .select_related("series__study")
        .first()
    )
    if existing is not None and (
        existing.file_sha256 == parsed.sha256 or settings.PACS_DUPLICATE_POLICY == "keep"
    ):
        return _result(existing.pk, parsed, "duplicate")

    relative_path = storage.instance_relative_path(
        organization_slug=origin.organization.slug,
        study_uid=parsed.study_uid,
        series_uid=parsed.series_uid,
        sop_uid=parsed.sop_uid,
        variant=parsed.sha256[:12] if existing is not None else "",
    )
    frame_index = _frame_index(parsed)
    index_json = dataset_to_index_json(parsed.dataset)
    try:
        storage.write_atomic(relative_path, [parsed.buffer])
    except OSError as exc:
        logger.error("Could not write %s: %s", relative_path, exc)
        raise DicomStatusError(errors.OUT_OF_RESOURCES, f"Storage unavailable: {exc.strerror}") from exc

    try:
        instance_id = _index_with_retries(
            parsed=parsed,
            origin=origin,
            relative_path=relative_path,
            frame_index=frame_index,
            index_json=index_json,
            replacing=existing,
        )
    except BaseException:
        storage.delete(relative_path)
        raise
    outcome = "replaced" if existing is not None else "stored"
    logger.info(
        "Stored %s (%s) from %s %s: %s", parsed.sop_uid, outcome, origin.kind, origin.description, relative_path
    )
    return _result(instance_id, parsed, outcome)


def _result(instance_id: int, parsed: _Parsed, outcome: str) -> IngestResult:
    return IngestResult(
        instance_id=instance_id,
        sop_class_uid=parsed.sop_class_uid,
        sop_instance_uid=parsed.sop_uid,
        study_instance_uid=parsed.study_uid,
        series_instance_uid=parsed.series_uid,
        outcome=outcome,
    )


def _read_source(source: bytes | Path) -> bytes:
    if isinstance(source, Path):
        try:
            return source.read_bytes()
        except OSError as exc:
            raise DicomStatusError(errors.PROCESSING_FAILURE, f"Cannot read {source.name}: {exc.strerror}") from exc
    return bytes(source)


# --- parse and validate ---------------------------------------------------------------------------


def _parse(buffer: bytes) -> _Parsed:
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
    return _Parsed(
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
    if isinstance(last, RawDataElement) and last.length != 0xFFFFFFFF and last.value_tell is not None:
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


def _validate(parsed: _Parsed, origin: IngestOrigin) -> None:
    if origin.expected_study_uid and parsed.study_uid != origin.expected_study_uid:
        raise DicomStatusError(
            errors.DATASET_DOES_NOT_MATCH,
            f"Instance belongs to study {parsed.study_uid}, not {origin.expected_study_uid}",
        )
    if origin.expected_sop_class_uid and parsed.sop_class_uid != origin.expected_sop_class_uid:
        raise DicomStatusError(
            errors.DATASET_DOES_NOT_MATCH,
            f"SOP Class {parsed.sop_class_uid} differs from the negotiated {origin.expected_sop_class_uid}",
        )


def _frame_index(parsed: _Parsed) -> list:
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


# --- index ----------------------------------------------------------------------------------------


def _index_with_retries(**kwargs) -> int:
    for attempt in range(1, _INDEX_ATTEMPTS + 1):
        try:
            return _index(**kwargs)
        except IntegrityError:
            # Another association created the same patient/study/series first: run again, it exists now.
            if attempt == _INDEX_ATTEMPTS:
                raise DicomStatusError(errors.PROCESSING_FAILURE, "Concurrent index update failed") from None
        except OperationalError as exc:
            logger.error("Database unavailable while indexing: %s", exc)
            raise DicomStatusError(errors.OUT_OF_RESOURCES, "Database unavailable") from exc
        except DatabaseError as exc:
            logger.exception("Database error while indexing")
            raise DicomStatusError(errors.PROCESSING_FAILURE, f"Database error: {exc}") from exc
    raise AssertionError("unreachable")


def _index(
    *,
    parsed: _Parsed,
    origin: IngestOrigin,
    relative_path: str,
    frame_index: list,
    index_json: dict,
    replacing: Instance | None,
) -> int:
    dataset = parsed.dataset
    organization = origin.organization
    with transaction.atomic():
        if replacing is not None:
            _instance_remove(replacing)
        patient = _patient_upsert(organization, dataset, index_json)
        study, study_created = Study.objects.select_for_update().get_or_create(
            organization=organization,
            study_instance_uid=parsed.study_uid,
            defaults={"patient": patient},
        )
        _study_update(study, dataset, index_json)
        series, series_created = Series.objects.select_for_update().get_or_create(
            study=study, series_instance_uid=parsed.series_uid
        )
        _series_update(series, dataset, index_json)

        instance = Instance.objects.create(
            series=series,
            sop_instance_uid=parsed.sop_uid,
            sop_class_uid=parsed.sop_class_uid,
            instance_number=_int(dataset.get("InstanceNumber")),
            transfer_syntax_uid=str(parsed.transfer_syntax),
            file_path=relative_path,
            file_size=len(parsed.buffer),
            file_sha256=parsed.sha256,
            rows=_int(dataset.get("Rows")),
            columns=_int(dataset.get("Columns")),
            number_of_frames=len(frame_index) or (_int(dataset.get("NumberOfFrames")) or (1 if "PixelData" in dataset else 0)),
            frame_index=frame_index,
            metadata=index_json,
        )
        Series.objects.filter(pk=series.pk).update(
            number_of_instances=F("number_of_instances") + 1, metadata_version=F("metadata_version") + 1
        )
        Study.objects.filter(pk=study.pk).update(
            number_of_instances=F("number_of_instances") + 1,
            size_bytes=F("size_bytes") + len(parsed.buffer),
        )
        if series_created or study_created:
            study_refresh_series_summary(study.pk)

        old_path = replacing.file_path if replacing is not None else None
        transaction.on_commit(
            lambda: _after_commit(instance, origin, old_path, replacing is not None), robust=True
        )
    return instance.pk


def _patient_upsert(organization: Organization, dataset: Dataset, index_json: dict) -> Patient:
    patient_id = _text(dataset, "PatientID", 64)
    issuer = _text(dataset, "IssuerOfPatientID", 64)
    patient, _created = Patient.objects.select_for_update().get_or_create(
        organization=organization, patient_id=patient_id, issuer_of_patient_id=issuer
    )
    name = strip_escape_sequences(str(dataset.get("PatientName", "") or ""))
    pinyin, initials = names.pinyin_forms(name)
    patient.patient_name = name[:324]
    patient.patient_name_folded = names.fold(name)[:324]
    patient.patient_name_pinyin = pinyin[:324]
    patient.patient_name_initials = initials[:64]
    patient.birth_date = _date(dataset.get("PatientBirthDate"))
    patient.sex = _text(dataset, "PatientSex", 16)
    patient.attributes = levels.subset(index_json, levels.PATIENT_TAGS)
    patient.save()
    return patient


def _study_update(study: Study, dataset: Dataset, index_json: dict) -> None:
    study.study_date = _date(dataset.get("StudyDate"))
    study.study_time = _text(dataset, "StudyTime", 16)
    study.accession_number = _text(dataset, "AccessionNumber", 64)
    study.study_id = _text(dataset, "StudyID", 16)
    study.study_description = _text(dataset, "StudyDescription", 128)
    study.referring_physician_name = _text(dataset, "ReferringPhysicianName", 324)
    study.attributes = {**study.attributes, **levels.subset(index_json, levels.STUDY_TAGS)}
    study.save()


def _series_update(series: Series, dataset: Dataset, index_json: dict) -> None:
    series.modality = _text(dataset, "Modality", 16)
    series.series_number = _int(dataset.get("SeriesNumber"))
    series.series_description = _text(dataset, "SeriesDescription", 128)
    series.body_part_examined = _text(dataset, "BodyPartExamined", 64)
    series.performed_procedure_step_start_date = _date(dataset.get("PerformedProcedureStepStartDate"))
    series.performed_procedure_step_start_time = _text(dataset, "PerformedProcedureStepStartTime", 16)
    series.attributes = {**series.attributes, **levels.subset(index_json, levels.SERIES_TAGS)}
    series.save()


def _instance_remove(instance: Instance) -> None:
    """Take an instance out of the index (inside the caller's transaction), keeping counts right."""
    series_id = instance.series_id
    study_id = instance.series.study_id
    instance.delete()
    Series.objects.filter(pk=series_id).update(
        number_of_instances=F("number_of_instances") - 1, metadata_version=F("metadata_version") + 1
    )
    Study.objects.filter(pk=study_id).update(
        number_of_instances=F("number_of_instances") - 1, size_bytes=F("size_bytes") - instance.file_size
    )
    if not Instance.objects.filter(series_id=series_id).exists():
        Series.objects.filter(pk=series_id).delete()
        if not Series.objects.filter(study_id=study_id).exists():
            Study.objects.filter(pk=study_id).delete()
        else:
            study_refresh_series_summary(study_id)


def study_refresh_series_summary(study_id: int) -> None:
    """Recompute NumberOfStudyRelatedSeries and ModalitiesInStudy from the index."""
    modalities = sorted(
        {m for m in Series.objects.filter(study_id=study_id).values_list("modality", flat=True) if m}
    )
    Study.objects.filter(pk=study_id).update(
        number_of_series=Series.objects.filter(study_id=study_id).count(),
        modalities_in_study=" ".join(modalities),
    )


def _after_commit(instance: Instance, origin: IngestOrigin, old_path: str | None, replaced: bool) -> None:
    from pacs.tasks import series_metadata_build_task

    if old_path:
        storage.delete(old_path)
    series_metadata_build_task.delay(instance.series_id)
    instance_stored.send(
        sender=Instance,
        instance_id=instance.pk,
        series_id=instance.series_id,
        study_id=instance.series.study_id,
        organization_id=origin.organization.pk,
        origin_kind=origin.kind,
        outcome="replaced" if replaced else "stored",
    )


def _text(dataset: Dataset, keyword: str, max_length: int) -> str:
    """A text attribute as stored in an index column: decoded, escape sequences removed, cut to fit."""
    return strip_escape_sequences(str(dataset.get(keyword, "") or ""))[:max_length]


def _int(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _date(value: object) -> date | None:
    text = str(value or "").strip()
    if len(text) == 10 and text[4] == "." and text[7] == ".":  # ACR-NEMA style 1999.12.31
        text = text.replace(".", "")
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
