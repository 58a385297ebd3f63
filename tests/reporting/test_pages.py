"""The workspace page renders for an exam and locks the report for its editor."""

from __future__ import annotations

from reporting.models import Report


def test_workspace_opens_and_api_saves(client, make_exam, resident) -> None:  # type: ignore[no-untyped-def]
    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    client.force_login(resident)
    page = client.get(f"/reporting/exams/{exam.pk}")
    assert page.status_code == 200 and b"rw-config" in page.content and exam.study_instance_uid.encode() in page.content
    report = Report.objects.get(exam=exam)
    assert (
        client.post(f"/api/reporting/reports/{report.pk}/lock", {}, content_type="application/json").status_code == 200
    )
    answer = client.patch(
        f"/api/reporting/reports/{report.pk}",
        {"sections": {"findings": "<p>右膝<script>x</script>积液</p>"}},
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json()["sections"]["findings"] == "<p>右膝积液</p>"
    assert client.get(f"/api/reporting/reports/{report.pk}/quality").json()[0]["code"] == "required"


def test_workspace_in_chinese_frames_the_viewer_for_the_report(client, make_exam, resident) -> None:  # type: ignore[no-untyped-def]
    import json

    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    client.force_login(resident)
    page = client.get(f"/reporting/exams/{exam.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    report = Report.objects.get(exam=exam)
    assert f"report={report.pk}" in html and "历史检查" in html and "标记为危急值" in html
    config = json.loads(html.split('id="rw-config" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert config["chinese"] and config["text"]["saved"] == "已保存 %(time)s"
    assert [s["label"] for s in config["sections"]] == ["检查所见", "诊断意见"]


def test_key_images_of_another_organization_answer_404(client, make_exam, resident, org_beta) -> None:  # type: ignore[no-untyped-def]
    from pacs.models import User
    from reporting.services.reports import key_image_add, report_get_or_create, report_lock_acquire

    from .conftest import png_bytes

    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    report = report_lock_acquire(report=report_get_or_create(exam=exam, by=resident), by=resident)
    image = key_image_add(report=report, by=resident, png=png_bytes(), study_instance_uid=exam.study_instance_uid)
    url = f"/api/reporting/reports/{report.pk}/key-images/{image.pk}/png"
    client.force_login(resident)
    assert client.get(url).status_code == 200
    client.force_login(User.objects.create_user(username="outsider", password="x-secret-1", organization=org_beta))
    assert client.get(url).status_code == 404


def test_history_lists_stored_studies_no_exam_produced(client, make_exam, resident, org_alpha, ingest) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.dicomweb.helpers import make_instance

    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    prior_exam = make_exam("CT 头颅平扫", "CT", "HEAD")
    patient_id = exam.patient.patient_id
    # Sent from another hospital: same patient ID, no order here.
    outside = "1.2.826.0.1.3680043.10.9.1"
    ingest(org_alpha, make_instance(study_uid=outside, patient_id=patient_id, modality="CR", study_date="20190304"))
    ingest(org_alpha, make_instance(patient_id="SOMEONE-ELSE"))

    client.force_login(resident)
    page = client.get(f"/reporting/exams/{exam.pk}").content.decode()
    start = page.index('id="rw-config"')
    config = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    history = {row["study_instance_uid"]: row for row in config["history"]}
    assert set(history) == {prior_exam.study_instance_uid, outside}
    assert history[outside]["exam"] is None and history[outside]["report"] is None
    assert history[outside]["date"] == "2019-03-04" and history[outside]["modality"] == "CR"
    assert history[outside]["workspace_url"] == "" and outside in history[outside]["viewer_url"]


def test_a_last_save_can_give_the_lock_back(client, make_exam, resident) -> None:  # type: ignore[no-untyped-def]
    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    client.force_login(resident)
    client.get(f"/reporting/exams/{exam.pk}")
    report = Report.objects.get(exam=exam)
    url = f"/api/reporting/reports/{report.pk}"
    assert client.post(f"{url}/lock", {}, content_type="application/json").status_code == 200
    answer = client.patch(url, {"sections": {"findings": "<p>积液</p>"}, "release_lock": True}, "application/json")
    assert answer.status_code == 200
    report.refresh_from_db()
    assert report.locked_by is None and report.sections["findings"] == "<p>积液</p>"
    # Without the lock, the next save is refused until the editor is opened again.
    assert client.patch(url, {"sections": {"findings": "<p>x</p>"}}, "application/json").status_code == 409
