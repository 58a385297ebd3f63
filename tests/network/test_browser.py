"""The send flow in Chromium with the real Celery worker: choose a destination by keyboard, watch the
transfer's progress bar fill to 100 % on the transfers page, and find the instances at the peer.

The worker process runs the task (``celery_worker_process``): it reaches storescp over TCP like any
peer, and reads the instances from the storage root this test ingests into (the worker's own).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pydicom
import pytest
from playwright.sync_api import Browser, Page, expect

from network.models import Transfer, TransferStatus
from pacs import settings as project_settings
from pacs.models import Instance, User
from pacs.synthetic import Patient, ct_series
from tests.conftest import ARTIFACTS
from tests.network.conftest import CHINESE_NAME

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
PASSWORD = "secret-pass-123"
SLICES = 40


@pytest.fixture
def worker_storage(settings) -> Path:  # type: ignore[no-untyped-def]
    """The storage root the worker process reads (the session's), instead of this test's own."""
    settings.PACS_STORAGE_ROOT = Path(project_settings.PACS_STORAGE_ROOT)
    return settings.PACS_STORAGE_ROOT


@pytest.fixture
def logged_in(browser: Browser, live_server, org_alpha, request) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    User.objects.create_user(username="tech", password=PASSWORD, organization=org_alpha)
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/?next=/network/transfers/")
    page.fill("input[name=username]", "tech")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/network/transfers/")
    yield page
    screenshots = ARTIFACTS / "browser"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"{request.node.name}-final.png"), full_page=True)
    context.close()


def test_send_shows_progress_to_100_percent(
    celery_worker_process, worker_storage, logged_in: Page, storescp, org_alpha, ingest
):
    page = logged_in
    study_uid = pydicom.uid.generate_uid()
    patient = Patient(name=CHINESE_NAME, patient_id="B-1", birth_date="19700101", sex="M")
    ingest(org_alpha, *ct_series(patient, slices=SLICES, size=128, study_uid=study_uid))

    page.goto(f"/network/send/?StudyInstanceUIDs={study_uid}")
    expect(page.locator("table.studies")).to_contain_text(CHINESE_NAME)
    page.locator("#id_destination").focus()
    page.select_option("#id_destination", label=f"STORESCP (127.0.0.1:{storescp.remote.port}) · DCMTK storescp")
    page.keyboard.press("Tab")
    expect(page.locator("#send")).to_be_focused()
    responses: list = []
    page.on("response", lambda response: responses.append(response))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlsplit(url).path == "/network/transfers/")
    listing = next(r for r in responses if urlsplit(r.url).path == "/network/transfers/").text()
    rendered_unfinished = "status-queued" in listing or "status-running" in listing

    transfer = Transfer.objects.get()
    row = page.locator(f'tr[data-transfer="{transfer.pk}"]')
    expect(row).to_have_class("highlight")
    bar = row.locator("progress")
    # Polled every second from the JSON endpoint, without reloading the page.
    expect(row.locator(".status")).to_have_text("Done", timeout=60_000)
    assert bar.evaluate("element => element.value") == 100
    expect(row.locator(".percent")).to_have_text("100%")
    expect(row.locator(".numbers")).to_have_text(f"{SLICES} of {SLICES} done, 0 failed, 0 warnings")
    if rendered_unfinished:
        assert any("transfers.json" in r.url for r in responses), "the page never asked for progress"
    page.screenshot(path=str(ARTIFACTS / "browser" / "network-transfer-done.png"))

    transfer.refresh_from_db()
    assert (transfer.status, transfer.completed, transfer.failed) == (TransferStatus.DONE, SLICES, 0)
    assert len(storescp.files()) == SLICES


def test_query_and_retrieve_from_a_remote_pacs(celery_worker_process, logged_in: Page, remote_pacs, org_alpha):
    """The worker process sends the C-MOVE; dcmqrscp sends the study to the in-process archive (``archive``)."""
    page = logged_in
    page.goto("/network/")
    # The only known AE is chosen already; the query form is reached by keyboard.
    expect(page.locator("#ae")).to_have_value(str(remote_pacs.remote.pk))
    page.locator("#echo").press("Enter")
    expect(page.locator("#echo-result")).to_contain_text("answered C-ECHO in")
    page.locator("#id_patient_id").fill("RQ-1001")
    page.locator("#id_patient_id").press("Enter")
    study_row = page.locator(f'tr.remote-study[data-study-uid="{remote_pacs.ct_study_uid}"]')
    expect(study_row).to_contain_text(CHINESE_NAME)
    expect(page.locator("tr.remote-study")).to_have_count(1)
    study_row.locator("a.expand").click()
    expect(page.locator("tr.remote-series")).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "browser" / "network-remote-series.png"), full_page=True)
    study_row = page.locator(f'tr.remote-study[data-study-uid="{remote_pacs.ct_study_uid}"]')
    study_row.locator("button.retrieve").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/network/transfers/")

    transfer = Transfer.objects.get()
    row = page.locator(f'tr[data-transfer="{transfer.pk}"]')
    expect(row.locator(".status")).to_have_text("Done", timeout=60_000)
    assert row.locator("progress").evaluate("element => element.value") == 100
    expect(row.locator(".numbers")).to_have_text("5 of 5 done, 0 failed, 0 warnings")
    page.screenshot(path=str(ARTIFACTS / "browser" / "network-retrieve-done.png"))
    assert set(
        Instance.objects.filter(series__study__organization=org_alpha).values_list("sop_instance_uid", flat=True)
    ) == set(remote_pacs.ct_sop_uids)
