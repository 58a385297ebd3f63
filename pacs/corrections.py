"""Corrections of a stored study's patient and study attributes: re-association with another patient or order.

:func:`study_reassign` changes what the archive serves for a study, everywhere at once:

- the index: the study moves to the Patient row of the new Patient ID (created when new, its name, birth
  date and sex set; a patient row left without studies is removed); the study's accession number and the
  stored level JSON that C-FIND and QIDO-RS answer from change with it;
- the files: every instance is rewritten with the new values, and the values it replaces are kept in the
  file as an item of the Original Attributes Sequence (PS3.3 C.12.1.1.9.1, reason CORRECT). The rewritten
  file is written beside the old one (the same write and parse as ingest), the instance row takes its
  size, checksum, frame index and metadata, and the old file is deleted after commit;
- the metadata cache: each series' ``metadata_version`` is bumped and its metadata rebuilt.

:func:`series_move` does the same for one series, which leaves its study for another one (an existing
study of the organization, or a new study with the Study Instance UID given): its files take the other
study's Study Instance UID, patient and accession number, the series row moves in the index, the counts
of both studies follow, and a study left without series is removed.

The functions return the old and new values; the caller keeps them for the audit trail, and undoes a
correction by calling the function again with the old values. ``study_corrected`` (``series_moved``) is
sent after commit.
Instances that arrive for the study while it is being corrected make the correction fail and leave
everything as it was: the caller may try again.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import pydicom
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from pacs import levels, names, storage
from pacs.charsets import strip_escape_sequences
from pacs.dicomjson import dataset_to_index_json
from pacs.ingest.index import study_refresh_series_summary
from pacs.ingest.parse import frame_index_of, parse_instance
from pacs.models import Instance, Patient, Series, Study

T = TypeVar("T")

logger = logging.getLogger(__name__)

# kwargs: study_id, organization_id, old, new (keyword -> value, only the attributes that changed)
study_corrected = Signal()
# kwargs: series_id, organization_id, from_study_id (None when that study was removed), to_study_id, old, new
series_moved = Signal()

CORRECTABLE = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "AccessionNumber")
_UNICODE = "ISO_IR 192"
# Character sets that can hold any new value; another one is replaced by UTF-8 when a value needs it.
_ANY_TEXT = frozenset({"ISO_IR 192", "GB18030"})
_TEXT_VRS = frozenset({"PN", "LO", "SH", "ST", "LT", "UC", "UT"})


class CorrectionError(Exception):
    """A correction that cannot be made: an unknown attribute, or a study that changed meanwhile."""


@dataclass(frozen=True)
class StudyCorrection:
    """What a correction changed: DICOM keyword to value, before and after."""

    study_id: int
    old: dict[str, str]
    new: dict[str, str]


@dataclass(frozen=True)
class SeriesMove:
    """What moving a series changed: the studies it left and joined, and the file attributes before and after.

    ``old`` and ``new`` hold StudyInstanceUID and the attributes of :data:`CORRECTABLE` that changed.
    """

    series_id: int
    from_study_id: int
    to_study_id: int
    old: dict[str, str]
    new: dict[str, str]


@dataclass(frozen=True)
class _Rewrite:
    instance_id: int
    series_id: int
    old_path: str
    old_size: int
    relative_path: str
    size: int
    sha256: str
    frame_index: list
    index_json: dict


def study_values(*, study: Study) -> dict[str, str]:
    """The study's correctable attributes as the archive serves them now, in DICOM string form."""
    patient = study.patient
    return {
        "PatientName": patient.patient_name,
        "PatientID": patient.patient_id,
        "IssuerOfPatientID": patient.issuer_of_patient_id,
        "PatientBirthDate": patient.birth_date.strftime("%Y%m%d") if patient.birth_date else "",
        "PatientSex": patient.sex,
        "AccessionNumber": study.accession_number,
    }


def study_reassign(*, study: Study, values: Mapping[str, str], reason: str = "") -> StudyCorrection:
    """Give ``study`` the patient and study attributes in ``values`` (keywords of :data:`CORRECTABLE`).

    Files are written before the index changes and removed again if it cannot; see the module docstring.
    """
    unknown = sorted(set(values) - set(CORRECTABLE))
    if unknown:
        raise CorrectionError(f"These attributes cannot be corrected: {', '.join(unknown)}")
    study = Study.objects.select_related("patient", "organization").get(pk=study.pk)
    old = study_values(study=study)
    changes = {keyword: value for keyword, value in values.items() if old[keyword] != value}
    if not changes:
        return StudyCorrection(study_id=study.pk, old={}, new={})
    instances = list(Instance.objects.filter(series__study=study).select_related("series").order_by("pk"))
    _rewritten_then_indexed(
        instances,
        organization_slug=study.organization.slug,
        study_uid=study.study_instance_uid,
        changes=changes,
        index=lambda rewrites: _index_update(study, rewrites=rewrites, old=old, changes=changes),
    )
    correction = StudyCorrection(study_id=study.pk, old={k: old[k] for k in changes}, new=changes)
    logger.info("Study %s corrected (%s): %s -> %s", study.study_instance_uid, reason, correction.old, changes)
    return correction


def _rewritten_then_indexed(
    instances: list[Instance],
    *,
    organization_slug: str,
    study_uid: str,
    changes: Mapping[str, str],
    index: Callable[[list[_Rewrite]], T],
) -> T:
    """Write every instance again with ``changes`` beside its old file, then run ``index`` on the new
    files in one transaction; when anything fails, the new files go and the old ones still serve."""
    rewrites: list[_Rewrite] = []
    try:
        for instance in instances:
            rewrites.append(
                _rewrite(instance, organization_slug=organization_slug, study_uid=study_uid, changes=changes)
            )
        with transaction.atomic():
            return index(rewrites)
    except BaseException:
        for rewrite in rewrites:
            storage.delete(rewrite.relative_path)
        raise


def _rewrite(instance: Instance, *, organization_slug: str, study_uid: str, changes: Mapping[str, str]) -> _Rewrite:
    """Write the instance's file again with ``changes``, beside the old one; the new file's index data."""
    with storage.open_binary(instance.file_path) as handle:
        dataset = pydicom.dcmread(handle)
    # First, so that the kept old values are copied as decoded text, ready for the new character set.
    _make_room_for(dataset, "".join(changes.values()))
    original = Dataset()
    modified = Dataset()
    for keyword in changes:
        tag = tag_for_keyword(keyword)
        modified.add(deepcopy(dataset[tag]) if tag in dataset else DataElement(tag, dictionary_VR(tag), None))
    original.ModifiedAttributesSequence = [modified]
    original.AttributeModificationDateTime = timezone.now().strftime("%Y%m%d%H%M%S")
    original.ModifyingSystem = settings.DIMSE_AE_TITLE
    original.ReasonForTheAttributeModification = "CORRECT"
    original.SourceOfPreviousValues = ""
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    dataset.OriginalAttributesSequence = [*(dataset.get("OriginalAttributesSequence") or []), original]
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    parsed = parse_instance(out.getvalue())
    relative_path = storage.instance_relative_path(
        organization_slug=organization_slug,
        study_uid=study_uid,
        series_uid=instance.series.series_instance_uid,
        sop_uid=instance.sop_instance_uid,
        variant=parsed.sha256[:12],
    )
    storage.write_atomic(relative_path, [parsed.buffer])
    return _Rewrite(
        instance_id=instance.pk,
        series_id=instance.series_id,
        old_path=instance.file_path,
        old_size=instance.file_size,
        relative_path=relative_path,
        size=len(parsed.buffer),
        sha256=parsed.sha256,
        frame_index=frame_index_of(parsed),
        index_json=dataset_to_index_json(parsed.dataset),
    )


def _make_room_for(dataset: Dataset, text: str) -> None:
    """Switch the dataset to UTF-8 when its character set cannot hold ``text`` (PS3.5 6.1.2.3)."""
    current = dataset.get("SpecificCharacterSet") or ""
    terms = [current] if isinstance(current, str) else list(current)
    if text.isascii() or (len(terms) == 1 and terms[0] in _ANY_TEXT):
        return
    _decode_text(dataset)
    dataset.SpecificCharacterSet = _UNICODE


def _decode_text(dataset: Dataset) -> None:
    """Every text value as plain Unicode, ISO 2022 escape sequences removed, ready to encode anew."""
    dataset.decode()
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                _decode_text(item)
        elif element.VR in _TEXT_VRS and element.value is not None:
            value = element.value
            if isinstance(value, MultiValue):
                element.value = [strip_escape_sequences(str(v)) for v in value]
            elif isinstance(value, str | PersonName):
                element.value = strip_escape_sequences(str(value))


def _da(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if len(value) == 8 else None
    except ValueError:
        return None


def _patient_upsert(organization_id: int, new: Mapping[str, str], index_json: dict) -> Patient:
    """The Patient row of the new identity, created when new, given the new name, birth date and sex."""
    patient, _created = Patient.objects.select_for_update().get_or_create(
        organization_id=organization_id,
        patient_id=new["PatientID"],
        issuer_of_patient_id=new["IssuerOfPatientID"],
    )
    for field, value in names.patient_name_columns(new["PatientName"]).items():
        setattr(patient, field, value)
    patient.birth_date = _da(new["PatientBirthDate"])
    patient.sex = new["PatientSex"]
    patient.attributes = levels.subset(index_json, levels.PATIENT_TAGS)
    patient.save()
    return patient


def _index_update(
    study: Study, *, rewrites: list[_Rewrite], old: Mapping[str, str], changes: Mapping[str, str]
) -> None:
    """Point the index at the rewritten files and the new values (inside the caller's transaction)."""
    new = {**old, **changes}
    locked = Study.objects.select_for_update().get(pk=study.pk)
    now_indexed = dict(Instance.objects.filter(series__study=locked).values_list("pk", "file_path"))
    if now_indexed != {rewrite.instance_id: rewrite.old_path for rewrite in rewrites}:
        raise CorrectionError("The study changed while it was being corrected; try again")
    index_json = rewrites[0].index_json if rewrites else {}
    patient = _patient_upsert(locked.organization_id, new, index_json)
    previous_patient_id = locked.patient_id
    _instances_repoint(rewrites)
    Study.objects.filter(pk=locked.pk).update(
        patient=patient,
        accession_number=new["AccessionNumber"][:64],
        attributes={**locked.attributes, **levels.subset(index_json, levels.STUDY_TAGS)},
        size_bytes=F("size_bytes") + sum(rewrite.size - rewrite.old_size for rewrite in rewrites),
        updated_at=timezone.now(),
    )
    series_ids = sorted({rewrite.series_id for rewrite in rewrites})
    Series.objects.filter(pk__in=series_ids).update(metadata_version=F("metadata_version") + 1)
    if previous_patient_id != patient.pk and not Study.objects.filter(patient_id=previous_patient_id).exists():
        Patient.objects.filter(pk=previous_patient_id).delete()
    old_paths = [rewrite.old_path for rewrite in rewrites]
    before = {keyword: old[keyword] for keyword in changes}
    transaction.on_commit(lambda: _after_commit(locked, series_ids, old_paths, before, dict(changes)))


def _after_commit(
    study: Study, series_ids: list[int], old_paths: list[str], old: dict[str, str], new: dict[str, str]
) -> None:
    from pacs.tasks import series_metadata_build_soon

    for path in old_paths:
        storage.delete(path)
    for series_id in series_ids:
        series_metadata_build_soon(series_id)
    study_corrected.send(sender=Study, study_id=study.pk, organization_id=study.organization_id, old=old, new=new)


def series_move(
    *, series: Series, study_instance_uid: str, values: Mapping[str, str] | None = None, reason: str = ""
) -> SeriesMove:
    """Make ``series`` part of the study ``study_instance_uid`` of its organization.

    When that study is stored, the series takes its patient and accession number (``values`` is
    ignored): a study has one patient. Otherwise a new study is made with that UID, the study-level
    attributes of the series' current study, and its patient and accession number replaced by ``values``
    (keywords of :data:`CORRECTABLE`). Files first, then the index, as :func:`study_reassign`.
    """
    unknown = sorted(set(values or {}) - set(CORRECTABLE))
    if unknown:
        raise CorrectionError(f"These attributes cannot be corrected: {', '.join(unknown)}")
    series = Series.objects.select_related("study__patient", "study__organization").get(pk=series.pk)
    source = series.study
    destination = (
        Study.objects.select_related("patient")
        .filter(organization_id=source.organization_id, study_instance_uid=study_instance_uid)
        .first()
    )
    if destination is not None and destination.pk == source.pk:
        return SeriesMove(series_id=series.pk, from_study_id=source.pk, to_study_id=source.pk, old={}, new={})
    if destination is not None and destination.series.filter(series_instance_uid=series.series_instance_uid).exists():
        raise CorrectionError("The other study already holds a series with this Series Instance UID")
    old = {"StudyInstanceUID": source.study_instance_uid, **study_values(study=source)}
    target = study_values(study=destination) if destination is not None else {**old, **(values or {})}
    target["StudyInstanceUID"] = study_instance_uid
    changes = {keyword: value for keyword, value in target.items() if old[keyword] != value}
    instances = list(Instance.objects.filter(series=series).select_related("series").order_by("pk"))
    to_study_id = _rewritten_then_indexed(
        instances,
        organization_slug=source.organization.slug,
        study_uid=study_instance_uid,
        changes=changes,
        index=lambda rewrites: _series_index_update(
            series, source=source, rewrites=rewrites, new=target, old={k: old[k] for k in changes}
        ),
    )
    move = SeriesMove(
        series_id=series.pk,
        from_study_id=source.pk,
        to_study_id=to_study_id,
        old={k: old[k] for k in changes},
        new=changes,
    )
    logger.info(
        "Series %s moved from study %s to %s (%s)",
        series.series_instance_uid,
        source.study_instance_uid,
        study_instance_uid,
        reason,
    )
    return move


def _series_index_update(
    series: Series, *, source: Study, rewrites: list[_Rewrite], new: Mapping[str, str], old: dict[str, str]
) -> int:
    """Move the series row to the destination study and point it at the rewritten files; the study's id."""
    locked_source = Study.objects.select_for_update().get(pk=source.pk)
    now_indexed = dict(Instance.objects.filter(series_id=series.pk).values_list("pk", "file_path"))
    if now_indexed != {rewrite.instance_id: rewrite.old_path for rewrite in rewrites}:
        raise CorrectionError("The series changed while it was being moved; try again")
    if not Series.objects.filter(pk=series.pk, study_id=locked_source.pk).exists():
        raise CorrectionError("The series changed while it was being moved; try again")
    index_json = rewrites[0].index_json if rewrites else {}
    destination = (
        Study.objects.select_for_update()
        .filter(organization_id=locked_source.organization_id, study_instance_uid=new["StudyInstanceUID"])
        .first()
    )
    if destination is None:
        patient = _patient_upsert(locked_source.organization_id, new, index_json)
        destination = Study.objects.create(
            organization_id=locked_source.organization_id,
            patient=patient,
            study_instance_uid=new["StudyInstanceUID"],
            study_date=locked_source.study_date,
            study_time=locked_source.study_time,
            accession_number=new["AccessionNumber"][:64],
            study_id=locked_source.study_id,
            study_description=locked_source.study_description,
            referring_physician_name=locked_source.referring_physician_name,
            attributes={**locked_source.attributes, **levels.subset(index_json, levels.STUDY_TAGS)},
        )
    old_size = sum(rewrite.old_size for rewrite in rewrites)
    new_size = sum(rewrite.size for rewrite in rewrites)
    _instances_repoint(rewrites)
    Series.objects.filter(pk=series.pk).update(
        study=destination, metadata_version=F("metadata_version") + 1, updated_at=timezone.now()
    )
    now = timezone.now()
    Study.objects.filter(pk=destination.pk).update(
        number_of_instances=F("number_of_instances") + len(rewrites),
        size_bytes=F("size_bytes") + new_size,
        updated_at=now,
    )
    study_refresh_series_summary(destination.pk)
    source_left = Series.objects.filter(study_id=locked_source.pk).exists()
    if source_left:
        Study.objects.filter(pk=locked_source.pk).update(
            number_of_instances=F("number_of_instances") - len(rewrites),
            size_bytes=F("size_bytes") - old_size,
            updated_at=now,
        )
        study_refresh_series_summary(locked_source.pk)
    else:
        locked_source.delete()
        if not Study.objects.filter(patient_id=locked_source.patient_id).exists():
            Patient.objects.filter(pk=locked_source.patient_id).delete()
    old_paths = [rewrite.old_path for rewrite in rewrites]
    event = {
        "series_id": series.pk,
        "organization_id": locked_source.organization_id,
        "from_study_id": locked_source.pk if source_left else None,
        "to_study_id": destination.pk,
        "old": old,
        "new": {keyword: new[keyword] for keyword in old},
    }
    transaction.on_commit(lambda: _after_series_move(old_paths, event))
    return destination.pk


def _after_series_move(old_paths: list[str], event: dict) -> None:
    from pacs.tasks import series_metadata_build_soon

    for path in old_paths:
        storage.delete(path)
    series_metadata_build_soon(event["series_id"])
    series_moved.send(sender=Series, **event)


def _instances_repoint(rewrites: Sequence[_Rewrite]) -> None:
    """Point each instance's index row at its rewritten file (inside the caller's transaction)."""
    for rewrite in rewrites:
        Instance.objects.filter(pk=rewrite.instance_id).update(
            file_path=rewrite.relative_path,
            file_size=rewrite.size,
            file_sha256=rewrite.sha256,
            frame_index=rewrite.frame_index,
            metadata=rewrite.index_json,
        )
