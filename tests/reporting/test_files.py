"""Key-image PNGs and signed PDFs are files in the storage folder: written through the API, served back,
removed again when the row is refused, and moved out of the database by the migration."""

from __future__ import annotations

import base64
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from reporting.models import KeyImage, Report
from reporting.services.reports import report_get_or_create, report_lock_acquire, report_save
from reporting.services.signoff import report_approve, report_submit

from .conftest import png_bytes

GOOD = {"findings": "<p>右膝关节腔少量积液。</p>", "impression": "<p>右膝关节少量积液。</p>"}


def _stored_files(settings) -> list[str]:  # type: ignore[no-untyped-def]
    root = settings.PACS_STORAGE_ROOT / "alpha" / "reports"
    return sorted(str(p.relative_to(settings.PACS_STORAGE_ROOT)) for p in root.rglob("*") if p.is_file())


def test_key_image_api_stores_a_file_and_serves_it(client, make_exam, resident, settings) -> None:  # type: ignore[no-untyped-def]
    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    report = report_get_or_create(exam=exam, by=resident)
    client.force_login(resident)
    assert (
        client.post(f"/api/reporting/reports/{report.pk}/lock", {}, content_type="application/json").status_code == 200
    )
    png = png_bytes("R")
    annotations = [{"toolName": "Length", "data": {"length": 12.5}}]
    answer = client.post(
        f"/api/reporting/reports/{report.pk}/key-images",
        {
            "png": "data:image/png;base64," + base64.b64encode(png).decode(),
            "study_instance_uid": exam.study_instance_uid,
            "series_instance_uid": "1.2.3.4",
            "sop_instance_uid": "1.2.3.4.5",
            "frame": 2,
            "annotations": annotations,
        },
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["frame"] == 2 and body["annotations"] == annotations and body["sop_instance_uid"] == "1.2.3.4.5"
    image = KeyImage.objects.get(pk=body["id"])
    assert image.png_path.startswith(f"alpha/reports/{report.pk}/key-images/") and image.png_path.endswith(".png")
    assert (settings.PACS_STORAGE_ROOT / image.png_path).read_bytes() == png
    served = client.get(body["url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/png" and served.content == png

    # A form post sends the annotations as a JSON string: the same list arrives.
    second = client.post(
        f"/api/reporting/reports/{report.pk}/key-images",
        {
            "png": base64.b64encode(png).decode(),
            "study_instance_uid": exam.study_instance_uid,
            "annotations": json.dumps(annotations),
        },
    )
    assert second.status_code == 201 and second.json()["annotations"] == annotations
    listed = client.get(f"/api/reporting/reports/{report.pk}").json()["key_images"]
    assert [row["id"] for row in listed] == [body["id"], second.json()["id"]]

    refused = client.post(
        f"/api/reporting/reports/{report.pk}/key-images",
        {"png": base64.b64encode(b"GIF89a....").decode(), "study_instance_uid": exam.study_instance_uid},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "PNG" in refused.json()["detail"]
    assert len(_stored_files(settings)) == 2


def test_a_refused_key_image_leaves_no_file(client, make_exam, resident, senior, settings) -> None:  # type: ignore[no-untyped-def]
    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    report = report_lock_acquire(report=report_get_or_create(exam=exam, by=resident), by=resident)
    report = report_save(report=report, by=resident, sections=GOOD)
    report = report_approve(report=report_submit(report=report, by=resident), by=senior)
    before = _stored_files(settings)
    assert len(before) == 1 and before[0].endswith(".pdf")
    client.force_login(resident)
    answer = client.post(
        f"/api/reporting/reports/{report.pk}/key-images",
        {"png": base64.b64encode(png_bytes()).decode(), "study_instance_uid": exam.study_instance_uid},
        content_type="application/json",
    )
    assert answer.status_code == 409
    assert _stored_files(settings) == before
    pdf = client.get(f"/api/reporting/reports/{report.pk}/versions/1/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.django_db(transaction=True)
def test_migration_moves_database_bytes_into_files(make_exam, resident, settings) -> None:  # type: ignore[no-untyped-def]
    exam = make_exam("CT 头颅平扫", "CT", "HEAD")
    report = report_get_or_create(exam=exam, by=resident)
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("reporting")
    try:
        executor.migrate([("reporting", "0001_initial")])
        old = MigrationExecutor(connection).loader.project_state([("reporting", "0001_initial")]).apps
        png = png_bytes("old")
        image = old.get_model("reporting", "KeyImage").objects.create(
            report_id=report.pk, study_instance_uid=exam.study_instance_uid, png=png
        )
        version = old.get_model("reporting", "ReportVersion").objects.create(
            report_id=report.pk, number=1, status="approved", approved_at=timezone.now(), pdf=b"%PDF-1.7 old"
        )
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)
    moved = KeyImage.objects.get(pk=image.pk)
    assert (settings.PACS_STORAGE_ROOT / moved.png_path).read_bytes() == png
    pdf_path = Report.objects.get(pk=report.pk).versions.get(pk=version.pk).pdf_path
    assert pdf_path.startswith(f"alpha/reports/{report.pk}/")
    assert (settings.PACS_STORAGE_ROOT / pdf_path).read_bytes() == b"%PDF-1.7 old"
