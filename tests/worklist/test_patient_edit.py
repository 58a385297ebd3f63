"""Correcting a patient at the desk (Chromium, keyboard): validation with clear messages, the change
audited, the ID card masked in lists, and the archive's copies of the patient's linked studies corrected
through the same correction service (index, files, C-FIND), with the old values kept."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pydicom
import pytest
from playwright.sync_api import Page, expect

from pacs import storage
from pacs.models import Instance, Organization, Study, User
from ris.models import Patient, PatientChange
from ris.services.patients import PatientData, patient_merge, patient_register, patient_update
from tests.conftest import ARTIFACTS
from tests.ris.conftest import id_card
from tests.worklist.conftest import Scheduled
from tests.worklist.test_linking import ZHANG, series_files
from tests.worklist.test_reassociation import cfind_study
from worklist.models import Reassociation, StudyLink

PASSWORD = "secret-pass-123"


@pytest.fixture
def clerk(org_alpha: Organization) -> User:
    return User.objects.create_user(username="clerk", password=PASSWORD, organization=org_alpha)


@pytest.fixture
def linked(archive, modality, scheduled: Scheduled, tmp_path) -> Study:  # type: ignore[no-untyped-def]
    """张三's CT, stored with his order's accession number: linked."""
    folder = series_files(tmp_path / "ct", ZHANG, accession=scheduled.zhang_ct.accession_number)
    assert archive.dcmtk("storescu", "+sd", files=[folder]).returncode == 0
    study = Study.objects.get()
    assert StudyLink.objects.get(study=study).exam == scheduled.zhang_ct
    return study


@pytest.fixture
def desk(page: Page, live_server, clerk) -> Page:  # type: ignore[no-untyped-def]
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/?next=/ris/")
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/ris/")
    return page


def test_clerk_corrects_a_patient_and_the_archive_follows(
    desk: Page, live_server, linked: Study, scheduled: Scheduled, clerk, archive, tmp_path
):
    patient = scheduled.zhang_ct.patient
    desk.goto(f"{live_server.url}/ris/patients/{patient.pk}/")
    desk.keyboard.press("Alt+e")
    expect(desk.locator("#id_name")).to_be_focused()
    expect(desk.locator("#id_name")).to_have_value("张三")
    # An ID card that does not agree with the birth date is refused next to the field.
    wrong_card = id_card(date(1968, 3, 13), sequence=11)
    desk.fill("#id_id_card", wrong_card)
    desk.locator("#id_name").press("Enter")
    expect(desk.locator(".field.invalid")).to_contain_text("does not match the ID card")
    assert Patient.objects.get(pk=patient.pk).id_card == ""
    # The right card, a corrected name.
    card = id_card(date(1968, 3, 12), sequence=11)
    desk.fill("#id_id_card", card)
    desk.fill("#id_name", "张叁")
    desk.fill("#id_phone", "13800000000")
    desk.keyboard.press("Alt+s")
    expect(desk.locator(".messages")).to_contain_text("saved")
    expect(desk.locator("h1")).to_contain_text("张叁")
    # Audited: who, the old and new values, the ID card masked.
    change = PatientChange.objects.get(patient=patient)
    assert change.changed_by == clerk and change.source == "desk"
    assert change.old == {"name": "张三", "id_card": "", "phone": ""}
    assert change.new["name"] == "张叁" and change.new["id_card"] == card[:6] + "********" + card[-4:]
    desk.goto(f"{live_server.url}/ris/patients/{patient.pk}/edit/")
    expect(desk.locator("#changes tbody tr")).to_have_count(1)
    expect(desk.locator("#changes")).to_contain_text("张三")
    # Lists mask the ID card.
    desk.goto(f"{live_server.url}/ris/patients/?q=zhangsan")
    expect(desk.locator("table")).to_contain_text(card[:6] + "********" + card[-4:])
    expect(desk.locator("table")).not_to_contain_text(card)
    desk.screenshot(path=str(ARTIFACTS / "worklist" / "patient-list-masked.png"))
    # The archive: the linked study's patient, its files and C-FIND answers say 张叁; the old name is kept.
    study = Study.objects.select_related("patient").get(pk=linked.pk)
    assert study.patient.patient_name == "ZHANG^SAN=张^叁"
    for instance in Instance.objects.all():
        ds = pydicom.dcmread(storage.absolute_path(instance.file_path))
        assert str(ds.PatientName) == "ZHANG^SAN=张^叁"
        assert str(ds.OriginalAttributesSequence[0].ModifiedAttributesSequence[0].PatientName) == "Zhang^San=张^三"
    (found,) = cfind_study(archive, tmp_path / "find", "P001")
    assert str(found.PatientName) == "ZHANG^SAN=张^叁"
    record = Reassociation.objects.get()
    assert record.done_by == clerk and record.exam_before == record.exam_after == scheduled.zhang_ct
    assert record.reason == "patient record corrected"


def test_a_change_outside_the_archive_leaves_the_studies_alone(linked: Study, scheduled: Scheduled):
    patient = scheduled.zhang_ct.patient
    data = PatientData(name="张三", sex="M", birth_date=patient.birth_date, phone="010-1234")
    patient_update(patient=patient, data=data, by=None)
    assert not Reassociation.objects.exists() and PatientChange.objects.get().new == {"phone": "010-1234"}
    patient_update(patient=patient, data=data, by=None)
    assert PatientChange.objects.count() == 1  # nothing changed, nothing recorded


def test_a_merged_record_gives_its_studies_the_kept_identity(linked: Study, scheduled: Scheduled, org_alpha):
    kept = patient_register(
        organization=org_alpha,
        data=PatientData(name="张三", sex="M", birth_date=date(1968, 3, 12), patient_id="P100"),
        by=None,
        allow_same_name_and_birth=True,
    )
    patient_merge(source=scheduled.zhang_ct.patient, target=kept, by=None)
    assert Study.objects.get(pk=linked.pk).patient.patient_id == "P100"
    assert Reassociation.objects.get().reason == "patient records merged"
