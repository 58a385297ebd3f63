"""The study browser in a real browser: search by pinyin, open the viewer from the list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, screenshot_path
from tests.browser.pixels import canvas_until

pytestmark = pytest.mark.live


def test_pinyin_search_finds_the_patient_and_opens_the_viewer(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    page.goto(f"{live_url}/accounts/login/")
    page.fill("#id_username", "dr-wang")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.fill("input[name=patient_name]", "wangxiao")
    page.click(".study-search button[type=submit]")
    rows = page.locator("table.studies tbody tr[data-viewer-url]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ACC-CT-1")
    page.fill("input[name=patient_name]", "lisi")
    page.click(".study-search button[type=submit]")
    expect(rows).to_have_count(0)
    page.fill("input[name=patient_name]", "王小")
    page.click(".study-search button[type=submit]")
    expect(rows).to_have_count(1)
    page.screenshot(path=str(screenshot_path("study-browser")))

    rows.first.locator("td.open a").click()
    expect(page).to_have_url(re.compile(rf"/viewer\?StudyInstanceUIDs={ct_study}"))
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    canvas_until(page, lambda canvas: canvas.grey.shape[0] > 0)
