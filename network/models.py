"""Transfers the archive runs as a DIMSE service user: a send (C-STORE) or a retrieve (C-MOVE to ourselves).

A transfer is created by a person in the web UI, run by a worker task, and kept with its outcome: the
counts of instances completed, failed and with warnings, the SOP Instance UIDs that failed, and a message
when it could not run at all.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pacs.models import Organization, RemoteAE


class TransferKind(models.TextChoices):
    SEND = "send", _("Send")
    RETRIEVE = "retrieve", _("Retrieve")


class TransferStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Partly failed")
    FAILED = "failed", _("Failed")


FINISHED_STATUSES = (TransferStatus.DONE, TransferStatus.PARTIAL, TransferStatus.FAILED)


class Transfer(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="transfers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(_("kind"), max_length=10, choices=TransferKind.choices)
    # The AE may be deleted later; its title is kept so that the outcome still says where it went.
    remote_ae = models.ForeignKey(RemoteAE, null=True, blank=True, on_delete=models.SET_NULL)
    remote_ae_title = models.CharField(_("remote AE"), max_length=16)
    study_uids = models.JSONField(_("studies"), default=list)
    series_uids = models.JSONField(_("series"), default=list, blank=True)
    # What the person saw when choosing (patient, study description, the query): shown in the list.
    description = models.CharField(_("description"), max_length=300, blank=True)
    query = models.JSONField(_("query"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.QUEUED, db_index=True
    )
    total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    completed = models.PositiveIntegerField(_("completed"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    warning = models.PositiveIntegerField(_("warnings"), default=0)
    failed_sop_uids = models.JSONField(_("failed instances"), default=list, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.remote_ae_title} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def percent(self) -> int:
        """How far it is, 0 to 100; a finished transfer is at 100 whatever its outcome."""
        if self.is_finished:
            return 100
        if not self.total:
            return 0
        return min(100, round(100 * (self.completed + self.failed + self.warning) / self.total))
