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


def series_metadata_build_soon(series_id: int) -> None:
    """Queue a metadata build for the series unless one is already waiting to run."""
    if cache.add(_queued_key(series_id), True, timeout=METADATA_QUEUED_TTL_SECONDS):
        series_metadata_build_task.apply_async((series_id,), countdown=METADATA_BUILD_DELAY_SECONDS)


@shared_task(acks_late=True)
def series_metadata_build_task(series_id: int) -> None:
    """Precompute the series' WADO-RS metadata (DICOM JSON) for the version now in the index."""
    from pacs.retrieve.metadata import series_metadata_cache_build

    # Cleared before the build reads the series' version: an instance indexed from now on queues a
    # build of its own, so the last instance of a burst is never left out of the cache.
    cache.delete(_queued_key(series_id))
    series_metadata_cache_build(series_id=series_id)
