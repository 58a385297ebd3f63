"""What the viewer writes for a user: recent studies, favourites, panel positions and measurements."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from pacs.models import Organization, Study, User
from viewer.models import FavouriteStudy, Measurement, PanelPosition, RecentStudy, ViewerSettings

RECENT_KEPT = 50


def recent_studies_record(*, user: User, study_uids: list[str], organization: Organization) -> None:
    """Remember that ``user`` opened these studies; only the latest ``RECENT_KEPT`` are kept."""
    now = timezone.now()
    with transaction.atomic():
        for study in Study.objects.filter(organization=organization, study_instance_uid__in=study_uids):
            RecentStudy.objects.update_or_create(user=user, study=study, defaults={"opened_at": now})
        stale = RecentStudy.objects.filter(user=user).order_by("-opened_at").values_list("pk", flat=True)[RECENT_KEPT:]
        RecentStudy.objects.filter(pk__in=list(stale)).delete()


def favourite_toggle(*, user: User, study: Study) -> bool:
    """Add the study to the user's favourites, or remove it; answers whether it is a favourite now."""
    deleted, _ = FavouriteStudy.objects.filter(user=user, study=study).delete()
    if deleted:
        return False
    FavouriteStudy.objects.get_or_create(user=user, study=study)
    return True


def viewer_settings_get(*, user: User) -> ViewerSettings:
    return ViewerSettings.objects.filter(user=user).first() or ViewerSettings(user=user)


def viewer_settings_update(*, user: User, thumbnails_position: str, toolbar_position: str) -> ViewerSettings:
    valid = set(PanelPosition.values)
    if thumbnails_position not in valid or toolbar_position not in valid:
        raise ValueError(f"Panel positions are one of {sorted(valid)}")
    settings, _ = ViewerSettings.objects.update_or_create(
        user=user, defaults={"thumbnails_position": thumbnails_position, "toolbar_position": toolbar_position}
    )
    return settings


def measurements_select(*, user: User, organization: Organization, study_uids: list[str]) -> list[Measurement]:
    return list(
        Measurement.objects.filter(
            user=user, study__organization=organization, study__study_instance_uid__in=study_uids
        )
        .select_related("study")
        .order_by("created_at")
    )


def measurement_save(*, user: User, study: Study, annotation_uid: str, annotation: dict[str, Any]) -> Measurement:
    tool_name = str((annotation.get("metadata") or {}).get("toolName", ""))
    measurement, _ = Measurement.objects.update_or_create(
        user=user,
        annotation_uid=annotation_uid,
        defaults={"study": study, "tool_name": tool_name, "annotation": annotation},
    )
    return measurement


def measurement_delete(*, user: User, annotation_uid: str) -> None:
    Measurement.objects.filter(user=user, annotation_uid=annotation_uid).delete()
