"""What the viewer keeps per user: panel positions, favourite and recently opened studies, measurements."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pacs.models import Study


class PanelPosition(models.TextChoices):
    LEFT = "left", _("Left")
    RIGHT = "right", _("Right")
    TOP = "top", _("Top")
    BOTTOM = "bottom", _("Bottom")


class ViewerSettings(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="viewer_settings")
    thumbnails_position = models.CharField(max_length=8, choices=PanelPosition.choices, default=PanelPosition.LEFT)
    toolbar_position = models.CharField(max_length=8, choices=PanelPosition.choices, default=PanelPosition.TOP)

    class Meta:
        verbose_name = _("viewer settings")
        verbose_name_plural = _("viewer settings")

    def __str__(self) -> str:
        return f"{self.user} ({self.thumbnails_position}, {self.toolbar_position})"


class FavouriteStudy(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_studies")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "study"], name="unique_favourite_per_user")]

    def __str__(self) -> str:
        return f"{self.user}: {self.study}"


class RecentStudy(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recent_studies")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "study"], name="unique_recent_per_user")]

    def __str__(self) -> str:
        return f"{self.user}: {self.study} at {self.opened_at}"


class Measurement(models.Model):
    """One Cornerstone annotation (length, angle, ROI, probe) as the viewer serialized it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="measurements")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    annotation_uid = models.CharField(max_length=64)
    tool_name = models.CharField(max_length=64)
    annotation = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "annotation_uid"], name="unique_measurement_per_user")]
        indexes = [models.Index(fields=["user", "study"])]

    def __str__(self) -> str:
        return f"{self.tool_name} {self.annotation_uid}"
