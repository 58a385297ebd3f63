"""Demo data for the RIS, after ``manage.py bootstrap``: a catalogue, rooms with station AE titles, orders
scheduled for today (so that a modality sees a worklist at once) and completed exams for the demo studies
already in the archive. Safe to run again: what exists is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from pacs import names
from pacs.models import Organization, RemoteAE, Study
from ris.models import Appointment, Exam, ExamStatus, Patient, Procedure, Room
from ris.services.appointments import appointment_book
from ris.services.exams import OrderData, exam_transition, exams_check_in, order_create
from ris.services.patients import PatientData, patient_register

SOURCE = "demo"
PROCEDURES = [
    ("CT-HEAD", "CT 头颅平扫", "CT", "HEAD"),
    ("CT-CHEST", "CT 胸部平扫", "CT", "CHEST"),
    ("DX-CHEST", "DR 胸部正位", "DX", "CHEST"),
    ("MR-HEAD", "MR 头颅平扫", "MR", "HEAD"),
    ("US-ABD", "超声 腹部", "US", "ABDOMEN"),
]
# (room, modality, station AE title): each station is also a known AE, so it may ask for its worklist.
ROOMS = [("CT 1", "CT", "CT1"), ("DR 1", "DX", "DR1"), ("MR 1", "MR", "MR1"), ("超声 1", "US", "US1")]
# (name, patient ID, sex, birth date, procedure, start, checked in)
TODAY = [
    ("陈明", "DEMOW01", "M", date(1962, 4, 18), "CT-HEAD", time(9, 0), True),
    ("刘芳", "DEMOW02", "F", date(1979, 9, 2), "CT-CHEST", time(10, 30), False),
    ("杨伟", "DEMOW03", "M", date(1985, 12, 25), "DX-CHEST", time(9, 30), True),
    ("黄丽", "DEMOW04", "F", date(1991, 6, 7), "MR-HEAD", time(14, 0), False),
    ("周强", "DEMOW05", "M", date(1958, 2, 14), "US-ABD", time(11, 0), False),
]
_STUDY_PROCEDURE = {"CT": "CT-HEAD", "MR": "MR-HEAD", "DX": "DX-CHEST"}


@dataclass(frozen=True)
class RisDemo:
    scheduled_today: int
    completed: int


def _catalogue(organization: Organization) -> dict[str, Procedure]:
    return {
        code: Procedure.objects.get_or_create(
            organization=organization, code=code, defaults={"name": name, "modality": modality, "body_part": part}
        )[0]
        for code, name, modality, part in PROCEDURES
    }


def _rooms(organization: Organization) -> dict[str, Room]:
    rooms = {}
    for name, modality, station in ROOMS:
        rooms[modality], _ = Room.objects.get_or_create(
            organization=organization,
            station_ae_title=station,
            defaults={"name": name, "modality": modality, "opens_at": time(8, 0), "closes_at": time(18, 0)},
        )
        RemoteAE.objects.get_or_create(
            ae_title=station,
            defaults={"organization": organization, "host": "127.0.0.1", "description": f"demo station {name}"},
        )
    return rooms


def _patient(organization: Organization, *, name: str, patient_id: str, sex: str, born: date | None) -> Patient:
    existing = Patient.objects.filter(organization=organization, patient_id=patient_id).first()
    if existing is not None:
        return existing
    data = PatientData(name=name, sex=sex, birth_date=born, patient_id=patient_id)
    return patient_register(organization=organization, data=data, by=None, allow_same_name_and_birth=True)


def _schedule_today(organization: Organization, catalogue: dict[str, Procedure], rooms: dict[str, Room]) -> int:
    today = timezone.localdate()
    if Appointment.objects.filter(organization=organization, starts_at__date=today).exists():
        return 0
    for name, patient_id, sex, born, code, start, checked_in in TODAY:
        patient = _patient(organization, name=name, patient_id=patient_id, sex=sex, born=born)
        procedure = catalogue[code]
        exam = order_create(
            organization=organization, patient=patient, data=OrderData(procedure=procedure), source="desk", by=None
        ).exam
        starts_at = timezone.make_aware(datetime.combine(today, start))
        appointment_book(exam=exam, room=rooms[procedure.modality], starts_at=starts_at, by=None)
        if checked_in:
            exams_check_in(organization=organization, exam_ids=[exam.pk], by=None, source=SOURCE)
    return len(TODAY)


def _complete_archived(organization: Organization, catalogue: dict[str, Procedure]) -> int:
    """An exam, completed, for each demo study in the archive that no exam has yet (its history, backfilled)."""
    done = 0
    studies = Study.objects.filter(organization=organization).select_related("patient").order_by("pk")
    for study in studies:
        modality = study.modalities_in_study.split(" ")[0] if study.modalities_in_study else ""
        taken = Exam.objects.filter(organization=organization, accession_number=study.accession_number).exists()
        if modality not in _STUDY_PROCEDURE or not study.accession_number or taken or len(study.accession_number) > 16:
            continue
        if Exam.objects.filter(study_instance_uid=study.study_instance_uid).exists():
            continue
        name = names.chinese_part(study.patient.patient_name) or study.patient.patient_name.replace("^", " ")
        patient = _patient(
            organization,
            name=name,
            patient_id=study.patient.patient_id,
            sex=study.patient.sex if study.patient.sex in ("M", "F", "O") else "",
            born=study.patient.birth_date,
        )
        with transaction.atomic():
            exam = order_create(
                organization=organization,
                patient=patient,
                data=OrderData(procedure=catalogue[_STUDY_PROCEDURE[modality]]),
                source="desk",
                by=None,
            ).exam
            # The exam that produced the study: it carries the study's identity, as if registered back then.
            Exam.objects.filter(pk=exam.pk).update(
                study_instance_uid=study.study_instance_uid, accession_number=study.accession_number
            )
            for status in (ExamStatus.ARRIVED, ExamStatus.IN_PROGRESS, ExamStatus.COMPLETED):
                exam = exam_transition(exam=exam, to_status=status, by=None, source=SOURCE)
        done += 1
    return done


def ris_demo_setup(*, organization: Organization) -> RisDemo:
    """Create the demo catalogue, rooms, today's orders and the completed exams of the archived demo studies."""
    with transaction.atomic():
        catalogue = _catalogue(organization)
        rooms = _rooms(organization)
        scheduled = _schedule_today(organization, catalogue, rooms)
    return RisDemo(scheduled_today=scheduled, completed=_complete_archived(organization, catalogue))
