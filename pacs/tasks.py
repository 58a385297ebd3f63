"""Follow-up work after ingest, run by the Celery worker. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

logger = logging.getLogger(__name__)

# A series arrives as a burst of instances: one metadata build shortly after the burst, not one per
# instance (each build covers the whole series, so one per instance would cost O(n²) for n slices).
METADATA_BUILD_DELAY_SECONDS = 1
# How long a queued build blocks queueing another; a build that never runs (worker down) stops
# blocking after this, and a request for the metadata builds it on the spot meanwhile.
METADATA_QUEUED_TTL_SECONDS = 60


def _queued_key(series_id: int) -> str:
    return f"pacs:series-metadata-queued:{series_id}"


def series_metadata_build_soon(*series_ids: int) -> None:
    """Queue a metadata build of each series that has none waiting to run: one task for all of them.

    One task per ingest batch rather than one per series: queueing a Celery task cost about 1.3 ms of
    a STOW-RS request's time, and a batch of small studies touches several series.
    """
    due = [
        series_id
        for series_id in dict.fromkeys(series_ids)
        if cache.add(_queued_key(series_id), True, timeout=METADATA_QUEUED_TTL_SECONDS)
    ]
    if due:
        series_metadata_build_task.apply_async((due,), countdown=METADATA_BUILD_DELAY_SECONDS)


@shared_task(acks_late=True)
def series_metadata_build_task(series_ids: list[int] | int) -> None:
    """Precompute the series' WADO-RS metadata (DICOM JSON) for the versions now in the index.

    Takes one id too, as tasks queued before the batch form did.
    """
    from pacs.retrieve.metadata import series_metadata_cache_build

    ids = [series_ids] if isinstance(series_ids, int) else list(series_ids)
    # Cleared before the builds read the series' versions: an instance indexed from now on queues a
    # build of its own, so the last instance of a burst is never left out of the cache.
    cache.delete_many([_queued_key(series_id) for series_id in ids])
    for series_id in ids:
        series_metadata_cache_build(series_id=series_id)
