"""Worklist data: the procedure steps modalities report (MPPS) and the link of each stored study to its exam.

The scheduled procedure steps served to modalities are not stored here: they are the RIS's exams in
status scheduled or arrived, read by ``worklist.query`` (PS3.4 K.6).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pacs.models import Organization, Series, Study
from ris.models import Exam


class StepStatus(models.TextChoices):
    """Performed Procedure Step Status (0040,0252), PS3.3 C.4.14."""

    IN_PROGRESS = "IN PROGRESS", _("in progress")
    COMPLETED = "COMPLETED", _("completed")
    DISCONTINUED = "DISCONTINUED", _("discontinued")


class PerformedProcedureStep(models.Model):
    """One Modality Performed Procedure Step SOP Instance (PS3.4 F.7), created by N-CREATE, updated by N-SET.

    ``exam`` is the exam whose scheduled step the modality named, or None for an unscheduled step.
    ``attributes`` holds the step's attributes as DICOM JSON, as the last N-SET left them.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    exam = models.ForeignKey(Exam, null=True, blank=True, on_delete=models.PROTECT, related_name="performed_steps")
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    calling_ae_title = models.CharField(max_length=16)
    station_ae_title = models.CharField(max_length=16, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    attributes = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("performed procedure step")
        verbose_name_plural = _("performed procedure steps")

    def __str__(self) -> str:
        return f"{self.sop_instance_uid} ({self.status})"


class PerformedSeries(models.Model):
    """A series the modality reported in the Performed Series Sequence (0040,0340) of a step."""

    step = models.ForeignKey(PerformedProcedureStep, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64)
    series_description = models.CharField(max_length=64, blank=True)
    retrieve_ae_title = models.CharField(max_length=16, blank=True)
    number_of_images = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "series_instance_uid"], name="worklist_unique_performed_series")
        ]

    def __str__(self) -> str:
        return self.series_instance_uid


class LinkMethod(models.TextChoices):
    STUDY_UID = "study_uid", _("Study Instance UID")
    ACCESSION = "accession", _("accession number and patient ID")
    MANUAL = "manual", _("by hand")
    NONE = "none", _("unmatched")


class StudyLink(models.Model):
    """The exam a stored study belongs to; a study with ``exam`` None is on the unmatched list."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="+")
    exam = models.ForeignKey(Exam, null=True, blank=True, on_delete=models.PROTECT, related_name="study_links")
    method = models.CharField(max_length=16, choices=LinkMethod.choices)
    linked_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("study link")
        verbose_name_plural = _("study links")
        indexes = [models.Index(fields=["organization", "exam"])]

    def __str__(self) -> str:
        return f"{self.study_id} -> {self.exam_id or '-'}"


class Reassociation(models.Model):
    """One re-association or unbinding of a study, or move of one series, for the audit trail and for undo.

    ``old`` and ``new`` are the archive attributes the correction changed (DICOM keyword to value, empty
    when only the link changed); ``exam_before`` and ``exam_after`` are the study's link around it.

    A series action has ``series_instance_uid`` set: ``study`` is the study the series came from (which
    stays), ``study_after`` the study it is part of after the action, and ``old`` / ``new`` include its
    StudyInstanceUID.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    exam_before = models.ForeignKey(Exam, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    exam_after = models.ForeignKey(Exam, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    series_instance_uid = models.CharField(max_length=64, blank=True)
    study_after = models.ForeignKey(Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    old = models.JSONField(default=dict)
    new = models.JSONField(default=dict)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(auto_now_add=True)
    # An undo is recorded as an action of its own that names the action it undid.
    undoes = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Set when undone (cleared again when the undo is itself undone).
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("re-association")
        verbose_name_plural = _("re-associations")
        ordering = ["done_at", "pk"]

    def __str__(self) -> str:
        what = f"{self.study_id}/{self.series_instance_uid}" if self.series_instance_uid else str(self.study_id)
        return f"{what}: {self.exam_before_id or '-'} -> {self.exam_after_id or '-'}"

    @property
    def kind(self) -> str:
        """ "series", "unbind" or "study": what the action did, for lists."""
        if self.series_instance_uid:
            return "series"
        return "unbind" if not self.new and self.exam_after_id is None else "study"
