"""RIS services and selectors as plain functions: ID cards, registration, numbering, the state machine,
merging, appointments, scanning, the slip."""

from __future__ import annotations

import subprocess
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from ris import idcard
from ris.errors import ConflictError, DuplicatePatientError, RegistrationError
from ris.models import ExamStatus, OrderSource, Patient, RegistrationSettings
from ris.selectors import exam_day_list, patient_search, registration_lookup, room_day_slots
from ris.services.appointments import appointment_book, appointment_cancel, appointment_move
from ris.services.exams import OrderData, exam_transition, exams_check_in, exams_merge, order_create
from ris.services.patients import PatientData, patient_merge, patient_register
from ris.signals import exam_status_changed
from ris.slip import exam_slip_html, exam_slip_pdf
from tests.ris.conftest import id_card

pytestmark = pytest.mark.django_db


def register(org, name="张三", born=date(1980, 5, 17), **extra):  # type: ignore[no-untyped-def]
    return patient_register(organization=org, data=PatientData(name=name, birth_date=born, sex="M", **extra), by=None)


def order(org, patient, procedure, **extra):  # type: ignore[no-untyped-def]
    data = OrderData(procedure=procedure, **extra)
    return order_create(organization=org, patient=patient, data=data, source=OrderSource.DESK, by=None)


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


# --- ID cards ------------------------------------------------------------------------------------


def test_id_card_check_digit_birth_date_and_sex():
    resident = idcard.parse("11010519491231002x", today=date(2025, 1, 1))
    assert resident.number == "11010519491231002X"
    assert resident.birth_date == date(1949, 12, 31) and resident.sex == "F"
    assert idcard.parse(id_card(date(1990, 3, 7), sequence=1), today=date(2025, 1, 1)).sex == "M"


@pytest.mark.parametrize(
    "number, reason",
    [
        ("110105194912310021", "check digit"),
        ("11010519491331002X", "not a date"),
        ("1101051949123100", "17 digits"),
        ("110105A9491231002X", "17 digits"),
        (id_card(date(2090, 1, 1)), "plausible"),
    ],
)
def test_id_card_refusals_say_why(number, reason):
    with pytest.raises(ValueError, match=reason):
        idcard.parse(number, today=date(2025, 1, 1))


def test_id_card_mask_hides_the_birth_date():
    assert idcard.mask("11010519491231002X") == "110105********002X"


# --- Registration ----------------------------------------------------------------------------------


def test_register_fills_pinyin_patient_id_and_reads_the_id_card(org_alpha):
    number = id_card(date(1975, 8, 2), sequence=12)
    patient = patient_register(
        organization=org_alpha, data=PatientData(name=" 李  四 ", id_card=number.lower()), by=None
    )
    assert patient.name == "李 四" and patient.name_pinyin == "LISI" and patient.name_initials == "LS"
    assert patient.birth_date == date(1975, 8, 2) and patient.sex == "F"
    assert patient.patient_id.startswith("P") and len(patient.patient_id) == 11


def test_register_refuses_an_id_card_that_contradicts_the_form(org_alpha):
    number = id_card(date(1975, 8, 2), sequence=11)
    with pytest.raises(RegistrationError) as error:
        patient_register(
            organization=org_alpha, data=PatientData(name="王五", id_card=number, birth_date=date(1975, 8, 3)), by=None
        )
    assert error.value.field == "birth_date"
    with pytest.raises(RegistrationError) as error:
        patient_register(organization=org_alpha, data=PatientData(name="王五", id_card=number, sex="F"), by=None)
    assert error.value.field == "sex"


def test_duplicates_same_card_always_same_name_and_birth_unless_confirmed(org_alpha, org_beta):
    number = id_card(date(1980, 5, 17), sequence=1)
    first = register(org_alpha, id_card=number)
    with pytest.raises(DuplicatePatientError) as error:
        patient_register(
            organization=org_alpha,
            data=PatientData(name="张叁", id_card=number),
            by=None,
            allow_same_name_and_birth=True,
        )
    assert error.value.duplicates == [first] and error.value.field == "id_card"
    with pytest.raises(DuplicatePatientError):
        register(org_alpha)
    twin = patient_register(
        organization=org_alpha,
        data=PatientData(name="张三", birth_date=date(1980, 5, 17), sex="M"),
        by=None,
        allow_same_name_and_birth=True,
    )
    assert twin.pk != first.pk
    # Another organization is another register.
    assert register(org_beta, id_card=number).organization == org_beta


def test_merge_moves_exams_fills_gaps_and_retires_the_duplicate(org_alpha, catalogue):
    target = register(org_alpha, phone="13800000000")
    source = patient_register(
        organization=org_alpha,
        data=PatientData(
            name="张三", birth_date=date(1980, 5, 17), sex="M", id_card=id_card(date(1980, 5, 17)), inpatient_no="ZY1"
        ),
        by=None,
        allow_same_name_and_birth=True,
    )
    moved = order(org_alpha, source, catalogue["CT-HEAD"])
    patient_merge(source=source, target=target, by=None)
    target.refresh_from_db()
    source.refresh_from_db()
    moved.refresh_from_db()
    assert moved.patient == target and moved.exam.patient == target
    assert target.inpatient_no == "ZY1" and target.id_card == source.id_card and target.phone == "13800000000"
    assert source.merged_into == target
    assert list(patient_search(organization=org_alpha, query="zs")) == [target]


def test_patient_search_by_pinyin_initials_characters_and_numbers(org_alpha, org_beta):
    zhang = register(org_alpha, outpatient_no="MZ001")
    register(org_alpha, name="李四", born=date(1990, 1, 1))
    register(org_beta, outpatient_no="MZ001")
    assert list(patient_search(organization=org_alpha, query="zhangs")) == [zhang]
    assert list(patient_search(organization=org_alpha, query="ZS")) == [zhang]
    assert list(patient_search(organization=org_alpha, query="张")) == [zhang]
    assert list(patient_search(organization=org_alpha, query="MZ001")) == [zhang]


# --- Orders, numbering, state machine ----------------------------------------------------------------


def test_order_gets_accession_from_the_pattern_unique_per_organization(org_alpha, org_beta, catalogue):
    RegistrationSettings.objects.create(organization=org_alpha, accession_pattern="{org}{yyyy}{seq:3}")
    patient = register(org_alpha)
    year = f"{timezone.localdate():%Y}"
    first = order(org_alpha, patient, catalogue["CT-HEAD"])
    second = order(org_alpha, patient, catalogue["DX-CHEST"])
    assert (first.exam.accession_number, second.exam.accession_number) == (f"ALPHA{year}001", f"ALPHA{year}002")
    assert first.exam.study_instance_uid != second.exam.study_instance_uid
    assert first.exam.status == ExamStatus.SCHEDULED and first.body_part == "HEAD"
    # The default pattern: modality, date, a daily counter.
    beta_procedure = catalogue["CT-HEAD"]
    beta_procedure.pk, beta_procedure.organization = None, org_beta
    beta_procedure.save()
    beta = order(org_beta, register(org_beta), beta_procedure)
    assert beta.exam.accession_number == f"CT{timezone.localdate():%y%m%d}0001"


def test_an_his_order_sent_twice_is_one_order(org_alpha, catalogue):
    patient = register(org_alpha)
    first = order(org_alpha, patient, catalogue["CT-HEAD"], his_order_no="HIS-9")
    again = order(org_alpha, patient, catalogue["CT-HEAD"], his_order_no="HIS-9")
    assert again.pk == first.pk
    with pytest.raises(ConflictError):
        order(org_alpha, register(org_alpha, name="李四"), catalogue["CT-HEAD"], his_order_no="HIS-9")


def test_state_machine_records_who_and_when_and_signals_after_commit(
    org_alpha, clerk, catalogue, django_capture_on_commit_callbacks
):
    received = []

    def listener(**kwargs):  # type: ignore[no-untyped-def]
        received.append((kwargs["from_status"], kwargs["to_status"], kwargs["changed_by_id"], kwargs["source"]))

    exam_status_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            exam = order(org_alpha, register(org_alpha), catalogue["CT-HEAD"]).exam
            exam_transition(exam=exam, to_status=ExamStatus.ARRIVED, by=clerk, source="desk")
        assert received == []  # nothing is announced before the commit
        for callback in callbacks:
            callback()
        for to in (ExamStatus.IN_PROGRESS, ExamStatus.COMPLETED, ExamStatus.REPORTED, ExamStatus.APPROVED):
            with django_capture_on_commit_callbacks(execute=True):
                exam = exam_transition(exam=exam, to_status=to, by=None, source="mpps")
    finally:
        exam_status_changed.disconnect(listener)
    assert received[:2] == [("", "scheduled", None, "desk"), ("scheduled", "arrived", clerk.pk, "desk")]
    assert received[-1] == ("reported", "approved", None, "mpps")
    history = list(exam.status_changes.values_list("to_status", flat=True))
    assert history == ["scheduled", "arrived", "in_progress", "completed", "reported", "approved"]
    with pytest.raises(ConflictError, match="cannot go from"):
        exam_transition(exam=exam, to_status=ExamStatus.CANCELLED, by=clerk, source="desk")


def test_no_show_can_be_rescheduled_but_cancelled_is_final(org_alpha, catalogue):
    exam = order(org_alpha, register(org_alpha), catalogue["CT-HEAD"]).exam
    exam = exam_transition(exam=exam, to_status=ExamStatus.NO_SHOW, by=None, source="desk")
    exam = exam_transition(exam=exam, to_status=ExamStatus.SCHEDULED, by=None, source="desk")
    exam = exam_transition(exam=exam, to_status=ExamStatus.CANCELLED, by=None, source="desk")
    with pytest.raises(ConflictError):
        exam_transition(exam=exam, to_status=ExamStatus.SCHEDULED, by=None, source="desk")


def test_batch_check_in_is_all_or_nothing(org_alpha, org_beta, catalogue):
    patient = register(org_alpha)
    a = order(org_alpha, patient, catalogue["CT-HEAD"]).exam
    b = order(org_alpha, patient, catalogue["DX-CHEST"]).exam
    exams_check_in(organization=org_alpha, exam_ids=[a.pk, b.pk], by=None, source="desk")
    c = order(org_alpha, patient, catalogue["CT-CHEST"]).exam
    with pytest.raises(ConflictError):
        exams_check_in(organization=org_alpha, exam_ids=[a.pk, c.pk], by=None, source="desk")
    c.refresh_from_db()
    assert c.status == ExamStatus.SCHEDULED
    with pytest.raises(RegistrationError):
        exams_check_in(organization=org_beta, exam_ids=[c.pk], by=None, source="desk")


def test_merge_orders_into_one_exam(org_alpha, catalogue, ct_room):
    patient = register(org_alpha)
    head = order(org_alpha, patient, catalogue["CT-HEAD"])
    chest = order(org_alpha, patient, catalogue["CT-CHEST"], priority=1)
    old = chest.exam
    appointment_book(exam=old, room=ct_room, starts_at=tomorrow_at(9), by=None)
    exam = exams_merge(organization=org_alpha, exam_ids=[head.exam_id, chest.exam_id], by=None, source="desk")
    chest.refresh_from_db()
    old.refresh_from_db()
    assert chest.exam == exam == head.exam and exam.priority == 1
    assert old.status == ExamStatus.CANCELLED and exam.accession_number in old.status_changes.last().note
    assert not old.appointments.filter(cancelled_at__isnull=True).exists()
    with pytest.raises(RegistrationError, match="one modality"):
        dx = order(org_alpha, patient, catalogue["DX-CHEST"]).exam
        exams_merge(organization=org_alpha, exam_ids=[exam.pk, dx.pk], by=None, source="desk")


# --- Appointments ---------------------------------------------------------------------------------


def test_booking_respects_hours_slots_modality_and_capacity(org_alpha, catalogue, ct_room):
    patients = [register(org_alpha, name=name) for name in ("甲", "乙", "丙")]
    exams = [order(org_alpha, p, catalogue["CT-HEAD"]).exam for p in patients]
    for exam in exams[:2]:
        appointment_book(exam=exam, room=ct_room, starts_at=tomorrow_at(9), by=None)
    with pytest.raises(ConflictError, match="full"):
        appointment_book(exam=exams[2], room=ct_room, starts_at=tomorrow_at(9), by=None)
    for bad in (tomorrow_at(9, 10), tomorrow_at(12), tomorrow_at(7, 30)):
        with pytest.raises(RegistrationError, match="slot"):
            appointment_book(exam=exams[2], room=ct_room, starts_at=bad, by=None)
    dx = order(org_alpha, patients[0], catalogue["DX-CHEST"]).exam
    with pytest.raises(RegistrationError, match="DX"):
        appointment_book(exam=dx, room=ct_room, starts_at=tomorrow_at(10), by=None)
    slots = room_day_slots(room=ct_room, day=tomorrow_at(9).date())
    assert [s.starts_at.strftime("%H:%M") for s in slots] == [
        "08:00",
        "08:30",
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]
    assert slots[2].free == 0 and slots[3].free == 2


def test_move_and_cancel_free_the_slot(org_alpha, catalogue, ct_room):
    exam = order(org_alpha, register(org_alpha), catalogue["CT-HEAD"]).exam
    appointment = appointment_book(exam=exam, room=ct_room, starts_at=tomorrow_at(8), by=None)
    with pytest.raises(ConflictError, match="move it"):
        appointment_book(exam=exam, room=ct_room, starts_at=tomorrow_at(9), by=None)
    appointment = appointment_move(appointment=appointment, room=ct_room, starts_at=tomorrow_at(11, 30), by=None)
    assert appointment.ends_at == tomorrow_at(12)
    day = room_day_slots(room=ct_room, day=tomorrow_at(8).date())
    assert day[0].free == 2 and day[-1].free == 1
    appointment_cancel(appointment=appointment, by=None)
    assert room_day_slots(room=ct_room, day=tomorrow_at(8).date())[-1].free == 2
    assert appointment_book(exam=exam, room=ct_room, starts_at=tomorrow_at(8), by=None).pk != appointment.pk


def test_desk_day_list_has_emergencies_first_and_booked_exams_of_the_day(org_alpha, catalogue, ct_room):
    patient = register(org_alpha)
    routine = order(org_alpha, patient, catalogue["DX-CHEST"]).exam
    emergency = order(org_alpha, patient, catalogue["CT-HEAD"], priority=1).exam
    booked = order(org_alpha, patient, catalogue["CT-CHEST"]).exam
    appointment_book(exam=booked, room=ct_room, starts_at=tomorrow_at(9), by=None)
    assert list(exam_day_list(organization=org_alpha, day=timezone.localdate()))[:2] == [emergency, routine]
    assert list(exam_day_list(organization=org_alpha, day=tomorrow_at(9).date())) == [booked]


# --- Scanning and the slip -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scanned",
    ["{accession}", " {accession}\n", '{{"name": "张三", "accession": "{accession}"}}', "ACC:{accession}|PID:x"],
)
def test_lookup_finds_an_exam_from_barcodes_and_qr_codes(org_alpha, catalogue, scanned):
    exam = order(org_alpha, register(org_alpha), catalogue["CT-HEAD"], his_order_no="SQ-1").exam
    assert (
        registration_lookup(organization=org_alpha, code=scanned.format(accession=exam.accession_number)).exam == exam
    )
    assert registration_lookup(organization=org_alpha, code="SQ-1").exam == exam


def test_lookup_finds_a_patient_by_card_or_his_number_only_in_the_organization(org_alpha, org_beta):
    number = id_card(date(1980, 5, 17))
    patient = register(org_alpha, id_card=number, admission_no="ZY-77")
    assert registration_lookup(organization=org_alpha, code="https://his.example/p?adm=ZY-77").patient == patient
    assert registration_lookup(organization=org_alpha, code=number.lower()).patient == patient
    assert registration_lookup(organization=org_beta, code=number) == registration_lookup(
        organization=org_beta, code=""
    )


def test_slip_pdf_shows_patient_time_room_and_accession(org_alpha, catalogue, ct_room, tmp_path):
    exam = order(org_alpha, register(org_alpha), catalogue["CT-HEAD"]).exam
    appointment_book(exam=exam, room=ct_room, starts_at=tomorrow_at(9, 30), by=None)
    html = exam_slip_html(exam=exam)
    assert "data:image/svg+xml;base64," in html
    pdf = exam_slip_pdf(exam=exam)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "slip.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "slip.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "张三" in text and exam.accession_number in text and "CT 1" in text
    assert f"{tomorrow_at(9, 30):%Y-%m-%d} 09:30" in text
    assert Patient.objects.count() == 1
