"""The sign-off state machine, forbidden moves, versions, the edit lock, critical values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reporting.errors import QualityCheckError, ReportConflictError, ReportingError, ReportLockedError
from reporting.models import CriticalNotification, Report, ReportingSettings, ReportStatus
from reporting.services.reports import (
    key_image_add,
    report_critical_set,
    report_get_or_create,
    report_lock_acquire,
    report_save,
    report_template_apply,
)
from reporting.services.signoff import report_amend, report_approve, report_return, report_submit
from reporting.signals import report_critical_raised
from ris.models import ExamStatus

from .conftest import png_bytes

GOOD = {
    "findings": "<p>右膝关节内侧半月板后角见线样高信号影达关节面。</p>",
    "impression": "<p>右膝内侧半月板后角撕裂。</p>",
}


@pytest.fixture
def report(make_exam, resident) -> Report:  # type: ignore[no-untyped-def]
    exam = make_exam("MR 右膝关节平扫", "MR", "KNEE")
    created = report_get_or_create(exam=exam, by=resident)
    report_lock_acquire(report=created, by=resident)
    return report_save(report=created, by=resident, sections=GOOD)


def test_draft_submit_approve_freezes_a_version_with_pdf(report, resident, senior, settings) -> None:  # type: ignore[no-untyped-def]
    report = report_submit(report=report, by=resident)
    assert report.status == ReportStatus.SUBMITTED and report.submitted_by == resident and report.locked_by is None
    assert report.exam.__class__.objects.get(pk=report.exam_id).status == ExamStatus.REPORTED
    report = report_approve(report=report, by=senior)
    assert report.status == ReportStatus.APPROVED and report.approved_by == senior and report.approved_at
    version = report.versions.get()
    # The PDF is a file in the storage folder, not a database column.
    assert version.number == 1 and version.pdf_path.startswith(f"alpha/reports/{report.pk}/")
    assert (settings.PACS_STORAGE_ROOT / version.pdf_path).read_bytes().startswith(b"%PDF")
    assert report.exam.__class__.objects.get(pk=report.exam_id).status == ExamStatus.APPROVED
    actions = list(report.events.values_list("action", "by__username"))
    assert ("submit", "resident") in actions and ("approve", "senior") in actions


def test_forbidden_moves(report, resident, senior) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReportConflictError):
        report_approve(report=report, by=senior)  # a draft is not approved
    with pytest.raises(ReportConflictError):
        report_amend(report=report, by=senior, reason="typo")  # only a final report is amended
    report = report_submit(report=report, by=resident)
    with pytest.raises(ReportingError):
        report_approve(report=report, by=resident)  # no permission
    report = report_approve(report=report, by=senior)
    with pytest.raises(ReportConflictError):
        report_submit(report=report, by=resident)
    with pytest.raises(ReportConflictError):
        report_lock_acquire(report=report, by=resident)  # final: no edits except by amendment
    with pytest.raises(ReportConflictError):
        report_save(report=report, by=resident, sections={"impression": "changed"})
    with pytest.raises(ReportConflictError):
        key_image_add(report=report, by=resident, png=png_bytes(), study_instance_uid=report.exam.study_instance_uid)


def test_return_to_draft_needs_a_reason(report, resident, senior) -> None:  # type: ignore[no-untyped-def]
    report = report_submit(report=report, by=resident)
    with pytest.raises(ReportingError):
        report_return(report=report, by=senior, reason=" ")
    assert report_return(report=report, by=senior, reason="补充描述").status == ReportStatus.DRAFT


def test_amendment_keeps_earlier_versions(report, resident, senior) -> None:  # type: ignore[no-untyped-def]
    report = report_approve(report=report_submit(report=report, by=resident), by=senior)
    report = report_amend(report=report, by=senior, reason="补充：关节腔少量积液")
    assert report.status == ReportStatus.AMENDING and report.version == 2
    report = report_save(
        report=report, by=senior, sections={"impression": "<p>右膝内侧半月板后角撕裂；关节腔少量积液。</p>"}
    )
    report = report_approve(report=report_submit(report=report, by=senior), by=senior)
    assert report.status == ReportStatus.AMENDED
    first, second = report.versions.all()
    assert "积液" not in first.sections["impression"] and "积液" in second.sections["impression"]
    assert second.amendment_reason == "补充：关节腔少量积液"


def test_two_level_signoff_needs_two_approvers(report, resident, senior, chief) -> None:  # type: ignore[no-untyped-def]
    ReportingSettings.objects.create(organization_id=report.organization_id, two_level_signoff=True)
    report = report_approve(report=report_submit(report=report, by=resident), by=senior)
    assert report.status == ReportStatus.REVIEWED and report.reviewed_by == senior
    with pytest.raises(ReportConflictError):
        report_approve(report=report, by=senior)
    report = report_approve(report=report, by=chief)
    assert report.status == ReportStatus.APPROVED
    version = report.versions.get()
    assert version.reviewed_by == senior and version.approved_by == chief


def test_edit_lock_and_takeover(report, resident, senior, org_alpha) -> None:  # type: ignore[no-untyped-def]
    from pacs.models import User

    other = User.objects.create_user(username="other", password="x" * 12, organization=org_alpha, first_name="赵")
    with pytest.raises(ReportLockedError, match="resident|李"):
        report_lock_acquire(report=report, by=other)
    with pytest.raises(ReportLockedError):
        report_lock_acquire(report=report, by=other, take_over=True)  # not a senior
    with pytest.raises(ReportLockedError):
        report_save(report=report, by=other, sections={"impression": "x"})
    report = report_lock_acquire(report=report, by=senior, take_over=True)
    assert report.locked_by == senior
    with pytest.raises(ReportLockedError):
        report_save(report=report, by=resident, sections={"impression": "x"})
    assert report.events.filter(action="lock_taken_over", by=senior).exists()
    # An abandoned lock expires.
    Report.objects.filter(pk=report.pk).update(locked_at=timezone.now() - timedelta(hours=2))
    assert report_lock_acquire(report=report, by=other).locked_by == other


def test_submit_blocked_by_quality_then_overridden(make_exam, resident) -> None:  # type: ignore[no-untyped-def]
    exam = make_exam("MR 左膝关节平扫", "MR", "KNEE")
    report = report_lock_acquire(report=report_get_or_create(exam=exam, by=resident), by=resident)
    report = report_save(report=report, by=resident, sections=GOOD)
    with pytest.raises(QualityCheckError) as caught:
        report_submit(report=report, by=resident)
    assert {p.code for p in caught.value.problems} == {"laterality"}
    report = report_submit(report=report, by=resident, overrides={"laterality": "申请单侧别错误，已与临床核实为右膝"})
    assert report.status == ReportStatus.SUBMITTED
    assert report.events.filter(action="quality_override", note__contains="已与临床核实").exists()


def test_template_switch_keeps_text_and_measurements_flagged(make_exam, resident, echo_template) -> None:  # type: ignore[no-untyped-def]
    from reporting.models import ReportTemplate
    from reporting.selectors import report_measurements

    exam = make_exam("心脏彩超", "US", "HEART")
    report = report_get_or_create(exam=exam, by=resident)
    assert report.template == echo_template and "房室腔" in report.sections["findings"]
    report = report_lock_acquire(report=report, by=resident)
    report = report_save(report=report, by=resident, measurements={"LVEDD": "60", "EF": "45", "IVS": "9"})
    flags = {row.key: row.flag for row in report_measurements(report=report) if row.value is not None}
    assert flags == {"LVEDD": "high", "IVS": "", "EF": "low"}
    other = ReportTemplate.objects.create(
        organization=exam.organization,
        name="超声通用",
        modality="US",
        sections=[
            {"key": "findings", "title": "Findings", "required": True},
            {"key": "conclusion", "title": "Conclusion"},
        ],
    )
    report = report_template_apply(report=report, template=other, by=resident)
    assert set(report.sections) == {"findings", "conclusion"} and "房室腔" in report.sections["findings"]


def test_critical_value_notifies_the_requesting_department(
    report, resident, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    received: list[dict] = []

    def listener(**kwargs: object) -> None:
        received.append(kwargs)

    report_critical_raised.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report_critical_set(report=report, by=resident, category="hemorrhage", note="急诊电话已通知")
    finally:
        report_critical_raised.disconnect(listener)
    notification = CriticalNotification.objects.get()
    assert notification.department == "骨科" and notification.category == "hemorrhage"
    assert received and received[0]["department"] == "骨科"
    assert Report.objects.get(pk=report.pk).critical


def test_a_submitted_report_is_locked_by_approvers_only(report, resident, senior) -> None:  # type: ignore[no-untyped-def]
    report = report_submit(report=report, by=resident)
    with pytest.raises(ReportConflictError, match="awaits approval"):
        report_lock_acquire(report=report, by=resident)  # the author reading it must not lock the approver out
    assert report_lock_acquire(report=report, by=senior).locked_by == senior
    assert report_approve(report=report, by=senior).status == ReportStatus.APPROVED
