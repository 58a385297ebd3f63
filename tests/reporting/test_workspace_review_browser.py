"""The workspace in Chromium: quality problems marked in the text and overridden with a reason, the edit
lock message, structured measurements, and a prior report opened read-only with its images beside."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reporting.models import Report, ReportStatus
from reporting.services.reports import (
    key_image_add,
    report_get_or_create,
    report_lock_acquire,
    report_lock_release,
    report_save,
)
from reporting.services.signoff import report_approve, report_submit
from tests.conftest import wait_until
from tests.reporting.conftest import png_bytes
from tests.reporting.test_workspace_browser import _editor_built, editor, login, shot  # noqa: F401

pytestmark = pytest.mark.usefixtures("_editor_built")


def test_quality_marks_override_lock_and_prior_comparison(page, live_server, resident, senior, make_exam):  # type: ignore[no-untyped-def]
    base = live_server.url
    prior_exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    prior = report_lock_acquire(report=report_get_or_create(exam=prior_exam, by=resident), by=resident)
    prior = report_save(
        report=prior,
        by=resident,
        sections={"findings": "<p>右膝关节腔少量积液。</p>", "impression": "<p>右膝关节少量积液。</p>"},
    )
    key_image_add(report=prior, by=resident, png=png_bytes("prior"), study_instance_uid=prior_exam.study_instance_uid)
    report_approve(report=report_submit(report=prior, by=resident), by=senior)

    exam = make_exam("MR 左膝关节平扫", "MR", "KNEE")
    report = report_get_or_create(exam=exam, by=resident)
    report_lock_acquire(report=report, by=senior)
    path = f"/reporting/exams/{exam.pk}"

    # Someone else holds the lock: a clear message, nothing editable.
    login(page, base, resident.username, path)
    expect(page.locator("#rw-lock")).to_contain_text("王 芳")
    expect(editor(page, "findings")).to_have_attribute("contenteditable", "false")
    assert page.locator("#rw-take-over").count() == 0  # a resident may not take it over
    shot(page, "workspace-locked")
    report_lock_release(report=report, by=senior)
    page.reload()
    expect(page.locator("#rw-editor")).to_have_attribute("data-ready", "true")
    expect(editor(page, "findings")).to_have_attribute("contenteditable", "true")

    # The prior report, read-only, and its images in a second frame below the current ones.
    prior_row = page.locator(f'#rw-history li[data-exam="{prior_exam.pk}"]')
    expect(prior_row).to_contain_text("final")
    prior_row.locator(".rw-open-prior").click()
    panel = page.locator("#rw-prior")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("右膝关节腔少量积液")
    assert panel.locator("[contenteditable]").count() == 0
    expect(panel.locator("img.rw-prior-image")).to_have_count(1)
    # decode() waits for the image to arrive (it may still be loading here) and rejects a broken one.
    assert panel.locator("img.rw-prior-image").evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 256
    page.click("#rw-prior-compare")
    expect(page.locator("#rw-prior-images")).to_be_visible()
    assert prior_exam.study_instance_uid in page.locator("#rw-prior-viewer").get_attribute("src")
    assert exam.study_instance_uid in page.locator("#rw-viewer").get_attribute("src")
    shot(page, "workspace-prior")

    # The order says left knee; the text says right: marked in the text, overridden with a reason.
    editor(page, "findings").click()
    page.keyboard.type("右膝关节内侧半月板后角见线样高信号影。")
    editor(page, "impression").click()
    page.keyboard.type("内侧半月板后角撕裂。")
    page.click("#rw-submit")
    expect(page.locator('#rw-problems li[data-code="laterality"]')).to_be_visible()
    mark = editor(page, "findings").locator(".rw-problem")
    expect(mark.first).to_have_text("右膝")
    expect(page.locator("#rw-override")).to_be_visible()
    shot(page, "workspace-quality")
    # Marks are drawn, not written: the saved text carries none of them.
    assert "rw-problem" not in Report.objects.get(pk=report.pk).sections["findings"]
    page.locator('[data-override="laterality"]').fill("申请单侧别有误，已与临床核实为右膝")
    page.keyboard.press("Enter")
    expect(page.locator("#rw-status")).to_have_attribute("data-status", "submitted", timeout=15_000)
    saved = Report.objects.get(pk=report.pk)
    assert saved.status == ReportStatus.SUBMITTED
    assert saved.events.filter(action="quality_override", note__contains="已与临床核实").exists()


def test_measurements_flagged_and_written_into_the_text(page, live_server, resident, make_exam, echo_template):  # type: ignore[no-untyped-def]
    exam = make_exam("心脏彩超", "US", "HEART")
    login(page, live_server.url, resident.username, f"/reporting/exams/{exam.pk}")
    expect(editor(page, "findings")).to_contain_text("各房室腔大小正常")
    page.fill('[data-measure="LVEDD"]', "62")
    page.fill('[data-measure="EF"]', "38")
    page.fill('[data-measure="IVS"]', "9")
    expect(page.locator('[data-measure="LVEDD"]')).to_have_class("rw-out-of-range")
    expect(page.locator('[data-measure="IVS"]')).not_to_have_class("rw-out-of-range")
    editor(page, "findings").click()
    page.keyboard.press("End")
    page.click("#rw-insert-measurements")
    expect(editor(page, "findings")).to_contain_text("LVEDD 62 mm↑，IVS 9 mm，EF 38 %↓。")
    expect(page.locator("#rw-saved")).to_have_attribute("data-state", "saved", timeout=15_000)
    shot(page, "workspace-measurements")
    saved = Report.objects.get(exam=exam)
    assert saved.measurements == {"LVEDD": "62", "IVS": "9", "EF": "38"}
    assert "LVEDD 62 mm↑" in saved.sections["findings"]


def test_key_image_from_the_viewers_own_button(page, live_server, resident, head_ct):  # type: ignore[no-untyped-def]
    """The viewer (opened with &report=) stores the key image itself and tells the workspace, which
    lists it without reloading."""
    login(page, live_server.url, resident.username, f"/reporting/exams/{head_ct.pk}")
    viewer = page.frame_locator("#rw-viewer")
    expect(viewer.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=60_000)
    frame = page.locator("#rw-viewer").element_handle().content_frame()
    if frame is None or not frame.evaluate("() => typeof window.pacsViewer?.captureKeyImage === 'function'"):
        pytest.skip("this viewer build has no key-image capture (viewer/frontend)")
    page.evaluate("() => { window.__notReloaded = true; }")
    button = viewer.locator("button.key-image")
    expect(button).to_be_visible(timeout=30_000)
    expect(viewer.locator(".overlay-bl")).to_contain_text("1 / 8", timeout=30_000)
    button.click()
    expect(page.locator("#rw-key-images li[data-key-image]")).to_have_count(1, timeout=30_000)
    assert page.evaluate("() => window.__notReloaded") is True
    image = Report.objects.get(exam=head_ct).key_images.get()
    assert image.study_instance_uid == head_ct.study_instance_uid and image.sop_instance_uid and image.frame == 1
    shot(page, "workspace-viewer-key-image")


def test_leaving_the_editor_saves_and_gives_the_lock_back(page, live_server, resident, make_exam):  # type: ignore[no-untyped-def]
    """A radiologist who closes the report (or goes elsewhere) does not keep others out until the
    lock expires, and the last words typed are kept."""
    exam = make_exam("MR 左膝关节平扫", "MR", "KNEE")
    login(page, live_server.url, resident.username, f"/reporting/exams/{exam.pk}")
    report = Report.objects.get(exam=exam)
    assert report.locked_by == resident

    editor(page, "findings").click()
    page.keyboard.type("左膝外侧半月板后角撕裂。")
    # Leave at once, before the autosave delay: the page's last request carries the text.
    page.goto(f"{live_server.url}/ris/")

    def released() -> bool:
        report.refresh_from_db()
        return report.locked_by_id is None

    wait_until(released, timeout=15)
    assert "左膝外侧半月板后角撕裂。" in report.sections["findings"]
