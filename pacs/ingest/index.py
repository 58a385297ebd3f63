"""Index a batch of stored instances: patient, study, series and instance rows in one transaction.

The patient, study and series rows are locked (SELECT ... FOR UPDATE, a query per table for the whole
batch) so concurrent associations adding to the same study keep its counts right; a unique-constraint
race (two first instances of a new study at once) or a deadlock the database broke is retried.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import F, QuerySet
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
    on_commit: Callable[[list[Instance], list[int]], None],
) -> list[int]:
    """Index the items in one transaction; once it has committed, ``on_commit`` runs with the new
    instance rows and the ids of the studies the batch created.

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
            if _transaction_rolled_back(exc) and attempt < _INDEX_ATTEMPTS:
                # A deadlock PostgreSQL broke, or a serialization failure: nothing was written, run again.
                logger.warning("Index transaction rolled back by the database, retrying: %s", exc)
                continue
            logger.error("Database unavailable while indexing: %s", exc)
            raise DicomStatusError(errors.OUT_OF_RESOURCES, "Database unavailable") from exc
        except DatabaseError as exc:
            logger.exception("Database error while indexing")
            raise DicomStatusError(errors.PROCESSING_FAILURE, f"Database error: {exc}") from exc
    raise AssertionError("unreachable")


def _transaction_rolled_back(exc: OperationalError) -> bool:
    """Whether the database ended the transaction to resolve a conflict (SQLSTATE class 40)."""
    return str(getattr(exc.__cause__, "sqlstate", "") or "").startswith("40")


def _index(
    *,
    items: Sequence[IndexItem],
    organization: Organization,
    on_commit: Callable[[list[Instance], list[int]], None],
) -> list[int]:
    with transaction.atomic():
        replaced = [item.replacing for item in items if item.replacing is not None]
        if replaced:
            # Removing an instance updates its series and study rows: their patients are locked first,
            # with the batch's own, as every batch locks them before a study (see _known_series_locked).
            keys = {_patient_key(item.parsed.dataset) for item in items} | _patient_keys_of(replaced)
            _patients_locked(organization, keys)
            for instance in replaced:
                instance_remove(instance)
        now = timezone.now()
        # Later instances of a study or series win, as they would one by one.
        study_items = {item.parsed.study_uid: item for item in items}
        known = _known_series_locked(organization, items) if _recently_indexed(organization, items) else None
        if known is not None:
            patient_rows, studies, series_rows = known
            _patients_bring_up_to_date(items, patient_rows, now)
        else:
            patient_rows = _patients_upsert(organization, items, now)
            studies = _locked_rows(Study.objects.filter(organization=organization), "study_instance_uid", study_items)
            for uid, item in study_items.items():
                if uid not in studies:
                    patient = patient_rows[_patient_key(item.parsed.dataset)]
                    studies[uid] = Study(organization=organization, study_instance_uid=uid, patient=patient)
            series_rows = _existing_series_locked(items, [study for study in studies.values() if study.pk])
        existing_studies = [study for study in studies.values() if study.pk is not None]
        existing_study_uids = {study.study_instance_uid for study in existing_studies}
        existing_series_keys = set(series_rows)
        _recent_series_note(organization, items)
        for item in items:
            key = (item.parsed.study_uid, item.parsed.series_uid)
            if key not in series_rows:
                series_rows[key] = Series(study=studies[key[0]], series_instance_uid=key[1])

        # Keyed by UIDs: a model instance not saved yet cannot be a dictionary key.
        study_updates = {uid: _LevelUpdate() for uid in studies}
        series_updates = {key: _LevelUpdate() for key in series_rows}
        for item in items:
            parsed = item.parsed
            key = (parsed.study_uid, parsed.series_uid)
            study, series = studies[parsed.study_uid], series_rows[key]
            dataset = parsed.dataset
            series_updates[key].add(series, _series_values(series, dataset, item.index_json), size=0)
            study_updates[parsed.study_uid].add(
                study, _study_values(study, dataset, item.index_json), size=len(parsed.buffer)
            )
        for key, series in series_rows.items():
            update = series_updates[key]
            series.number_of_instances += update.count
            series.metadata_version += update.count
            series.updated_at = now
        for uid, study in studies.items():
            update = study_updates[uid]
            study.number_of_instances += update.count
            study.size_bytes += update.size
            study.updated_at = now

        # A new row is inserted with its counts and attributes complete; only rows that were already
        # there get an UPDATE. All of a new study's series are in this batch: its summary needs no query.
        new_studies = [study for study in studies.values() if study.pk is None]
        for study in new_studies:
            summary = _series_summary([row for row in series_rows.values() if row.study is study])
            for field, value in summary.items():
                setattr(study, field, value)
        if new_studies:
            Study.objects.bulk_create(new_studies)
        # Each new series takes its study's primary key, known now, when it is inserted.
        new_series = [row for row in series_rows.values() if row.pk is None]
        if new_series:
            Series.objects.bulk_create(new_series)
        instances = [
            _instance_row(item, series_rows[(item.parsed.study_uid, item.parsed.series_uid)]) for item in items
        ]
        Instance.objects.bulk_create(instances)
        _rows_update(
            Series,
            [(row, series_updates[key]) for key, row in series_rows.items() if key in existing_series_keys],
            ["number_of_instances", "metadata_version", "updated_at"],
        )
        _rows_update(
            Study,
            [(row, study_updates[uid]) for uid, row in studies.items() if uid in existing_study_uids],
            ["number_of_instances", "size_bytes", "updated_at"],
        )
        studies_with_new_series = {row.study_id for row in new_series}
        for study in existing_studies:
            if study.pk in studies_with_new_series:
                study_refresh_series_summary(study.pk)

        new_study_ids = [study.pk for study in new_studies]
        transaction.on_commit(lambda: on_commit(instances, new_study_ids), robust=True)
    return [instance.pk for instance in instances]


def _locked_rows(queryset: QuerySet[Row], key_field: str, keys: Iterable[Any]) -> dict[Any, Row]:
    """The rows whose ``key_field`` is in ``keys``, locked for the rest of the transaction: one query.

    Rows are locked in key order so that two batches sharing rows wait for each other rather than
    deadlock. No savepoint is taken for the inserts that follow: when another transaction inserts one of
    the missing rows first, the IntegrityError aborts the whole batch and :func:`index_with_retries`
    runs it again.
    """
    found = queryset.select_for_update().filter(**{f"{key_field}__in": list(keys)}).order_by(key_field)
    return {getattr(row, key_field): row for row in found}


# Series this process indexed lately, by (organization, study UID, series UID): a hint, checked in the
# database, that a batch joins series that exist, so the one-query path is worth trying first. Without
# it a batch of new studies would pay for that query and then take the general path anyway.
_RECENT_SERIES_MAX = 1024
_recent_series: OrderedDict[tuple[int, str, str], None] = OrderedDict()
_recent_series_lock = threading.Lock()


def _series_keys(organization: Organization, items: Sequence[IndexItem]) -> set[tuple[int, str, str]]:
    return {(organization.pk, item.parsed.study_uid, item.parsed.series_uid) for item in items}


def _recently_indexed(organization: Organization, items: Sequence[IndexItem]) -> bool:
    with _recent_series_lock:
        return all(key in _recent_series for key in _series_keys(organization, items))


def _recent_series_note(organization: Organization, items: Sequence[IndexItem]) -> None:
    with _recent_series_lock:
        for key in _series_keys(organization, items):
            _recent_series[key] = None
            _recent_series.move_to_end(key)
        while len(_recent_series) > _RECENT_SERIES_MAX:
            _recent_series.popitem(last=False)


def _known_series_locked(
    organization: Organization, items: Sequence[IndexItem]
) -> tuple[dict[tuple[str, str], Patient], dict[str, Study], dict[tuple[str, str], Series]] | None:
    """When every item joins a series already indexed, under the patient its study already has: the
    patient, study and series rows, locked, in two queries (instead of one per table); else None.

    That is every instance of a series after its first, most of what a modality sends. The patients are
    locked first, as on the general path: every batch touching a study holds its patient's lock before
    the study's, so concurrent batches queue on the patient instead of deadlocking. (One query locking
    all three tables took the series' lock first; with 4 STOW-RS clients filling one new series, the
    batch on the general path and the one here deadlocked until the retries ran out.)
    """
    _patients_locked(organization, {_patient_key(item.parsed.dataset) for item in items})
    wanted = {(item.parsed.study_uid, item.parsed.series_uid) for item in items}
    found = (
        Series.objects.select_related("study__patient")
        .select_for_update(of=("self", "study"))
        .filter(
            study__organization=organization,
            study__study_instance_uid__in={study_uid for study_uid, _ in wanted},
            series_instance_uid__in={series_uid for _, series_uid in wanted},
        )
        .order_by("study__study_instance_uid", "series_instance_uid")
    )
    series_rows = {(row.study.study_instance_uid, row.series_instance_uid): row for row in found}
    if not wanted <= series_rows.keys():
        return None
    studies = {row.study.study_instance_uid: row.study for row in series_rows.values()}
    patients: dict[tuple[str, str], Patient] = {}
    for item in items:
        patient = studies[item.parsed.study_uid].patient
        key = _patient_key(item.parsed.dataset)
        if key != (patient.patient_id, patient.issuer_of_patient_id):
            return None  # an instance naming another patient than its study's: the general path decides
        patients[key] = patient
    return patients, studies, {key: series_rows[key] for key in wanted}


def _existing_series_locked(items: Sequence[IndexItem], studies: list[Study]) -> dict[tuple[str, str], Series]:
    """The series rows of ``items`` that exist, keyed by (study UID, series UID) and locked; only an
    existing study can have them."""
    if not studies:
        return {}
    wanted_series = {item.parsed.series_uid for item in items}
    uid_of_study = {study.pk: study.study_instance_uid for study in studies}
    found = (
        Series.objects.select_for_update()
        .filter(study__in=studies, series_instance_uid__in=wanted_series)
        .order_by("study_id", "series_instance_uid")
    )
    return {(uid_of_study[row.study_id], row.series_instance_uid): row for row in found}


def _rows_update(
    model: type[Study] | type[Series],
    rows: Iterable[tuple[Study | Series, _LevelUpdate]],
    always: list[str],
) -> None:
    """Write the counts and changed attributes of existing ``rows``, one plain UPDATE each: a batch
    touches a study or two, and ``bulk_update``'s CASE expressions cost more to build than the queries
    cost to run (about a sixth of a STOW-RS request's time when profiled)."""
    for row, update in rows:
        fields = [*always, *update.changed]
        model.objects.filter(pk=row.pk).update(**{field: getattr(row, field) for field in fields})


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


def _patient_values(dataset: Dataset, index_json: dict) -> dict[str, Any]:
    name = strip_escape_sequences(str(dataset.get("PatientName", "") or ""))
    return {
        **names.patient_name_columns(name),
        "birth_date": _date(dataset.get("PatientBirthDate")),
        "sex": _text(dataset, "PatientSex", 16),
        "attributes": levels.subset(index_json, levels.PATIENT_TAGS),
    }


def _patients_locked(organization: Organization, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Patient]:
    """The patient rows with these IDs, locked in (ID, issuer) order: every batch's first lock."""
    found = (
        Patient.objects.select_for_update()
        .filter(organization=organization, patient_id__in=sorted({patient_id for patient_id, _ in keys}))
        .order_by("patient_id", "issuer_of_patient_id")
    )
    return {(row.patient_id, row.issuer_of_patient_id): row for row in found}


def _patient_keys_of(instances: Sequence[Instance]) -> set[tuple[str, str]]:
    """The (ID, issuer) of the patients these indexed instances belong to."""
    rows = Patient.objects.filter(studies__series__instances__in=instances).values_list(
        "patient_id", "issuer_of_patient_id"
    )
    return set(rows)


def _patients_upsert(
    organization: Organization, items: Sequence[IndexItem], now: datetime
) -> dict[tuple[str, str], Patient]:
    """The patient row of each item, created or brought up to date (the batch's last instance of a
    patient wins), locked for the rest of the transaction."""
    latest = {_patient_key(item.parsed.dataset): item for item in items}
    values = {key: _patient_values(item.parsed.dataset, item.index_json) for key, item in latest.items()}
    rows = _patients_locked(organization, latest.keys())
    missing = [
        Patient(organization=organization, patient_id=key[0], issuer_of_patient_id=key[1], **values[key])
        for key in latest
        if key not in rows
    ]
    if missing:
        Patient.objects.bulk_create(missing)
    _patients_bring_up_to_date(items, rows, now, values=values)
    rows.update({(row.patient_id, row.issuer_of_patient_id): row for row in missing})
    return rows


def _patients_bring_up_to_date(
    items: Sequence[IndexItem],
    rows: dict[tuple[str, str], Patient],
    now: datetime,
    *,
    values: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> None:
    """Write to the locked patient ``rows`` what the batch's last instance of each patient says, where it differs."""
    if values is None:
        latest = {_patient_key(item.parsed.dataset): item for item in items}
        values = {key: _patient_values(item.parsed.dataset, item.index_json) for key, item in latest.items()}
    changed_rows = []
    changed_fields: set[str] = set()
    for key in values.keys() & rows.keys():
        row = rows[key]
        changed = _changed(row, values[key])
        if changed:
            for field, value in changed.items():
                setattr(row, field, value)
            row.updated_at = now
            changed_rows.append(row)
            changed_fields.update(changed)
    if changed_rows:
        Patient.objects.bulk_update(changed_rows, [*sorted(changed_fields), "updated_at"])


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
