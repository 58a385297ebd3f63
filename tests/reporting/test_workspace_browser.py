"""The report workspace in Chromium: write findings, autosave, and find the text kept on the server."""

from __future__ import annotations

from reporting.models import Report
from tests.reporting.conftest import PASSWORD


def test_findings_typed_in_the_workspace_are_autosaved(live_server, page, resident, make_exam):
    exam = make_exam("CT 头颅平扫", "CT", "HEAD")
    page.goto(f"{live_server.url}/accounts/login/?next=/reporting/exams/{exam.pk}")
    page.fill("#id_username", resident.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    findings = page.locator('.rw-section[data-key="findings"]')
    findings.wait_for(timeout=30_000)
    findings.click()
    page.keyboard.type("脑实质密度均匀，未见异常密度影。")
    page.wait_for_function("document.getElementById('rw-saved').textContent === '✓'", timeout=30_000)
    report = Report.objects.get(exam=exam)
    assert "脑实质密度均匀" in report.sections["findings"]
