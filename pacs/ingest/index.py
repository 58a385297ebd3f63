"""Index one stored instance: patient, study, series and instance rows in one transaction.

The study and series rows are locked (SELECT ... FOR UPDATE) so concurrent associations adding to the
same study keep its counts right; a unique-constraint race (two first instances of a new study at
once) is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from pydicom.dataset import Dataset

from pacs import levels, names
from pacs.charsets import strip_escape_sequences
from pacs.ingest import errors
from pacs.ingest.errors import DicomStatusError
from pacs.ingest.parse import ParsedInstance
from pacs.models import Instance, Organization, Patient, Series, Study

logger = logging.getLogger(__name__)

_INDEX_ATTEMPTS = 3


def index_with_retries(
    *,
    parsed: ParsedInstance,
    organization: Organization,
    relative_path: str,
    frame_index: list,
    index_json: dict,
    replacing: Instance | None,
    on_commit: Callable[[Instance], None],
) -> int:
    """Index the instance; ``on_commit`` runs with the new row once the transaction has committed."""
    for attempt in range(1, _INDEX_ATTEMPTS + 1):
        try:
            return _index(
                parsed=parsed,
                organization=organization,
                relative_path=relative_path,
                frame_index=frame_index,
                index_json=index_json,
                replacing=replacing,
                on_commit=on_commit,
            )
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
    parsed: ParsedInstance,
    organization: Organization,
    relative_path: str,
    frame_index: list,
    index_json: dict,
    replacing: Instance | None,
    on_commit: Callable[[Instance], None],
) -> int:
    dataset = parsed.dataset
    with transaction.atomic():
        if replacing is not None:
            instance_remove(replacing)
        patient = _patient_upsert(organization, dataset, index_json)
        study, study_created = Study.objects.select_for_update().get_or_create(
            organization=organization,
            study_instance_uid=parsed.study_uid,
            defaults={"patient": patient},
        )
        series, series_created = Series.objects.select_for_update().get_or_create(
            study=study, series_instance_uid=parsed.series_uid
        )
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
            number_of_frames=len(frame_index) or _declared_frames(dataset),
            frame_index=frame_index,
            metadata=index_json,
        )
        # Counts, the metadata version and any changed level attributes go in one UPDATE per row.
        Series.objects.filter(pk=series.pk).update(
            number_of_instances=F("number_of_instances") + 1,
            metadata_version=F("metadata_version") + 1,
            updated_at=timezone.now(),
            **_changed(series, _series_values(series, dataset, index_json)),
        )
        Study.objects.filter(pk=study.pk).update(
            number_of_instances=F("number_of_instances") + 1,
            size_bytes=F("size_bytes") + len(parsed.buffer),
            updated_at=timezone.now(),
            **_changed(study, _study_values(study, dataset, index_json)),
        )
        if series_created or study_created:
            study_refresh_series_summary(study.pk)

        transaction.on_commit(lambda: on_commit(instance), robust=True)
    return instance.pk


def _declared_frames(dataset: Dataset) -> int:
    if "PixelData" not in dataset:
        return 0
    return _int(dataset.get("NumberOfFrames")) or 1


def _patient_upsert(organization: Organization, dataset: Dataset, index_json: dict) -> Patient:
    patient, _created = Patient.objects.select_for_update().get_or_create(
        organization=organization,
        patient_id=_text(dataset, "PatientID", 64),
        issuer_of_patient_id=_text(dataset, "IssuerOfPatientID", 64),
    )
    name = strip_escape_sequences(str(dataset.get("PatientName", "") or ""))
    pinyin, initials = names.pinyin_forms(name)
    changed = _changed(
        patient,
        {
            "patient_name": name[:324],
            "patient_name_folded": names.fold(name)[:324],
            "patient_name_pinyin": pinyin[:324],
            "patient_name_initials": initials[:64],
            "birth_date": _date(dataset.get("PatientBirthDate")),
            "sex": _text(dataset, "PatientSex", 16),
            "attributes": levels.subset(index_json, levels.PATIENT_TAGS),
        },
    )
    if changed:
        for field, value in changed.items():
            setattr(patient, field, value)
        patient.save(update_fields=[*changed, "updated_at"])
    return patient


def _study_values(study: Study, dataset: Dataset, index_json: dict) -> dict[str, Any]:
    return {
        "study_date": _date(dataset.get("StudyDate")),
        "study_time": _text(dataset, "StudyTime", 16),
        "accession_number": _text(dataset, "AccessionNumber", 64),
        "study_id": _text(dataset, "StudyID", 16),
        "study_description": _text(dataset, "StudyDescription", 128),
        "referring_physician_name": _text(dataset, "ReferringPhysicianName", 324),
        "attributes": {**study.attributes, **levels.subset(index_json, levels.STUDY_TAGS)},
    }


def _series_values(series: Series, dataset: Dataset, index_json: dict) -> dict[str, Any]:
    return {
        "modality": _text(dataset, "Modality", 16),
        "series_number": _int(dataset.get("SeriesNumber")),
        "series_description": _text(dataset, "SeriesDescription", 128),
        "body_part_examined": _text(dataset, "BodyPartExamined", 64),
        "performed_procedure_step_start_date": _date(dataset.get("PerformedProcedureStepStartDate")),
        "performed_procedure_step_start_time": _text(dataset, "PerformedProcedureStepStartTime", 16),
        "attributes": {**series.attributes, **levels.subset(index_json, levels.SERIES_TAGS)},
    }


def _changed(row: Patient | Study | Series, values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from the row's: later instances of a series rarely change anything."""
    return {field: value for field, value in values.items() if getattr(row, field) != value}


def instance_remove(instance: Instance) -> None:
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
    modalities = sorted({m for m in Series.objects.filter(study_id=study_id).values_list("modality", flat=True) if m})
    Study.objects.filter(pk=study_id).update(
        number_of_series=Series.objects.filter(study_id=study_id).count(),
        modalities_in_study=" ".join(modalities),
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
