"""The approved report's PDF: its text as pdftotext reads it (Chinese included), and a PNG to look at."""

from __future__ import annotations

import subprocess

from reporting.files import file_read
from reporting.services.reports import (
    key_image_add,
    report_critical_set,
    report_get_or_create,
    report_lock_acquire,
    report_save,
)
from reporting.services.signoff import report_approve, report_submit
from tests.conftest import ARTIFACTS

from .conftest import png_bytes


def test_pdf_text_and_rendering(make_exam, resident, senior, echo_template) -> None:  # type: ignore[no-untyped-def]
    exam = make_exam("心脏彩超", "US", "HEART", department="心内科")
    report = report_lock_acquire(report=report_get_or_create(exam=exam, by=resident), by=resident)
    report = report_save(
        report=report,
        by=resident,
        sections={
            "findings": "<p>左心室扩大，室壁运动普遍减弱。</p><p>二尖瓣轻度反流。</p>",
            "impression": "<p>左心扩大，左室收缩功能减低。</p>",
        },
        measurements={"LVEDD": "62", "LVESD": "48", "IVS": "9", "LVPW": "9", "EF": "38"},
    )
    key_image_add(
        report=report,
        by=resident,
        png=png_bytes("LV"),
        study_instance_uid=exam.study_instance_uid,
        caption="心尖四腔切面",
    )
    report_critical_set(report=report, by=resident, category="other", note="EF 明显减低")
    report = report_approve(report=report_submit(report=report, by=resident), by=senior)

    out = ARTIFACTS / "reporting"
    out.mkdir(parents=True, exist_ok=True)
    pdf_path = out / "report.pdf"
    pdf_path.write_bytes(file_read(report.versions.get().pdf_path))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], check=True, capture_output=True, text=True
    ).stdout
    for expected in [
        "Alpha Hospital",
        "影像检查报告",
        "张三",
        exam.accession_number,
        "心脏彩超",
        "心内科",
        "检查所见",
        "左心室扩大，室壁运动普遍减弱",
        "诊断意见",
        "左心扩大，左室收缩功能减低",
        "LVEDD",
        "62 mm ↑",
        "38 % ↓",
        "心尖四腔切面",
        "危急值",
        "王 芳",
        "李 明",
    ]:
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(pdf_path)], check=True, capture_output=True, text=True).stdout
    assert "CJK" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf_path), str(out / "report")], check=True
    )
    assert (out / "report-1.png").stat().st_size > 10_000
