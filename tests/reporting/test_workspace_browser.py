"""The report workspace in Chromium (Playwright), against the live server: the whole flow of a report.

A radiologist opens the workspace of a CT exam whose images are in the archive, types findings, switches
templates without losing them, inserts phrases by click and by shortcut, marks a key image of the
viewer (in the frame beside the editor), submits; a senior approves; the PDF then holds the typed text,
the phrases and the key image. Screenshots go to test-artifacts/reporting/.
"""

from __future__ import annotations

import io
import re
import subprocess

import numpy as np
import pytest
from django.conf import settings as django_settings
from PIL import Image
from playwright.sync_api import Page, expect

from reporting.models import KeyImage, Phrase, Report, ReportStatus, ReportTemplate
from tests.conftest import ARTIFACTS
from tests.reporting.conftest import PASSWORD

OUT = ARTIFACTS / "reporting"
BUILD = django_settings.BASE_DIR / "static" / "reporting" / "workspace.js"

FINDINGS = "脑实质密度均匀，灰白质分界清楚。"
PHRASE_CLICK = "脑室系统未见扩大，中线结构居中。"
PHRASE_KEY = "颅骨骨质完整。"
IMPRESSION = "颅脑CT平扫未见明显异常。"

# The largest value of the red channel the viewer's canvas shows: 0 while nothing is drawn.
_CANVAS_MAX = """(canvas) => {
  const copy = document.createElement('canvas');
  copy.width = canvas.width; copy.height = canvas.height;
  const context = copy.getContext('2d');
  context.drawImage(canvas, 0, 0);
  const data = context.getImageData(0, 0, copy.width, copy.height).data;
  let max = 0;
  for (let i = 0; i < data.length; i += 4) max = Math.max(max, data[i]);
  return max;
}"""


@pytest.fixture(autouse=True)
def _editor_built() -> None:
    if not BUILD.exists():
        pytest.fail(f"{BUILD} is missing: run `make static/reporting/workspace.js`")


def login(page: Page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#rw-editor")).to_have_attribute("data-ready", "true", timeout=30_000)


def shot(page: Page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"))


def editor(page: Page, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f'.rw-prose[data-key="{key}"]')


@pytest.fixture
def head_library(org_alpha):  # type: ignore[no-untyped-def]
    """Two CT head templates (the second adds a Technique section) and a shared phrase folder."""
    plain = ReportTemplate.objects.create(organization=org_alpha, name="CT 头颅", modality="CT", body_part="HEAD")
    technique = ReportTemplate.objects.create(
        organization=org_alpha,
        name="CT 头颅（含技术）",
        modality="CT",
        body_part="HEAD",
        sections=[
            {"key": "technique", "title": "Technique", "title_zh": "检查技术", "required": False},
            {"key": "findings", "title": "Findings", "title_zh": "检查所见", "required": True},
            {"key": "impression", "title": "Impression", "title_zh": "诊断意见", "required": True},
        ],
        default_text={"technique": "<p>螺旋CT平扫，层厚5 mm。</p>"},
    )
    folder = Phrase.objects.create(organization=org_alpha, title="头颅", modality="CT")
    Phrase.objects.create(organization=org_alpha, parent=folder, title="脑室", text=PHRASE_CLICK, section="findings")
    Phrase.objects.create(
        organization=org_alpha, parent=folder, title="颅骨", text=PHRASE_KEY, shortcut="Alt+1", section="findings"
    )
    return plain, technique


def test_write_key_image_submit_approve_print(page, live_server, resident, senior, head_ct, head_library, settings):  # type: ignore[no-untyped-def]
    base = live_server.url
    plain, technique = head_library
    path = f"/reporting/exams/{head_ct.pk}"
    login(page, base, resident.username, path)
    report = Report.objects.get(exam=head_ct)
    assert report.template == plain
    # The viewer in the frame is opened for this report, so its own key-image button posts here.
    assert f"report={report.pk}" in page.locator("#rw-viewer").get_attribute("src")

    findings = editor(page, "findings")
    findings.click()
    page.keyboard.type(FINDINGS)
    expect(page.locator("#rw-saved")).to_have_attribute("data-state", "saved", timeout=15_000)
    assert FINDINGS in Report.objects.get(pk=report.pk).sections["findings"]

    # Another template: the page comes back with its sections, the typed findings kept.
    page.select_option("#rw-template", label=technique.name)
    expect(editor(page, "technique")).to_contain_text("螺旋CT平扫", timeout=15_000)
    expect(page.locator("#rw-editor")).to_have_attribute("data-ready", "true")
    expect(editor(page, "findings")).to_contain_text(FINDINGS)

    # Phrases: one by click (at the cursor, end of findings), one by its shortcut.
    editor(page, "findings").click()
    page.keyboard.press("End")
    page.locator(".rw-phrase", has_text="脑室").click()
    page.keyboard.press("Alt+1")
    expect(editor(page, "findings")).to_contain_text(PHRASE_CLICK + PHRASE_KEY)
    # Undo takes the shortcut's phrase out again, redo brings it back.
    page.locator('[data-command="undo"]').click()
    expect(editor(page, "findings")).not_to_contain_text(PHRASE_KEY)
    page.locator('[data-command="redo"]').click()
    expect(editor(page, "findings")).to_contain_text(PHRASE_KEY)

    editor(page, "impression").click()
    page.keyboard.type(IMPRESSION)
    expect(page.locator("#rw-saved")).to_have_attribute("data-state", "saved", timeout=15_000)

    # A key image of what the viewer shows, once it shows the CT.
    viewer = page.frame_locator("#rw-viewer")
    expect(viewer.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=60_000)
    # Isolated inside the workspace as well, so the framed viewer shares its frames' memory with its workers.
    assert viewer.locator("#viewer-app").evaluate("() => window.crossOriginIsolated")
    canvas = viewer.locator(".viewport-element canvas").first
    deadline_reached = True
    for _ in range(100):
        if canvas.evaluate(_CANVAS_MAX) > 60:
            deadline_reached = False
            break
        page.wait_for_timeout(200)
    assert not deadline_reached, "the viewer never drew the CT"
    page.click("#rw-key-image")
    thumbnail = page.locator("#rw-key-images li[data-key-image] img")
    expect(thumbnail).to_have_count(1, timeout=15_000)
    shot(page, "workspace-written")
    image = KeyImage.objects.get(report=report)
    assert image.study_instance_uid == head_ct.study_instance_uid
    pixels = np.asarray(Image.open(settings.PACS_STORAGE_ROOT / image.png_path).convert("L"), dtype=float)
    assert pixels.max() > 60 and pixels.std() > 10, "the key image is blank"
    served = page.request.get(base + thumbnail.get_attribute("src"))
    assert served.ok and served.body() == (settings.PACS_STORAGE_ROOT / image.png_path).read_bytes()

    page.click("#rw-submit")
    expect(page.locator("#rw-status")).to_have_attribute("data-status", "submitted", timeout=15_000)
    assert Report.objects.get(pk=report.pk).status == ReportStatus.SUBMITTED
    shot(page, "workspace-submitted")

    # The resident may not approve; a senior opens the same workspace and does.
    assert page.locator("#rw-approve").count() == 0
    # Away from the workspace first: its framed viewer may still be loading, and a response of it that
    # lands after the cookies are cleared sets a CSRF cookie the login form's token does not match.
    page.goto("about:blank")
    page.context.clear_cookies()
    login(page, base, senior.username, path)
    page.click("#rw-approve")
    expect(page.locator("#rw-status")).to_have_attribute("data-status", "approved", timeout=60_000)
    shot(page, "workspace-approved")
    saved = Report.objects.get(pk=report.pk)
    assert saved.approved_by == senior and saved.versions.count() == 1
    # Final: the editors are read-only.
    expect(editor(page, "findings")).to_have_attribute("contenteditable", "false")

    print_link = page.locator('a[data-pdf="1"]')
    pdf = page.request.get(base + print_link.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    OUT.mkdir(parents=True, exist_ok=True)
    pdf_path = OUT / "workflow.pdf"
    pdf_path.write_bytes(pdf.body())
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], check=True, capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    for expected in [FINDINGS, PHRASE_CLICK, PHRASE_KEY, IMPRESSION, "螺旋CT平扫", head_ct.accession_number, "王芳"]:
        assert re.sub(r"\s+", "", expected) in flat, expected
    listing = subprocess.run(["pdfimages", "-list", str(pdf_path)], check=True, capture_output=True, text=True)
    images = [line.split() for line in listing.stdout.splitlines()[2:] if line.strip()]
    # The key image (its alpha channel comes as a soft mask of the same size).
    assert any(row[2] == "image" and int(row[3]) >= 128 and int(row[4]) >= 128 for row in images), listing.stdout
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf_path), str(OUT / "workflow")], check=True
    )
    rendered = np.asarray(Image.open(io.BytesIO((OUT / "workflow-1.png").read_bytes())).convert("L"), dtype=float)
    assert rendered.std() > 5
