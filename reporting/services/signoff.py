"""Sign-off: submit (with quality checks and overrides), review, approve (freezing a version with its PDF),
return to draft, amend. Each step is recorded with who and when, and announced after commit."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacs.models import User
from reporting import files, states
from reporting.errors import QualityCheckError, ReportConflictError, ReportingError
from reporting.models import Report, ReportStatus, ReportVersion
from reporting.pdf import report_version_pdf
from reporting.selectors import key_images_current, report_quality_problems, reporting_settings
from reporting.services.reports import event_record, lock_check
from reporting.signals import report_status_changed
from ris import states as exam_states
from ris.models import Exam, ExamStatus
from ris.services.exams import exam_transition

S = ReportStatus


def _locked(report: Report) -> Report:
    return Report.objects.select_for_update(of=("self",)).select_related("exam__patient", "template").get(pk=report.pk)


def _move(report: Report, *, to_status: str, by: User, action: str, note: str = "") -> None:
    if not states.can_move(report.status, to_status):
        raise ReportConflictError(
            _("This step is not allowed while the report is %(status)s.") % {"status": report.get_status_display()}
        )
    from_status = report.status
    report.status = to_status
    event_record(report=report, action=action, by=by, from_status=from_status, note=note)
    transaction.on_commit(
        lambda: report_status_changed.send(
            sender=Report,
            report_id=report.pk,
            exam_id=report.exam_id,
            organization_id=report.organization_id,
            from_status=from_status,
            to_status=to_status,
            version=report.version,
            changed_by_id=by.pk,
        )
    )


def _exam_follow(exam: Exam, *, to_status: str, by: User) -> None:
    """Move the exam along (completed -> reported -> approved) when its state machine allows it."""
    current = Exam.objects.get(pk=exam.pk)
    if exam_states.can_move(current.status, to_status):
        exam_transition(exam=current, to_status=to_status, by=by, source="reporting")


def report_submit(*, report: Report, by: User, overrides: Mapping[str, str] | None = None) -> Report:
    """Submit as preliminary. Quality problems block it unless each failing rule is overridden with a
    reason (``{rule code: reason}``); overrides are recorded. The author gives up the edit lock."""
    overrides = {code: reason.strip() for code, reason in (overrides or {}).items() if reason and reason.strip()}
    with transaction.atomic():
        report = _locked(report)
        lock_check(report=report, by=by)
        problems = report_quality_problems(report=report)
        open_problems = [problem for problem in problems if problem.code not in overrides]
        if open_problems:
            raise QualityCheckError(_("Fix the problems found or override them with a reason."), problems=open_problems)
        for code in sorted({problem.code for problem in problems}):
            event_record(report=report, action="quality_override", by=by, note=f"{code}: {overrides[code]}")
        _move(report, to_status=S.SUBMITTED, by=by, action="submit")
        report.submitted_by = by
        report.submitted_at = timezone.now()
        report.reviewed_by = report.reviewed_at = None
        report.locked_by = report.locked_at = None
        report.save()
        _exam_follow(report.exam, to_status=ExamStatus.REPORTED, by=by)
    return report


def report_approve(*, report: Report, by: User) -> Report:
    """Approve: with two-level sign-off the first approval reviews and a second approver (another user)
    makes it final. Final approval freezes a version with its PDF; a final report changes only by amendment."""
    if not by.has_perm("reporting.approve_report"):
        raise ReportingError(_("You are not allowed to approve reports."))
    config = reporting_settings(organization_id=report.organization_id)
    with transaction.atomic():
        report = _locked(report)
        lock_check(report=report, by=by)
        now = timezone.now()
        if config.two_level_signoff and report.status == S.SUBMITTED:
            _move(report, to_status=S.REVIEWED, by=by, action="review")
            report.reviewed_by, report.reviewed_at = by, now
            report.locked_by = report.locked_at = None
            report.save()
            return report
        if config.two_level_signoff and report.reviewed_by_id == by.pk:
            raise ReportConflictError(_("The second approval must come from another radiologist."))
        _move(report, to_status=S.AMENDED if report.version > 1 else S.APPROVED, by=by, action="approve")
        report.approved_by, report.approved_at = by, now
        report.locked_by = report.locked_at = None
        report.save()
        amendment = report.events.filter(action="amend", version=report.version).last()
        version = ReportVersion.objects.create(
            report=report,
            number=report.version,
            status=report.status,
            sections=report.sections,
            measurements=report.measurements,
            key_image_ids=list(key_images_current(report=report).values_list("pk", flat=True)),
            author=report.author,
            submitted_by=report.submitted_by,
            submitted_at=report.submitted_at,
            reviewed_by=report.reviewed_by,
            reviewed_at=report.reviewed_at,
            approved_by=by,
            approved_at=now,
            amendment_reason=amendment.note if amendment else "",
        )
        version.pdf_path = files.pdf_relative_path(
            organization_slug=report.organization.slug, report_id=report.pk, number=version.number
        )
        files.file_write(version.pdf_path, report_version_pdf(version=version))
        version.save(update_fields=["pdf_path"])
        _exam_follow(report.exam, to_status=ExamStatus.APPROVED, by=by)
    return report


def report_return(*, report: Report, by: User, reason: str) -> Report:
    """An approver sends a submitted or reviewed report back to its author (to draft, or to the
    amendment in progress), with a reason."""
    if not by.has_perm("reporting.approve_report"):
        raise ReportingError(_("You are not allowed to approve reports."))
    if not reason.strip():
        raise ReportingError(_("Give a reason for returning the report."))
    with transaction.atomic():
        report = _locked(report)
        _move(report, to_status=S.AMENDING if report.version > 1 else S.DRAFT, by=by, action="return", note=reason)
        report.reviewed_by = report.reviewed_at = None
        report.save()
    return report


def report_amend(*, report: Report, by: User, reason: str) -> Report:
    """Open the next version of a final report for editing; earlier versions stay as they were signed."""
    if not reason.strip():
        raise ReportingError(_("Give a reason for the amendment."))
    with transaction.atomic():
        report = _locked(report)
        if report.status not in states.FINAL:
            raise ReportConflictError(_("Only a final report can be amended."))
        report.version += 1
        _move(report, to_status=S.AMENDING, by=by, action="amend", note=reason)
        report.submitted_by = report.submitted_at = None
        report.reviewed_by = report.reviewed_at = None
        report.approved_by = report.approved_at = None
        report.locked_by, report.locked_at = by, timezone.now()
        report.save()
    return report
