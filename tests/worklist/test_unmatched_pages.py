"""The unmatched-studies pages and API, driven as the desk uses them: a clerk finds an unmatched study,
searches the order by pinyin with the keyboard, re-associates it, moves a series, unbinds and undoes,
in Chromium against the live server; the API the same way, with its OpenAPI schema fuzzed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pydicom
import pytest
from playwright.sync_api import Page, expect
from pydicom.uid import generate_uid
from rest_framework.test import APIClient

from pacs import storage
from pacs.models import Instance, Organization, Series, Study, User
from pacs.synthetic import Patient as SyntheticPatient
from tests.conftest import ARTIFACTS
from tests.worklist.conftest import Scheduled
from tests.worklist.test_linking import series_files
from worklist.models import Reassociation, StudyLink

PASSWORD = "secret-pass-123"
WRONG = SyntheticPatient("Sun^Ba=孙^八", "P999", "19700101", "M", charset="GB18030")


def store(archive, folder: Path) -> None:  # type: ignore[no-untyped-def]
    result = archive.dcmtk("storescu", "+sd", files=[folder])
    assert result.returncode == 0, result.stderr


@pytest.fixture
def clerk(org_alpha: Organization) -> User:
    return User.objects.create_user(username="clerk", password=PASSWORD, organization=org_alpha)


@pytest.fixture
def two_series(archive, modality, scheduled: Scheduled, tmp_path) -> Study:  # type: ignore[no-untyped-def]
    """One unmatched study of the wrong patient, two CT series."""
    study_uid = generate_uid()
    store(archive, series_files(tmp_path / "a", WRONG, study_uid=study_uid, accession="WRONG1"))
    store(archive, series_files(tmp_path / "b", WRONG, study_uid=study_uid, accession="WRONG1"))
    return Study.objects.get()


@pytest.fixture
def desk(page: Page, live_server, clerk) -> Page:  # type: ignore[no-untyped-def]
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/?next=/ris/")
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/ris/")
    return page


def screenshot(page: Page, name: str) -> None:
    folder = ARTIFACTS / "worklist"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_clerk_reassociates_an_unmatched_study_by_keyboard_then_undoes(
    desk: Page, two_series: Study, scheduled: Scheduled, clerk
):
    exam = scheduled.zhang_ct
    # From any desk page, Alt+U opens the unmatched list; the study is on it with its patient.
    desk.keyboard.press("Alt+u")
    row = desk.locator(f"tr[data-study-uid='{two_series.study_instance_uid}']")
    expect(row).to_contain_text("P999")
    expect(row).to_contain_text("2 / 6")
    expect(row).to_contain_text("unmatched")
    # The filter finds it by pinyin initials of its name too; another name hides it.
    expect(desk.locator("#id_q")).to_be_focused()
    desk.keyboard.type("zs\n")
    expect(desk.locator("#studies")).to_contain_text("No studies.")
    desk.fill("#id_q", "sunba")
    desk.locator("#id_q").press("Enter")
    expect(row).to_be_visible()
    row.get_by_role("link").click()
    # The target search box has the focus: 张三's order by the initials of the pinyin, then Enter.
    expect(desk.locator("#target-q")).to_be_focused()
    desk.keyboard.type("zs\n")
    target = desk.locator("label.target", has_text=exam.accession_number)
    expect(target.locator("input")).to_be_checked()
    expect(desk.locator("#id_reason")).to_be_focused()
    screenshot(desk, "target-search")
    desk.keyboard.type("modality chose the wrong patient\n")
    expect(desk.locator(".messages")).to_contain_text("re-associated")
    expect(desk.locator("#study-order")).to_contain_text(exam.accession_number)
    expect(desk.locator("#study-accession")).to_have_text(exam.accession_number)
    history = desk.locator("#history tbody tr").first
    expect(history).to_contain_text("clerk")
    expect(history).to_contain_text("P999")  # old values
    expect(history).to_contain_text("P001")  # new values
    expect(history).to_contain_text("modality chose the wrong patient")
    screenshot(desk, "reassociated")
    # What is saved: the link, the archive's patient and the files.
    assert StudyLink.objects.get(study=two_series).exam == exam
    study = Study.objects.select_related("patient").get(pk=two_series.pk)
    assert study.patient.patient_id == "P001" and study.accession_number == exam.accession_number
    record = Reassociation.objects.get()
    assert record.done_by == clerk and record.old["PatientID"] == "P999"
    for instance in Instance.objects.all():
        assert pydicom.dcmread(storage.absolute_path(instance.file_path)).PatientID == "P001"
    # Undo from the history: back on the unmatched list with the old patient.
    history.get_by_role("button", name="Undo").click()
    expect(desk.locator(".messages")).to_contain_text("Undone")
    expect(desk.locator("#study-order")).to_contain_text("unmatched")
    expect(desk.locator("#history tbody tr.undone")).to_have_count(1)
    study.refresh_from_db()
    assert Study.objects.get(pk=two_series.pk).patient.patient_id == "P999"
    assert StudyLink.objects.get(study=two_series).exam is None
    assert Reassociation.objects.get(pk=record.pk).undone_by == clerk


def test_clerk_moves_one_series_and_unbinds(desk: Page, two_series: Study, scheduled: Scheduled, live_server):
    exam = scheduled.li_dx
    moved = Series.objects.filter(study=two_series).order_by("pk").first()
    desk.goto(f"{live_server.url}/ris/unmatched/studies/{two_series.pk}/")
    desk.fill("#target-q", exam.accession_number)
    desk.locator("#target-q").press("Enter")
    desk.select_option("#id_series", str(moved.pk))
    desk.fill("#id_reason", "second patient scanned in the same session")
    # A missing reason is refused with a clear message; nothing changes.
    desk.fill("#id_reason", "")
    desk.evaluate("document.querySelector('#id_reason').removeAttribute('required')")
    desk.click("#reassociate-button")
    expect(desk.locator("#reassociate .error")).to_contain_text("reason")
    assert not Reassociation.objects.exists()
    desk.select_option("#id_series", str(moved.pk))
    desk.fill("#id_reason", "second patient scanned in the same session")
    desk.locator("#id_reason").press("Enter")
    expect(desk.locator(".messages")).to_contain_text("series was moved")
    # The page of the study the series joined: the order's UID, linked to it, one series.
    new_study = Study.objects.get(study_instance_uid=exam.study_instance_uid)
    assert urlsplit(desk.url).path == f"/ris/unmatched/studies/{new_study.pk}/"
    expect(desk.locator("#study-order")).to_contain_text(exam.accession_number)
    expect(desk.locator("#series tbody tr")).to_have_count(1)
    expect(desk.locator("#history")).to_contain_text("series moved")
    # Unbind it: the study goes on the unmatched list; the archive is unchanged.
    desk.fill("#id_unbind_reason", "not this order after all")
    desk.locator("#id_unbind_reason").press("Enter")
    expect(desk.locator("#study-order")).to_contain_text("unmatched")
    assert StudyLink.objects.get(study=new_study).exam is None
    assert Study.objects.get(pk=new_study.pk).patient.patient_id == "P002"
    desk.goto(f"{live_server.url}/ris/unmatched/")
    expect(desk.locator(f"tr[data-study-uid='{exam.study_instance_uid}']")).to_be_visible()
    # The organization's history lists both actions, newest first; only the newest can be undone.
    desk.goto(f"{live_server.url}/ris/unmatched/history/")
    rows = desk.locator("#history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("unbound")
    expect(rows.nth(1)).to_contain_text("series moved")
    expect(rows.nth(0).get_by_role("button", name="Undo")).to_be_visible()
    expect(rows.nth(1).get_by_role("button", name="Undo")).to_have_count(0)
    screenshot(desk, "history")


@pytest.fixture
def api(clerk) -> APIClient:
    client = APIClient()
    client.force_authenticate(clerk)
    return client


def test_api_unmatched_list_targets_reassociate_history_undo(
    api: APIClient, two_series: Study, scheduled: Scheduled, org_beta
):
    exam = scheduled.zhang_ct
    listed = api.get("/api/worklist/studies").json()
    assert [s["study_instance_uid"] for s in listed] == [two_series.study_instance_uid]
    assert listed[0]["exam"] is None and listed[0]["patient"]["patient_id"] == "P999"
    assert api.get("/api/worklist/studies", {"q": "P001"}).json() == []
    assert api.get("/api/worklist/studies", {"modality": "MR"}).json() == []
    targets = api.get("/api/worklist/targets", {"q": "zhang"}).json()
    assert [t["accession_number"] for t in targets] == [exam.accession_number]
    assert api.get("/api/worklist/targets", {"q": exam.accession_number}).json()[0]["id"] == exam.pk
    assert api.get("/api/worklist/targets", {"q": "P001"}).json()[0]["id"] == exam.pk
    assert api.get("/api/worklist/targets", {"q": "钱"}).json() == []  # cancelled orders are no target

    refused = api.post(f"/api/worklist/studies/{two_series.pk}/reassociate", {"reason": "x"}, format="json")
    assert refused.status_code == 400
    url = f"/api/worklist/studies/{two_series.pk}/reassociate"
    done = api.post(url, {"exam": exam.pk, "reason": "wrong patient"}, format="json")
    assert done.status_code == 200, done.content
    record = done.json()
    assert record["kind"] == "study" and record["old"]["PatientID"] == "P999" and record["done_by"] == "clerk"
    assert api.get("/api/worklist/studies").json() == []
    detail = api.get(f"/api/worklist/studies/{two_series.pk}").json()
    assert detail["exam"] == exam.pk and detail["patient"]["patient_id"] == "P001" and len(detail["series"]) == 2

    series_id = detail["series"][0]["id"]
    moved = api.post(
        f"/api/worklist/series/{series_id}/reassociate",
        {"patient": scheduled.li_dx.patient.pk, "reason": "outside images"},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["kind"] == "series" and moved.json()["new"]["PatientID"] == "P002"
    # The study action is no longer the latest on its study: undoing it is refused until the move is undone.
    assert api.post(f"/api/worklist/reassociations/{record['id']}/undo").status_code == 409
    history = api.get(f"/api/worklist/studies/{two_series.pk}/history").json()
    assert [h["kind"] for h in history] == ["series", "study"] and [h["undoable"] for h in history] == [True, False]
    assert api.post(f"/api/worklist/reassociations/{moved.json()['id']}/undo").status_code == 200
    assert api.post(f"/api/worklist/reassociations/{record['id']}/undo").status_code == 200
    assert Study.objects.get(pk=two_series.pk).patient.patient_id == "P999"
    assert Study.objects.get(pk=two_series.pk).number_of_series == 2
    unbind = api.post(f"/api/worklist/studies/{two_series.pk}/unbind", {"reason": "r"}, format="json")
    assert unbind.status_code == 200 and unbind.json()["kind"] == "unbind"
    assert len(api.get("/api/worklist/reassociations").json()) == 5

    stranger = APIClient()
    stranger.force_authenticate(User.objects.create_user("eve", password="x-123456789", organization=org_beta))
    assert stranger.get(f"/api/worklist/studies/{two_series.pk}").status_code == 404
    assert stranger.get("/api/worklist/studies").json() == []
    foreign = stranger.post(url, {"exam": exam.pk, "reason": "x"}, format="json")
    assert foreign.status_code == 404
    assert stranger.get("/api/worklist/reassociations").json() == []
    assert APIClient().get("/api/worklist/studies").status_code == 401


def test_the_pages_speak_chinese(client, clerk, two_series: Study):
    client.force_login(clerk)
    page = client.get("/ris/unmatched/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "未匹配申请单的检查" in page and "未匹配检查" in page  # the heading, and the desk's navigation link
    page = client.get(f"/ris/unmatched/studies/{two_series.pk}/?q=zs", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "将这些影像归属到其他申请单或患者" in page and "重新关联" in page
