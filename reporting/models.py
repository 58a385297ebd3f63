"""Reporting data: templates and phrases, reports with their sign-off history, versions, key images,
critical-value notifications and the per-organization settings.

A report belongs to one exam (``ris.Exam``). Its editable text lives on ``Report`` as sections (HTML keyed
by the template's section keys) and measurements (numbers keyed by field); each approval freezes a
``ReportVersion`` with the text and the PDF. The PDFs and key-image PNGs are files in the storage folder
(``reporting.files``); rows keep their paths. Writes live in ``reporting.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pacs.models import Organization
from ris.models import Exam, Modality

DEFAULT_SECTIONS: list[dict[str, object]] = [
    {"key": "findings", "title": "Findings", "title_zh": "检查所见", "required": True},
    {"key": "impression", "title": "Impression", "title_zh": "诊断意见", "required": True},
]


def default_sections() -> list[dict[str, object]]:
    return [dict(section) for section in DEFAULT_SECTIONS]


class ReportStatus(models.TextChoices):
    """The sign-off states; the allowed moves are in ``reporting.states``."""

    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("preliminary")
    REVIEWED = "reviewed", _("reviewed")
    APPROVED = "approved", _("final")
    AMENDING = "amending", _("amendment in progress")
    AMENDED = "amended", _("amended")


class CriticalCategory(models.TextChoices):
    """Common critical-value (危急值) categories of imaging."""

    HEMORRHAGE = "hemorrhage", _("intracranial hemorrhage")
    INFARCTION = "infarction", _("acute cerebral infarction")
    PNEUMOTHORAX = "pneumothorax", _("tension pneumothorax")
    AORTIC = "aortic", _("aortic dissection or rupture")
    EMBOLISM = "embolism", _("pulmonary embolism")
    PERFORATION = "perforation", _("gastrointestinal perforation")
    OBSTRUCTION = "obstruction", _("bowel obstruction")
    ECTOPIC = "ectopic", _("ectopic pregnancy rupture")
    TAMPONADE = "tamponade", _("pericardial tamponade")
    OTHER = "other", _("other")


class ReportingSettings(models.Model):
    """Per-organization configuration; an organization without a row uses the defaults."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="reporting_settings")
    two_level_signoff = models.BooleanField(
        _("two-level sign-off"), default=False, help_text=_("A reviewed report needs a second approver.")
    )
    lock_minutes = models.PositiveSmallIntegerField(_("edit lock lifetime (minutes)"), default=30)
    # {"disabled": ["sex", ...], "terms": {"lesion": {"zh": [...], "en": [...]}, ...}}: merged over
    # reporting.quality.DEFAULT_TERMS, so a hospital adds words or switches rules off without code.
    quality_config = models.JSONField(_("quality rule configuration"), default=dict, blank=True)
    pdf_template = models.CharField(
        _("PDF layout template"), max_length=200, default="reporting/report_pdf.html", blank=True
    )
    logo = models.BinaryField(_("logo (PNG)"), blank=True, default=b"", editable=True)

    class Meta:
        verbose_name = _("reporting settings")
        verbose_name_plural = _("reporting settings")

    def __str__(self) -> str:
        return str(self.organization)


class ReportTemplate(models.Model):
    """Sections, default text and structured measurement fields for a modality and body part.

    ``sections``: ``[{"key", "title", "title_zh", "required"}]``; ``default_text``: ``{key: html}``;
    ``measurement_fields``: ``[{"key", "label", "unit", "low", "high"}]`` (``low``/``high`` may be null).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="report_templates")
    name = models.CharField(_("name"), max_length=128)
    modality = models.CharField(_("modality"), max_length=2, choices=Modality.choices, blank=True)
    body_part = models.CharField(_("body part"), max_length=64, blank=True)
    sections = models.JSONField(_("sections"), default=default_sections)
    default_text = models.JSONField(_("default text"), default=dict, blank=True)
    measurement_fields = models.JSONField(_("measurement fields"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")
        ordering = ["modality", "body_part", "name"]

    def __str__(self) -> str:
        return self.name


class Phrase(models.Model):
    """A node of the phrase library (词条): a folder (empty text) or a phrase; shared or one user's own."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="report_phrases")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="report_phrases"
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    title = models.CharField(_("title"), max_length=128)
    text = models.TextField(_("text"), blank=True)
    section = models.CharField(_("section"), max_length=32, blank=True)
    shortcut = models.CharField(_("shortcut"), max_length=16, blank=True)
    modality = models.CharField(_("modality"), max_length=2, choices=Modality.choices, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("phrase")
        verbose_name_plural = _("phrases")
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class Report(models.Model):
    """The working copy of an exam's report, its sign-off status, edit lock and critical flag."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="reports")
    exam = models.OneToOneField(Exam, on_delete=models.PROTECT, related_name="report")
    template = models.ForeignKey(ReportTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    sections = models.JSONField(default=dict, blank=True)
    measurements = models.JSONField(default=dict, blank=True)
    critical = models.BooleanField(_("critical value"), default=False)
    critical_category = models.CharField(
        _("critical category"), max_length=16, choices=CriticalCategory.choices, blank=True
    )
    critical_note = models.CharField(_("critical note"), max_length=200, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        permissions = [
            ("approve_report", _("Can approve reports")),
            ("take_over_report", _("Can take over a report another user is editing")),
        ]
        indexes = [models.Index(fields=["organization", "status"]), models.Index(fields=["organization", "critical"])]

    def __str__(self) -> str:
        return f"{self.exam.accession_number} v{self.version}"


class ReportVersion(models.Model):
    """A frozen, signed version: the text as approved, who signed, and the PDF made at approval."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ReportStatus.choices)
    sections = models.JSONField(default=dict)
    measurements = models.JSONField(default=dict)
    key_image_ids = models.JSONField(default=list)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(null=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField()
    amendment_reason = models.CharField(max_length=200, blank=True)
    # Relative to PACS_STORAGE_ROOT (``reporting.files``): PDFs grow with key images and would bloat
    # every backup and row read of the database.
    pdf_path = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["report", "number"]
        constraints = [models.UniqueConstraint(fields=["report", "number"], name="reporting_unique_version")]

    def __str__(self) -> str:
        return f"{self.report} #{self.number}"


class ReportEvent(models.Model):
    """One step of a report's history: created, saved, submitted, approved, locked, overridden, ..."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    version = models.PositiveIntegerField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.action}"


class KeyImage(models.Model):
    """An image marked in the viewer, with its annotations and a rendering of both for the report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="key_images")
    study_instance_uid = models.CharField(max_length=64)
    series_instance_uid = models.CharField(max_length=64, blank=True)
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    frame = models.PositiveIntegerField(default=1)
    annotations = models.JSONField(default=list, blank=True)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    png_path = models.CharField(max_length=255)  # relative to PACS_STORAGE_ROOT, see reporting.files
    position = models.PositiveIntegerField(default=0)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.sop_instance_uid or self.study_instance_uid} [{self.frame}]"


class CriticalNotification(models.Model):
    """A critical value raised to the requesting department, until someone there acknowledges it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="critical_notifications")
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="critical_notifications")
    department = models.CharField(_("department"), max_length=64, blank=True)
    category = models.CharField(max_length=16, choices=CriticalCategory.choices)
    note = models.CharField(max_length=200, blank=True)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    raised_at = models.DateTimeField()
    acknowledged_by = models.CharField(max_length=64, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.report} {self.category}"
