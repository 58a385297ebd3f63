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
