"""The Modality Worklist query (PS3.4 K.6): the RIS's exams in status scheduled or arrived, as scheduled
procedure steps.

One exam is one Requested Procedure with one Scheduled Procedure Step; its accession number is also the
Requested Procedure ID and the Scheduled Procedure Step ID. The step is scheduled in the room of the exam's
active appointment (its station AE title and start time); an exam without an appointment (a walk-in) is
scheduled at its registration time and offered to every station of its modality.

Matching keys (PS3.4 K.6.1.2.2, Table K.6-1) go through the matching rules of PS3.4 C.2.2.2 in
:mod:`pacs.query.matching`: Scheduled Station AE Title, Modality, Scheduled Procedure Step Start Date
(single value or range, in the server's time zone) and Start Time, Patient's Name (by characters, or by
pinyin with Latin letters), Patient ID, Accession Number, Requested Procedure ID, Study Instance UID.
Other keys are return keys only. Every key of the identifier is returned, with a zero-length value when
the worklist has no value for it (PS3.4 C.2.2.1.2).

Names and descriptions are Chinese in the RIS. A response in a character set that can hold them
(GB18030, GBK, ISO 2022 IR 58, ISO_IR 192) carries ``ZHANG^SAN=张^三``; in any other it carries their pinyin
(``ZHANG^SAN``), so that a modality that cannot show Chinese still shows a readable name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import DateTimeField, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID
from pypinyin import lazy_pinyin

from pacs import names
from pacs.charsets import strip_escape_sequences
from pacs.models import Organization
from pacs.query import matching
from pacs.query.engine import dataset_from_json
from pacs.query.matching import QueryError
from ris.models import Appointment, Exam, ExamStatus, Order, Priority, Room

WORKLIST_STATUSES = (ExamStatus.SCHEDULED, ExamStatus.ARRIVED)
# Character sets in which Chinese text can be sent (PS3.3 C.12.1.1.2).
CHINESE_CHARACTER_SETS = frozenset({"GB18030", "GBK", "ISO 2022 IR 58", "ISO_IR 192"})
# Retired, and still what Referenced Study Sequence items name in worklists (IHE RAD TF-2 4.5).
DETACHED_STUDY_MANAGEMENT = UID("1.2.840.10008.3.1.2.3.1")
# Coding scheme of the procedure catalogue: a local scheme, whose designators begin with "99" (PS3.16 8).
LOCAL_CODING_SCHEME = "99RIS"
_PRIORITY = {Priority.EMERGENCY: "STAT", Priority.URGENT: "HIGH", Priority.ROUTINE: "ROUTINE"}
_STEP_STATUS = {ExamStatus.SCHEDULED: "SCHEDULED", ExamStatus.ARRIVED: "ARRIVED"}
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_TIME_BOUND = re.compile(r"^\d{2}(\d{2}(\d{2})?)?(\.\d{1,6})?$")
_TEXT_VRS = frozenset({"PN", "LO", "SH", "ST", "LT", "UC", "UT"})


# --- matching -------------------------------------------------------------------------------------


def _value(dataset: Dataset | None, keyword: str) -> str:
    """A key's value in DICOM string form, decoded; empty (universal) when absent."""
    if dataset is None or keyword not in dataset:
        return ""
    value = dataset[keyword].value
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(strip_escape_sequences(str(v)) for v in value)
    if isinstance(value, bytes):
        raise QueryError(f"{keyword} has a binary value and cannot be matched")
    return strip_escape_sequences(str(value))


def _step_item(identifier: Dataset) -> Dataset | None:
    steps = identifier.get("ScheduledProcedureStepSequence")
    return steps[0] if steps else None


def _station_condition(value: str, organization: Organization) -> Q:
    """The step's room has this station AE title; a walk-in matches every station of its modality."""
    rooms = Room.objects.filter(matching.text(F("station_ae_title"), value), organization=organization)
    stations = rooms.values("modality")
    return matching.text(F("station_ae"), value) | (
        (Q(station_ae__isnull=True) | Q(station_ae="")) & Q(modality__in=stations)
    )


def _name_condition(value: str) -> Q:
    """Patient's Name by its ideographic group (characters) or its alphabetic group (pinyin, any case).

    A key of one group is read as characters when it has any, else as Latin letters; ``^`` and spaces
    are ignored in pinyin (``Zhang^San`` finds 张三, as ``ZHANGSAN`` and ``ZS`` do).
    """
    if "=" in value:
        alphabetic, ideographic, _phonetic = names.split_groups(value)
    elif value.isascii():
        alphabetic, ideographic = value, ""
    else:
        alphabetic, ideographic = "", value
    condition = Q()
    if not matching.is_universal(ideographic):
        condition &= matching.text(F("patient__name"), ideographic)
    if not matching.is_universal(alphabetic):
        by_name = matching.text(F("patient__name"), alphabetic)
        letters = re.sub(r"[\^ ]", "", alphabetic)
        by_pinyin = matching.pinyin([F("patient__name_pinyin"), F("patient__name_initials")], letters)
        condition &= by_name if by_pinyin is None else by_name | by_pinyin
    return condition


def _time_bounds(value: str) -> tuple[str, str]:
    """The bounds of a TM key, single value or range (PS3.4 C.2.2.2.5), to the second; empty is open."""
    start, end = value.split("-", 1) if "-" in value else (value, value)
    if not (start or end) or not all(not bound or _TIME_BOUND.match(bound) for bound in (start, end)):
        raise QueryError(f"{value!r} is not a time or a time range")
    low, high = start.split(".")[0], end.split(".")[0]
    # A partial upper bound covers every time it is a prefix of: "10" up to "109999".
    return low, high and high + "9" * (6 - len(high))


def _time_in(time_text: str, bounds: tuple[str, str]) -> bool:
    low, high = bounds
    return (not low or time_text >= low) and (not high or time_text <= high)


def worklist_exams(*, organization: Organization, identifier: Dataset) -> QuerySet[Exam]:
    """The exams of ``organization`` that match the identifier's keys, emergencies and earliest first.

    Raises :class:`QueryError` for a malformed value. The Start Time key is applied by
    :func:`worklist_time_filter`, on the local times the query returns.
    """
    active = Appointment.objects.filter(exam=OuterRef("pk"), cancelled_at__isnull=True)
    exams = (
        Exam.objects.filter(organization=organization, status__in=WORKLIST_STATUSES)
        .annotate(
            station_ae=Subquery(active.values("room__station_ae_title")[:1]),
            station_name=Subquery(active.values("room__name")[:1]),
            scheduled_at=Coalesce(
                Subquery(active.values("starts_at")[:1]), F("created_at"), output_field=DateTimeField()
            ),
        )
        .select_related("patient")
        .prefetch_related(Prefetch("orders", queryset=Order.objects.select_related("procedure").order_by("pk")))
        .order_by("priority", "scheduled_at", "pk")
    )
    step = _step_item(identifier)
    conditions = Q()
    if not matching.is_universal(value := _value(step, "ScheduledStationAETitle")):
        conditions &= _station_condition(value, organization)
    if not matching.is_universal(value := _value(step, "Modality")):
        conditions &= matching.text(F("modality"), value)
    if not matching.is_universal(value := _value(step, "ScheduledProcedureStepStartDate")):
        local_date = TruncDate(F("scheduled_at"), tzinfo=timezone.get_current_timezone())
        conditions &= matching.date_range(local_date, value, date_column=True)
    if not matching.is_universal(value := _value(step, "ScheduledProcedureStepStartTime")):
        _time_bounds(value)  # a malformed value is refused before the query runs
    if not matching.is_universal(value := _value(identifier, "PatientName")):
        conditions &= _name_condition(value)
    if not matching.is_universal(value := _value(identifier, "PatientID")):
        conditions &= matching.text(F("patient__patient_id"), value)
    for keyword in ("AccessionNumber", "RequestedProcedureID"):
        if not matching.is_universal(value := _value(identifier, keyword)):
            conditions &= matching.text(F("accession_number"), value)
    if not matching.is_universal(value := _value(identifier, "StudyInstanceUID")):
        conditions &= matching.uid_list(F("study_instance_uid"), value)
    return exams.filter(conditions)


def worklist_time_filter(exams: Iterable[Exam], *, identifier: Dataset) -> Iterable[Exam]:
    """The exams whose local start time matches the identifier's Scheduled Procedure Step Start Time."""
    value = _value(_step_item(identifier), "ScheduledProcedureStepStartTime")
    if matching.is_universal(value):
        yield from exams
        return
    bounds = _time_bounds(value)
    for exam in exams:
        if _time_in(timezone.localtime(exam.scheduled_at).strftime("%H%M%S"), bounds):
            yield exam


# --- responses ------------------------------------------------------------------------------------


def person_name(name: str) -> str:
    """A RIS name as a DICOM PN: ``张三`` → ``ZHANG^SAN=张^三``, ``欧阳娜娜`` → ``OUYANG^NANA=欧阳^娜娜``."""
    return names.chinese_person_name(name)


def _romanized(text: str) -> str:
    """Text without Chinese characters: a PN keeps its alphabetic group, other text gets pinyin."""
    return _CJK_RUN.sub(lambda run: " ".join(lazy_pinyin(run.group())).upper(), text)


def _code(order: Order) -> Dataset:
    item = Dataset()
    item.CodeValue = order.procedure.code
    item.CodingSchemeDesignator = LOCAL_CODING_SCHEME
    item.CodeMeaning = order.procedure.name[:64]
    return item


def worklist_item(exam: Exam) -> Dataset:
    """Every return key of the worklist for one exam (PS3.4 K.6.1.2.2), in Unicode.

    ``exam`` comes from :func:`worklist_exams`, with its annotations and prefetched orders.
    """
    patient = exam.patient
    orders = list(exam.orders.all())
    first = orders[0] if orders else None
    description = "; ".join(order.procedure.name for order in orders)[:64]
    scheduled = timezone.localtime(exam.scheduled_at)

    step = Dataset()
    step.ScheduledStationAETitle = exam.station_ae or ""
    step.ScheduledStationName = exam.station_name or ""
    step.ScheduledProcedureStepLocation = exam.station_name or ""
    step.ScheduledProcedureStepStartDate = scheduled.strftime("%Y%m%d")
    step.ScheduledProcedureStepStartTime = scheduled.strftime("%H%M%S")
    step.Modality = exam.modality
    step.ScheduledPerformingPhysicianName = ""
    step.ScheduledProcedureStepDescription = description
    step.ScheduledProtocolCodeSequence = [_code(order) for order in orders]
    step.ScheduledProcedureStepID = exam.accession_number
    step.ScheduledProcedureStepStatus = _STEP_STATUS[exam.status]

    study = Dataset()
    study.ReferencedSOPClassUID = DETACHED_STUDY_MANAGEMENT
    study.ReferencedSOPInstanceUID = exam.study_instance_uid

    item = Dataset()
    item.AccessionNumber = exam.accession_number
    item.ReferringPhysicianName = first.requesting_physician if first else ""
    item.RequestingPhysician = first.requesting_physician if first else ""
    item.RequestingService = first.requesting_department if first else ""
    item.ReferencedStudySequence = [study]
    item.PatientName = person_name(patient.name)
    item.PatientID = patient.patient_id
    item.IssuerOfPatientID = ""
    item.PatientBirthDate = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    item.PatientSex = patient.sex
    item.AdmissionID = patient.inpatient_no
    item.StudyInstanceUID = exam.study_instance_uid
    item.RequestedProcedureID = exam.accession_number
    item.RequestedProcedureDescription = description
    item.RequestedProcedureCodeSequence = [_code(first)] if first else []
    item.RequestedProcedurePriority = _PRIORITY.get(exam.priority, "ROUTINE")
    item.ReasonForTheRequestedProcedure = (first.clinical_info if first else "")[:64]
    item.ScheduledProcedureStepSequence = [step]
    return item


def _selected(full: Dataset, request: Dataset) -> Dataset:
    """The keys of ``request`` with the values of ``full``; a sequence key with an item selects within it."""
    out = Dataset()
    for element in request:
        if element.tag.element == 0 or element.keyword == "SpecificCharacterSet":
            continue
        if element.tag not in full:
            out.add(DataElement(element.tag, element.VR, [] if element.VR == "SQ" else None))
            continue
        source = full[element.tag]
        if source.VR == "SQ" and element.VR == "SQ" and element.value:
            items = Sequence([_selected(item, element.value[0]) for item in source.value])
            out.add(DataElement(element.tag, "SQ", items))
        else:
            out.add(source)
    return out


def _romanize_dataset(dataset: Dataset) -> None:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                _romanize_dataset(item)
        elif element.VR in _TEXT_VRS and element.value is not None and _CJK_RUN.search(text := str(element.value)):
            element.value = _romanized(text.split("=", 1)[0] if element.VR == "PN" else text)


def worklist_response(exam: Exam, *, identifier: Dataset) -> Dataset:
    """The C-FIND response for one exam: the identifier's keys, in the character set it asked for."""
    requested = identifier.get("SpecificCharacterSet") or ""
    terms = [requested] if isinstance(requested, str) else list(requested)
    response = _selected(worklist_item(exam), identifier)
    if not CHINESE_CHARACTER_SETS.intersection(term.strip() for term in terms):
        _romanize_dataset(response)
    return dataset_from_json(response.to_json_dict(), character_set=requested or None)
