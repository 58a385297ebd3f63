"""Worklist fixtures: Alpha Hospital's catalogue, rooms with station AE titles, and exams scheduled today.

The archive and the modality's RemoteAE come from the DIMSE fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from pacs.models import Organization
from ris.models import Exam, Procedure, Room
from ris.services.appointments import appointment_book
from ris.services.exams import OrderData, exam_transition, exams_check_in, order_create
from ris.services.patients import PatientData, patient_register
from tests.dimse.conftest import archive, dimse_process, modality  # noqa: F401 - fixtures the worklist tests use


def today_at(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """A time of today (or ``days`` later) in the server's time zone."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@dataclass
class Scheduled:
    """The exams of the worklist tests, by patient."""

    zhang_ct: Exam  # 张三, CT head, today 09:00 in CT1
    li_dx: Exam  # 李四, DR chest, today 10:00 in DR1
    wang_ct_tomorrow: Exam  # 王五, CT chest, tomorrow 09:00 in CT1
    zhao_walk_in: Exam  # 赵六, CT head, today without appointment, checked in
    qian_cancelled: Exam  # 钱七, CT head, today 11:00 in CT1, cancelled


@pytest.fixture
def catalogue(org_alpha: Organization) -> dict[str, Procedure]:
    rows = [
        ("CT-HEAD", "CT 头颅平扫", "CT", "HEAD"),
        ("CT-CHEST", "CT 胸部平扫", "CT", "CHEST"),
        ("DX-CHEST", "DR 胸部正位", "DX", "CHEST"),
    ]
    return {
        code: Procedure.objects.create(organization=org_alpha, code=code, name=name, modality=kind, body_part=part)
        for code, name, kind, part in rows
    }


@pytest.fixture
def rooms(org_alpha: Organization) -> dict[str, Room]:
    def room(name: str, kind: str, station: str) -> Room:
        return Room.objects.create(
            organization=org_alpha,
            name=name,
            modality=kind,
            station_ae_title=station,
            opens_at=time(8, 0),
            closes_at=time(18, 0),
            slot_minutes=30,
        )

    return {"CT1": room("CT 1", "CT", "CT1"), "DR1": room("DR 1", "DX", "DR1")}


def exam_order(
    org: Organization, *, name: str, patient_id: str, born: date, sex: str, procedure: Procedure, priority: int = 3
) -> Exam:
    patient = patient_register(
        organization=org,
        data=PatientData(name=name, sex=sex, birth_date=born, patient_id=patient_id),
        by=None,
    )
    data = OrderData(procedure=procedure, priority=priority, requesting_department="急诊科", clinical_info="头痛三天")
    return order_create(organization=org, patient=patient, data=data, source="desk", by=None).exam


@pytest.fixture
def scheduled(org_alpha: Organization, catalogue: dict[str, Procedure], rooms: dict[str, Room]) -> Scheduled:
    zhang = exam_order(
        org_alpha, name="张三", patient_id="P001", born=date(1968, 3, 12), sex="M", procedure=catalogue["CT-HEAD"]
    )
    appointment_book(exam=zhang, room=rooms["CT1"], starts_at=today_at(9), by=None)
    li = exam_order(
        org_alpha, name="李四", patient_id="P002", born=date(1975, 8, 8), sex="F", procedure=catalogue["DX-CHEST"]
    )
    appointment_book(exam=li, room=rooms["DR1"], starts_at=today_at(10), by=None)
    wang = exam_order(
        org_alpha, name="王五", patient_id="P003", born=date(1990, 11, 23), sex="M", procedure=catalogue["CT-CHEST"]
    )
    appointment_book(exam=wang, room=rooms["CT1"], starts_at=today_at(9, days=1), by=None)
    zhao = exam_order(
        org_alpha,
        name="赵六",
        patient_id="P004",
        born=date(1955, 1, 2),
        sex="M",
        procedure=catalogue["CT-HEAD"],
        priority=1,
    )
    exams_check_in(organization=org_alpha, exam_ids=[zhao.pk], by=None, source="desk")
    qian = exam_order(
        org_alpha, name="钱七", patient_id="P005", born=date(1980, 5, 5), sex="F", procedure=catalogue["CT-HEAD"]
    )
    appointment_book(exam=qian, room=rooms["CT1"], starts_at=today_at(11), by=None)
    exam_transition(exam=qian, to_status="cancelled", by=None, source="desk")
    return Scheduled(*(Exam.objects.get(pk=e.pk) for e in (zhang, li, wang, zhao, qian)))
