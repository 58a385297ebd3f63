"""Follow-up work after ingest, run by the Celery worker. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def series_metadata_build_task(series_id: int) -> None:
    """Precompute the series' WADO-RS metadata (DICOM JSON) for the version now in the index."""
    from pacs.retrieve.metadata import series_metadata_cache_build

    series_metadata_cache_build(series_id=series_id)
