"""Editing a report: create it for an exam, hold the edit lock, save text and measurements, switch
templates, mark key images, flag critical values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from pacs import storage
from pacs.models import Organization, User
from reporting import files, states
from reporting.errors import ReportConflictError, ReportingError, ReportLockedError
from reporting.measurements import measurements_clean
from reporting.models import (
    CriticalCategory,
    CriticalNotification,
    KeyImage,
    Report,
    ReportEvent,
    ReportingSettings,
    ReportTemplate,
)
from reporting.selectors import reporting_settings, template_for_exam
from reporting.signals import report_critical_raised
from reporting.text import html_clean
from ris.models import Exam

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_KEY_IMAGE_BYTES = 8 * 1024 * 1024


def event_record(*, report: Report, action: str, by: User | None, from_status: str = "", note: str = "") -> None:
    """Write one history row of ``report`` (its current status and version)."""
    ReportEvent.objects.create(
        report=report,
        action=action,
        from_status=from_status,
        to_status=report.status,
        version=report.version,
        by=by,
        at=timezone.now(),
        note=note,
    )


def _locked(report: Report) -> Report:
    return Report.objects.select_for_update(of=("self",)).select_related("exam__patient", "template").get(pk=report.pk)


def report_get_or_create(*, exam: Exam, by: User) -> Report:
    """The exam's report; a new draft with the best matching template (and its default text) otherwise."""
    if exam.organization_id != by.organization_id:
        raise ReportingError(_("This exam belongs to another organization."))
    with transaction.atomic():
        existing = Report.objects.filter(exam=exam).first()
        if existing is not None:
            return existing
        template = template_for_exam(exam=exam)
        report = Report.objects.create(
            organization_id=exam.organization_id,
            exam=exam,
            template=template,
            author=by,
            sections={key: html_clean(str(text)) for key, text in (template.default_text if template else {}).items()},
        )
        event_record(report=report, action="created", by=by)
    return report


def _lock_expired(report: Report, config: ReportingSettings) -> bool:
    return report.locked_at is None or timezone.now() - report.locked_at > timedelta(minutes=config.lock_minutes)


def lock_message(report: Report) -> str:
    """Who holds the lock, since when: the message shown to anyone else who opens the report."""
    holder = report.locked_by.get_full_name() or report.locked_by.username if report.locked_by else "?"
    since = date_format(timezone.localtime(report.locked_at), "H:i") if report.locked_at else ""
    return _("%(user)s has been editing this report since %(time)s.") % {"user": holder, "time": since}


def lock_check(*, report: Report, by: User) -> None:
    """ReportLockedError unless ``by`` may write now: nobody else holds a live lock."""
    config = reporting_settings(organization_id=report.organization_id)
    if report.locked_by_id not in (None, by.pk) and not _lock_expired(report, config):
        raise ReportLockedError(lock_message(report))


def report_lock_acquire(*, report: Report, by: User, take_over: bool = False) -> Report:
    """Take (or renew) the edit lock. A live lock of someone else is taken over only by a senior
    (permission ``reporting.take_over_report``) who asks for it; the takeover is recorded."""
    with transaction.atomic():
        report = _locked(report)
        if report.status not in states.EDITABLE:
            raise ReportConflictError(_("A final report cannot be edited; amend it instead."))
        # Once submitted, the text is the approvers' to correct; its author only reads it (and would
        # otherwise lock the approver out just by looking at it).
        if report.status in states.AWAITING_APPROVAL and not by.has_perm("reporting.approve_report"):
            raise ReportConflictError(_("This report awaits approval; only an approver may edit it now."))
        previous = report.locked_by
        try:
            lock_check(report=report, by=by)
        except ReportLockedError:
            if not take_over:
                raise
            if not by.has_perm("reporting.take_over_report"):
                raise ReportLockedError(
                    lock_message(report) + " " + _("Only a senior radiologist may take it over.")
                ) from None
            event_record(report=report, action="lock_taken_over", by=by, note=previous.username if previous else "")
        report.locked_by = by
        report.locked_at = timezone.now()
        report.save(update_fields=["locked_by", "locked_at", "updated_at"])
    return report


def report_lock_release(*, report: Report, by: User) -> Report:
    """Give the lock back; releasing a lock one does not hold changes nothing."""
    with transaction.atomic():
        report = _locked(report)
        if report.locked_by_id == by.pk:
            report.locked_by = None
            report.locked_at = None
            report.save(update_fields=["locked_by", "locked_at", "updated_at"])
    return report


def _require_lock(report: Report, by: User) -> None:
    if report.status not in states.EDITABLE:
        raise ReportConflictError(_("A final report cannot be edited; amend it instead."))
    config = reporting_settings(organization_id=report.organization_id)
    if report.locked_by_id != by.pk or _lock_expired(report, config):
        lock_check(report=report, by=by)
        raise ReportConflictError(_("Open the report for editing first."))


def report_save(
    *,
    report: Report,
    by: User,
    sections: Mapping[str, str] | None = None,
    measurements: Mapping[str, object] | None = None,
    release_lock: bool = False,
) -> Report:
    """Save text (autosave) and measurements; the caller must hold the edit lock. The lock is renewed,
    or given back with ``release_lock`` (the last save of an editor that is being closed)."""
    with transaction.atomic():
        report = _locked(report)
        _require_lock(report, by)
        fields = ["locked_at", "updated_at"]
        if sections is not None:
            report.sections = {**report.sections, **{str(k): html_clean(str(v)) for k, v in sections.items()}}
            fields.append("sections")
        if measurements is not None:
            declared = report.template.measurement_fields if report.template else []
            try:
                report.measurements = measurements_clean(fields=declared, values=measurements)
            except ValueError as error:
                raise ReportingError(str(error)) from None
            fields.append("measurements")
        report.locked_at = timezone.now()
        if release_lock:
            report.locked_by = None
            report.locked_at = None
            fields.append("locked_by")
        report.save(update_fields=fields)
    return report


def report_template_apply(*, report: Report, template: ReportTemplate, by: User) -> Report:
    """Switch templates without losing text: sections of the same key keep their text, empty ones get the
    new template's default, and text of sections the new template lacks is appended to its last section."""
    if template.organization_id != report.organization_id or not template.active:
        raise ReportingError(_("This template is not available."))
    with transaction.atomic():
        report = _locked(report)
        _require_lock(report, by)
        keys = [str(section["key"]) for section in template.sections]
        sections = {
            key: report.sections.get(key) or html_clean(str(template.default_text.get(key, ""))) for key in keys
        }
        orphans = [text for key, text in report.sections.items() if key not in keys and text]
        if orphans and keys:
            sections[keys[-1]] = "".join([sections[keys[-1]], *orphans])
        report.sections = sections
        report.template = template
        report.save(update_fields=["sections", "template", "updated_at"])
        event_record(report=report, action="template", by=by, note=template.name)
    return report


def report_critical_set(*, report: Report, by: User, category: str, note: str = "") -> Report:
    """Flag a critical value and raise a notification to the requesting department (once per category)."""
    if category not in CriticalCategory.values:
        raise ReportingError(_("Unknown critical category."))
    with transaction.atomic():
        report = _locked(report)
        report.critical = True
        report.critical_category = category
        report.critical_note = note[:200]
        report.save(update_fields=["critical", "critical_category", "critical_note", "updated_at"])
        event_record(report=report, action="critical", by=by, note=f"{category} {note}".strip())
        if not report.critical_notifications.filter(category=category).exists():
            order = report.exam.orders.order_by("pk").first()
            notification = CriticalNotification.objects.create(
                organization_id=report.organization_id,
                report=report,
                department=order.requesting_department if order else "",
                category=category,
                note=note[:200],
                raised_by=by,
                raised_at=timezone.now(),
            )
            transaction.on_commit(
                lambda: report_critical_raised.send(
                    sender=Report,
                    notification_id=notification.pk,
                    report_id=report.pk,
                    exam_id=report.exam_id,
                    organization_id=report.organization_id,
                    department=notification.department,
                    category=category,
                    note=notification.note,
                    raised_by_id=by.pk,
                )
            )
    return report


def report_critical_clear(*, report: Report, by: User, reason: str) -> Report:
    """Remove the flag (the notifications already sent stay, with the reason in the history)."""
    if not reason.strip():
        raise ReportingError(_("Give a reason for removing the critical flag."))
    with transaction.atomic():
        report = _locked(report)
        report.critical = False
        report.save(update_fields=["critical", "updated_at"])
        event_record(report=report, action="critical_cleared", by=by, note=reason)
    return report


def key_image_add(
    *,
    report: Report,
    by: User,
    png: bytes,
    study_instance_uid: str,
    series_instance_uid: str = "",
    sop_instance_uid: str = "",
    frame: int = 1,
    annotations: Sequence[object] = (),
    caption: str = "",
) -> KeyImage:
    """Mark an image (rendered with its annotations, as PNG) as a key image of the report."""
    if not png.startswith(PNG_SIGNATURE) or len(png) > MAX_KEY_IMAGE_BYTES:
        raise ReportingError(_("A key image must be a PNG image of at most 8 MB."))
    # The file is durable before the row names it; if the row is refused, the file goes again.
    slug = Organization.objects.values_list("slug", flat=True).get(pk=report.organization_id)
    path = files.key_image_relative_path(organization_slug=slug, report_id=report.pk)
    files.file_write(path, png)
    try:
        with transaction.atomic():
            report = _locked(report)
            if report.status in states.FINAL:
                raise ReportConflictError(_("A final report cannot be edited; amend it instead."))
            lock_check(report=report, by=by)
            position = report.key_images.filter(removed_at__isnull=True).count()
            image = KeyImage.objects.create(
                report=report,
                study_instance_uid=study_instance_uid,
                series_instance_uid=series_instance_uid,
                sop_instance_uid=sop_instance_uid,
                frame=frame,
                annotations=list(annotations),
                caption=caption[:200],
                png_path=path,
                position=position,
                created_by=by,
            )
            event_record(report=report, action="key_image", by=by, note=sop_instance_uid)
    except BaseException:
        storage.delete(path)
        raise
    return image


def key_image_remove(*, image: KeyImage, by: User) -> None:
    """Take an image out of the report; the row stays, since an approved version may show it."""
    with transaction.atomic():
        report = _locked(image.report)
        if report.status in states.FINAL:
            raise ReportConflictError(_("A final report cannot be edited; amend it instead."))
        lock_check(report=report, by=by)
        KeyImage.objects.filter(pk=image.pk).update(removed_at=timezone.now())
        event_record(report=report, action="key_image_removed", by=by, note=image.sop_instance_uid)
