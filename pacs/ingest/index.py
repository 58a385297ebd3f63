"""Index one stored instance: patient, study, series and instance rows in one transaction.

The study and series rows are locked (SELECT ... FOR UPDATE) so concurrent associations adding to the
same study keep its counts right; a unique-constraint race (two first instances of a new study at
once) is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

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

Row = TypeVar("Row", Patient, Study, Series)

logger = logging.getLogger(__name__)

_INDEX_ATTEMPTS = 3


@dataclass(frozen=True)
class IndexItem:
    """One written file to index: what was parsed from it, where it is, and what it replaces."""

    parsed: ParsedInstance
    relative_path: str
    frame_index: list
    index_json: dict
    replacing: Instance | None = None


def index_with_retries(
    *,
    items: Sequence[IndexItem],
    organization: Organization,
    on_commit: Callable[[list[Instance]], None],
) -> list[int]:
    """Index the items in one transaction; ``on_commit`` runs with the new rows once it has committed.

    One transaction per batch rather than per instance: a STOW-RS request of many instances costs one
    commit and one update of each study and series it touches, not one of each per instance.
    """
    for attempt in range(1, _INDEX_ATTEMPTS + 1):
        try:
            return _index(items=items, organization=organization, on_commit=on_commit)
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
    items: Sequence[IndexItem],
    organization: Organization,
    on_commit: Callable[[list[Instance]], None],
) -> list[int]:
    with transaction.atomic():
        for item in items:
            if item.replacing is not None:
                instance_remove(item.replacing)
        # Later instances of a patient, study or series win, as they would one by one.
        patients = {_patient_key(item.parsed.dataset): item for item in items}
        patient_rows = {
            key: _patient_upsert(organization, item.parsed.dataset, item.index_json) for key, item in patients.items()
        }
        studies: dict[str, Study] = {}
        series_rows: dict[tuple[str, str], Series] = {}
        updates: dict[Study | Series, _LevelUpdate] = {}
        new_studies: set[Study] = set()
        studies_with_new_series: set[Study] = set()
        instances = []
        for item in items:
            parsed = item.parsed
            study = studies.get(parsed.study_uid)
            if study is None:
                study, study_created = _locked_get_or_create(
                    Study,
                    {"organization": organization, "study_instance_uid": parsed.study_uid},
                    {"patient": patient_rows[_patient_key(parsed.dataset)]},
                )
                studies[parsed.study_uid] = study
                updates[study] = _LevelUpdate()
                if study_created:
                    new_studies.add(study)
            series_key = (parsed.study_uid, parsed.series_uid)
            series = series_rows.get(series_key)
            if series is None:
                series, series_created = _locked_get_or_create(
                    Series, {"study": study, "series_instance_uid": parsed.series_uid}, {}
                )
                series_rows[series_key] = series
                updates[series] = _LevelUpdate()
                if series_created:
                    studies_with_new_series.add(study)
            instances.append(_instance_row(item, series))
            dataset = parsed.dataset
            updates[series].add(series, _series_values(series, dataset, item.index_json), size=0)
            updates[study].add(study, _study_values(study, dataset, item.index_json), size=len(parsed.buffer))

        Instance.objects.bulk_create(instances)
        now = timezone.now()
        # Counts, the metadata version and any changed level attributes go in one UPDATE per row.
        for series in series_rows.values():
            update = updates[series]
            Series.objects.filter(pk=series.pk).update(
                number_of_instances=F("number_of_instances") + update.count,
                metadata_version=F("metadata_version") + update.count,
                updated_at=now,
                **update.changed,
            )
        for study in studies.values():
            update = updates[study]
            summary = {}
            if study in new_studies:
                # All of a new study's series are in this batch: its summary needs no query.
                summary = _series_summary([row for row in series_rows.values() if row.study_id == study.pk])
            Study.objects.filter(pk=study.pk).update(
                number_of_instances=F("number_of_instances") + update.count,
                size_bytes=F("size_bytes") + update.size,
                updated_at=now,
                **update.changed,
                **summary,
            )
        for study in studies_with_new_series - new_studies:
            study_refresh_series_summary(study.pk)

        transaction.on_commit(lambda: on_commit(instances), robust=True)
    return [instance.pk for instance in instances]


def _locked_get_or_create(model: type[Row], lookup: dict[str, Any], defaults: dict[str, Any]) -> tuple[Row, bool]:
    """The row, locked for the rest of the transaction, or a new one.

    Unlike ``QuerySet.get_or_create`` this takes no savepoint: when another transaction inserts the
    same row first, the IntegrityError aborts the whole batch and :func:`index_with_retries` runs it
    again, so two round trips per new row are saved.
    """
    row = model.objects.select_for_update().filter(**lookup).first()
    if row is not None:
        return row, False
    return model.objects.create(**lookup, **defaults), True


def _series_summary(series_rows: list[Series]) -> dict[str, Any]:
    modalities = sorted({row.modality for row in series_rows if row.modality})
    return {"number_of_series": len(series_rows), "modalities_in_study": " ".join(modalities)}


class _LevelUpdate:
    """What a batch changes in one study or series row: instances added, bytes added, attributes."""

    def __init__(self) -> None:
        self.count = 0
        self.size = 0
        self.changed: dict[str, Any] = {}

    def add(self, row: Study | Series, values: dict[str, Any], *, size: int) -> None:
        changed = _changed(row, values)
        for field, value in changed.items():
            setattr(row, field, value)  # the next instance compares with (and merges into) this one
        self.changed.update(changed)
        self.count += 1
        self.size += size


def _instance_row(item: IndexItem, series: Series) -> Instance:
    parsed = item.parsed
    dataset = parsed.dataset
    return Instance(
        series=series,
        sop_instance_uid=parsed.sop_uid,
        sop_class_uid=parsed.sop_class_uid,
        instance_number=_int(dataset.get("InstanceNumber")),
        transfer_syntax_uid=str(parsed.transfer_syntax),
        file_path=item.relative_path,
        file_size=len(parsed.buffer),
        file_sha256=parsed.sha256,
        rows=_int(dataset.get("Rows")),
        columns=_int(dataset.get("Columns")),
        number_of_frames=len(item.frame_index) or _declared_frames(dataset),
        frame_index=item.frame_index,
        metadata=item.index_json,
    )


def _declared_frames(dataset: Dataset) -> int:
    if "PixelData" not in dataset:
        return 0
    return _int(dataset.get("NumberOfFrames")) or 1


def _patient_key(dataset: Dataset) -> tuple[str, str]:
    return _text(dataset, "PatientID", 64), _text(dataset, "IssuerOfPatientID", 64)


def _patient_upsert(organization: Organization, dataset: Dataset, index_json: dict) -> Patient:
    patient_id, issuer = _patient_key(dataset)
    name = strip_escape_sequences(str(dataset.get("PatientName", "") or ""))
    pinyin, initials = names.pinyin_forms(name)
    values = {
        "patient_name": name[:324],
        "patient_name_folded": names.fold(name)[:324],
        "patient_name_pinyin": pinyin[:324],
        "patient_name_initials": initials[:64],
        "birth_date": _date(dataset.get("PatientBirthDate")),
        "sex": _text(dataset, "PatientSex", 16),
        "attributes": levels.subset(index_json, levels.PATIENT_TAGS),
    }
    patient, created = _locked_get_or_create(
        Patient, {"organization": organization, "patient_id": patient_id, "issuer_of_patient_id": issuer}, values
    )
    if created:
        return patient
    changed = _changed(patient, values)
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
