"""RIS reads, every one scoped to an organization: search, duplicates, the desk's day, scans, room slots."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlsplit

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from pacs.models import Organization
from ris import idcard
from ris.models import Appointment, Exam, ExamStatusChange, Order, Patient, Procedure, Room

_LATIN = re.compile(r"^[A-Za-z]+$")


def patient_duplicates(
    *, organization: Organization, name: str, birth_date: date | None, id_card: str, exclude_id: int | None = None
) -> list[Patient]:
    """Active patients who may be the same person: the same ID card, or the same name and birth date."""
    match = Q(id_card=id_card) if id_card else Q(pk__in=[])
    if birth_date is not None:
        match |= Q(name=name, birth_date=birth_date)
    found = Patient.objects.filter(match, organization=organization, merged_into__isnull=True)
    if exclude_id is not None:
        found = found.exclude(pk=exclude_id)
    return list(found.order_by("pk")[:20])


def patient_search(*, organization: Organization, query: str, limit: int = 50) -> QuerySet[Patient]:
    """Active patients by name (characters, full pinyin or initials, as prefixes) or any of their numbers."""
    patients = Patient.objects.filter(organization=organization, merged_into__isnull=True)
    query = query.strip()
    if not query:
        return patients.order_by("-updated_at")[:limit]
    numbers = Q(patient_id=query) | Q(outpatient_no=query) | Q(inpatient_no=query) | Q(admission_no=query)
    numbers |= Q(id_card=idcard.normalize(query)) | Q(phone=query)
    by_name = Q(name__startswith=query)
    if _LATIN.match(query):
        folded = query.upper()
        by_name |= Q(name_pinyin__startswith=folded) | Q(name_initials__startswith=folded)
    return patients.filter(numbers | by_name).order_by("name", "birth_date")[:limit]


def patient_get(*, organization: Organization, pk: int) -> Patient:
    """A patient of ``organization``; a merged record leads to the one it was merged into."""
    patient = Patient.objects.get(organization=organization, pk=pk)
    while patient.merged_into_id is not None:
        patient = Patient.objects.get(pk=patient.merged_into_id)
    return patient


def _with_details(exams: QuerySet[Exam]) -> QuerySet[Exam]:
    return exams.select_related("patient").prefetch_related(
        Prefetch("orders", queryset=Order.objects.select_related("procedure").order_by("pk")),
        Prefetch(
            "appointments",
            queryset=Appointment.objects.filter(cancelled_at__isnull=True).select_related("room"),
            to_attr="active_appointments",
        ),
        Prefetch("status_changes", queryset=ExamStatusChange.objects.select_related("changed_by"), to_attr="history"),
    )


def exams_of_organization(*, organization: Organization) -> QuerySet[Exam]:
    """All exams of ``organization`` with patient, orders and active appointment loaded."""
    return _with_details(Exam.objects.filter(organization=organization))


def exams_of_patient(*, patient: Patient) -> QuerySet[Exam]:
    return _with_details(Exam.objects.filter(patient=patient)).order_by("-created_at")


def exam_day_list(*, organization: Organization, day: date, status: str = "", modality: str = "") -> QuerySet[Exam]:
    """The desk's list of ``day``: booked for that day, or registered or moved on that day; emergencies first."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = start + timedelta(days=1)
    booked = Appointment.objects.filter(
        exam=OuterRef("pk"), cancelled_at__isnull=True, starts_at__gte=start, starts_at__lt=end
    )
    exams = Exam.objects.filter(organization=organization).filter(
        Exists(booked)
        | Q(created_at__gte=start, created_at__lt=end)
        | Q(status_changed_at__gte=start, status_changed_at__lt=end)
    )
    if status:
        exams = exams.filter(status=status)
    if modality:
        exams = exams.filter(modality=modality)
    return _with_details(exams).order_by("priority", "created_at")


def procedures_active(*, organization: Organization) -> QuerySet[Procedure]:
    return Procedure.objects.filter(organization=organization, active=True)


def rooms_active(*, organization: Organization, modality: str = "") -> QuerySet[Room]:
    rooms = Room.objects.filter(organization=organization, active=True)
    return rooms.filter(modality=modality) if modality else rooms


@dataclass(frozen=True)
class LookupResult:
    """What a scanned or typed code found: an exam (and its patient), a patient, or nothing."""

    patient: Patient | None = None
    exam: Exam | None = None


def _scanned_values(code: str) -> list[str]:
    """The values a scanned code may carry: itself, the values of a JSON object, of a query string or of
    ``key:value`` / ``key=value`` pairs separated by ``|``, ``;`` or ``,`` (HIS slips print all of these)."""
    code = code.strip()
    values = [code]
    try:
        parsed = json.loads(code)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        values += [str(v) for v in parsed.values() if isinstance(v, str | int)]
    elif "?" in code:
        values += [v for _k, v in parse_qsl(urlsplit(code).query)]
    else:
        for part in re.split(r"[|;,\s]+", code):
            values.append(re.split(r"[:=]", part, maxsplit=1)[-1])
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def registration_lookup(*, organization: Organization, code: str) -> LookupResult:
    """Find what a barcode, QR code or typed number names: an accession number or HIS order number (an
    exam), else a patient ID, ID card, or HIS outpatient / inpatient / admission number."""
    for value in _scanned_values(code):
        exam = (
            exams_of_organization(organization=organization)
            .filter(Q(accession_number=value) | Q(orders__his_order_no=value))
            .first()
        )
        if exam is not None:
            return LookupResult(patient=exam.patient, exam=exam)
        patient = (
            Patient.objects.filter(organization=organization, merged_into__isnull=True)
            .filter(
                Q(patient_id=value)
                | Q(id_card=idcard.normalize(value))
                | Q(outpatient_no=value)
                | Q(inpatient_no=value)
                | Q(admission_no=value)
            )
            .first()
        )
        if patient is not None:
            return LookupResult(patient=patient)
    return LookupResult()


@dataclass
class Slot:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    appointments: list[Appointment] = field(default_factory=list)

    @property
    def free(self) -> int:
        return max(self.capacity - len(self.appointments), 0)


def room_slot_bounds(*, room: Room, day: date) -> list[tuple[datetime, datetime]]:
    """Start and end of each slot of ``room`` on ``day``; none when the room is closed that weekday."""
    if str(day.isoweekday()) not in room.open_weekdays:
        return []
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, room.opens_at, tzinfo=zone)
    closes = datetime.combine(day, room.closes_at, tzinfo=zone)
    step = timedelta(minutes=room.slot_minutes)
    bounds = []
    while start + step <= closes:
        bounds.append((start, start + step))
        start += step
    return bounds


def room_day_slots(*, room: Room, day: date) -> list[Slot]:
    """The day view of a room: every slot with its booked appointments and free places."""
    slots = [
        Slot(starts_at=s, ends_at=e, capacity=room.patients_per_slot) for s, e in room_slot_bounds(room=room, day=day)
    ]
    if not slots:
        return slots
    booked = (
        Appointment.objects.filter(
            room=room, cancelled_at__isnull=True, starts_at__gte=slots[0].starts_at, starts_at__lt=slots[-1].ends_at
        )
        .select_related("exam__patient")
        .prefetch_related(Prefetch("exam__orders", queryset=Order.objects.select_related("procedure")))
    )
    by_start = {slot.starts_at: slot for slot in slots}
    for appointment in booked:
        slot = by_start.get(appointment.starts_at)
        if slot is not None:
            slot.appointments.append(appointment)
    return slots
