"""The registration flows of a busy desk, driven in Chromium with the keyboard, against the live server:
single (new patient, checked in), duplicate detection, batch check-in, merged orders, booking from the
room's day, scanning, and the printed slip."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from ris.models import Exam, ExamStatus, OrderSource, Patient
from ris.services.exams import OrderData, order_create
from ris.services.patients import PatientData, patient_register
from tests.ris.conftest import PASSWORD, id_card

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk(browser: Browser, live_server, clerk) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """A logged-in clerk on the desk's page."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/accounts/login/?next=/ris/")
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/ris/")
    yield page
    context.close()


def his_order(clerk, patient, procedure):  # type: ignore[no-untyped-def]
    return order_create(
        organization=clerk.organization,
        patient=patient,
        data=OrderData(procedure=procedure),
        source=OrderSource.HIS,
        by=clerk,
    )


def test_single_registration_by_keyboard_then_slip(desk: Page, catalogue, clerk):
    number = id_card(date(1985, 6, 1), sequence=3)
    expect(desk.locator("#scan")).to_be_focused()
    desk.keyboard.press("Alt+n")
    expect(desk.locator("#id_name")).to_be_focused()
    desk.keyboard.type("陈大文")
    desk.keyboard.press("Tab")
    desk.keyboard.type(number)  # sex and birth date come from the card
    desk.select_option("#id_procedure", label=str(catalogue["CT-HEAD"]))
    desk.locator("#id_requesting_department").fill("神经内科")
    desk.locator("#id_requesting_department").press("Enter")
    expect(desk.locator("h1")).to_contain_text("CT")
    expect(desk.locator(".status")).to_have_text("arrived")
    patient = Patient.objects.get(name="陈大文")
    assert patient.sex == "M" and patient.birth_date == date(1985, 6, 1) and patient.name_pinyin == "CHENDAWEN"
    exam = Exam.objects.get(patient=patient)
    assert exam.status == ExamStatus.ARRIVED and exam.status_changes.last().changed_by == clerk
    # The slip button has the focus: Enter prints.
    expect(desk.locator("#print-slip")).to_be_focused()
    slip = desk.request.get(f"/ris/exams/{exam.pk}/slip.pdf")
    assert slip.ok and slip.headers["content-type"] == "application/pdf" and slip.body().startswith(b"%PDF")
    # The desk's list of the day shows it with who checked in.
    desk.keyboard.press("Alt+d")
    row = desk.locator(f"tr[data-accession='{exam.accession_number}']")
    expect(row).to_contain_text("陈大文")
    expect(row).to_contain_text("clerk")


def test_registration_shows_errors_and_duplicates(desk: Page, catalogue, clerk):
    existing = patient_register(
        organization=clerk.organization, data=PatientData(name="周敏", sex="F", birth_date=date(1970, 2, 2)), by=clerk
    )
    desk.goto("/ris/register/")
    desk.fill("#id_name", "周敏")
    desk.fill("#id_id_card", "110105194912310021")
    desk.select_option("#id_procedure", label=str(catalogue["DX-CHEST"]))
    desk.locator("#id_name").press("Enter")
    expect(desk.locator(".field.invalid .error")).to_contain_text("check digit")
    desk.fill("#id_id_card", "")
    desk.fill("#id_birth_date", "1970-02-02")
    desk.select_option("#id_sex", "F")
    desk.locator("#id_name").press("Enter")
    expect(desk.locator(".duplicates")).to_contain_text(existing.patient_id)
    desk.locator(".use-patient").first.click()
    expect(desk.locator(".patient-banner")).to_contain_text(existing.patient_id)
    expect(desk.locator("#id_procedure")).to_be_focused()
    desk.select_option("#id_procedure", label=str(catalogue["DX-CHEST"]))
    desk.locator("#id_procedure").press("Enter")
    expect(desk.locator(".status")).to_have_text("arrived")
    assert Patient.objects.filter(name="周敏").count() == 1 and existing.exams.count() == 1


def test_batch_check_in_and_merge_from_the_list(desk: Page, catalogue, clerk):
    patient = patient_register(organization=clerk.organization, data=PatientData(name="林一", sex="M"), by=clerk)
    head, chest, dx = (his_order(clerk, patient, catalogue[c]).exam for c in ("CT-HEAD", "CT-CHEST", "DX-CHEST"))
    desk.goto(f"/ris/patients/{patient.pk}/")
    # Merge the two CT orders into one exam, one accession number.
    desk.check(f"input[name=exam][value='{head.pk}']")
    desk.check(f"input[name=exam][value='{chest.pk}']")
    desk.keyboard.press("Alt+m")
    expect(desk.locator("h1")).to_contain_text(head.accession_number)
    expect(desk.locator("table").first).to_contain_text("CT 头颅平扫")
    expect(desk.locator("table").first).to_contain_text("CT 胸部平扫")
    # Check in the merged exam and the radiograph at once from the desk's list.
    desk.goto("/ris/")
    desk.check(f"input[name=exam][value='{head.pk}']")
    desk.check(f"input[name=exam][value='{dx.pk}']")
    desk.keyboard.press("Alt+c")
    expect(desk.locator(".messages")).to_contain_text(dx.accession_number)
    statuses = dict(Exam.objects.values_list("pk", "status"))
    assert statuses == {head.pk: "arrived", chest.pk: "cancelled", dx.pk: "arrived"}


def test_book_from_the_room_day_then_check_in_by_scanning_the_slip(desk: Page, catalogue, clerk, ct_room):
    patient = patient_register(organization=clerk.organization, data=PatientData(name="黄二", sex="F"), by=clerk)
    exam = his_order(clerk, patient, catalogue["CT-HEAD"]).exam
    tomorrow = timezone.localdate() + timedelta(days=1)
    desk.goto(f"/ris/exams/{exam.pk}/")
    desk.keyboard.press("Alt+b")
    desk.fill("input[name=date]", tomorrow.isoformat())
    desk.locator("input[name=date]").press("Enter")
    desk.get_by_role("button", name="Book 09:30").click()
    expect(desk.locator(".messages")).to_contain_text("09:30")
    expect(desk.locator(".facts")).to_contain_text(f"{tomorrow:%Y-%m-%d} 09:30")
    # The room's day shows the booking, one place of two taken.
    desk.goto(f"/ris/rooms/?room={ct_room.pk}&date={tomorrow.isoformat()}")
    slot = desk.locator("tr", has_text="09:30–10:00")
    expect(slot).to_contain_text("黄二")
    expect(slot).to_contain_text("1/2")
    # Appointment day: the patient hands over the slip; the scanner types the accession number and Enter.
    desk.keyboard.press("F2")
    desk.keyboard.type(exam.accession_number + "\n")
    expect(desk.locator("h1")).to_contain_text(exam.accession_number)
    desk.get_by_role("button", name="Arrived").click()
    expect(desk.locator(".status")).to_have_text("arrived")


def test_scanning_an_unknown_id_card_starts_a_registration(desk: Page):
    number = id_card(date(2001, 9, 9), sequence=8)
    desk.locator("#scan").fill(number)
    desk.locator("#scan").press("Enter")
    expect(desk.locator(".messages")).to_contain_text("Nothing found")
    expect(desk.locator("#id_id_card")).to_have_value(number)
