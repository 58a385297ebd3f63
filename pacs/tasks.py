"""Follow-up work after ingest, run by the Celery worker. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import functools
import logging
import time

import redis
from celery import shared_task
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# A series arrives as a burst of instances, and each build covers the whole series: it is built once
# the burst has paused this long, not again and again as it grows (a build every second of a 2,000-slice
# CT arriving over 40 s cost the worker 10 s of CPU, beside the archive taking the slices in)...
METADATA_BUILD_QUIET_SECONDS = 2
# ...or at the latest this long after the burst began, so that a series streaming in for minutes is
# precomputed along the way.
METADATA_BUILD_MAX_WAIT_SECONDS = 30
# How long a queued build blocks queueing another; a build that never runs (worker down) stops
# blocking after this, and a request for the metadata builds it on the spot meanwhile.
METADATA_QUEUED_TTL_SECONDS = 60


def _queued_key(series_id: int) -> str:
    """Set while a build of the series is queued; its value is when the build was first queued."""
    return f"pacs:series-metadata-queued:{series_id}"


def _arrival_key(series_id: int) -> str:
    """When the series last got an instance."""
    return f"pacs:series-metadata-arrival:{series_id}"


def _now_ms() -> int:
    # Whole milliseconds: an integer is stored as plain digits by Django's Redis cache, which lets
    # ``_marks_write`` write it with Redis commands of its own that the cache API then reads.
    return int(time.time() * 1000)


def _seconds_since(mark: object, now_ms: int) -> float | None:
    """Seconds from a mark to ``now_ms``, or None for a missing mark or one of another form."""
    if isinstance(mark, bool) or not isinstance(mark, int):
        return None
    return (now_ms - mark) / 1000


@functools.cache
def _redis_of_cache() -> redis.Redis | None:
    """A client of the Redis server behind the default cache, or None when the cache is elsewhere."""
    config = settings.CACHES["default"]
    if config["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return None
    location = config["LOCATION"]
    first = location[0] if isinstance(location, (list, tuple)) else str(location).split(",")[0]
    return redis.Redis.from_url(first)


def _marks_write(series_ids: list[int], now_ms: int) -> list[int]:
    """Mark each series' arrival and add its queued mark; return the series whose queued mark was added.

    With Redis, one round trip for all the marks: this runs after every ingest, each C-STORE's included,
    and the cache API's ``set_many`` and ``add`` took 1.1 ms of a 16 ms C-STORE between them (measured
    with a CT slice, 2026-12-05).
    """
    client = _redis_of_cache()
    if client is None:
        cache.set_many(
            {_arrival_key(series_id): now_ms for series_id in series_ids}, timeout=METADATA_QUEUED_TTL_SECONDS
        )
        return [
            series_id
            for series_id in series_ids
            if cache.add(_queued_key(series_id), now_ms, timeout=METADATA_QUEUED_TTL_SECONDS)
        ]
    pipeline = client.pipeline(transaction=False)
    for series_id in series_ids:
        pipeline.set(cache.make_and_validate_key(_arrival_key(series_id)), now_ms, ex=METADATA_QUEUED_TTL_SECONDS)
        pipeline.set(
            cache.make_and_validate_key(_queued_key(series_id)), now_ms, ex=METADATA_QUEUED_TTL_SECONDS, nx=True
        )
    replies = pipeline.execute()
    return [series_id for series_id, added in zip(series_ids, replies[1::2], strict=True) if added]


def series_metadata_build_soon(*series_ids: int) -> None:
    """Queue a metadata build of each series that has none waiting to run: one task for all of them.

    One task per ingest batch rather than one per series: queueing a Celery task cost about 1.3 ms of
    a STOW-RS request's time, and a batch of small studies touches several series.
    """
    ids = list(dict.fromkeys(series_ids))
    if not ids:
        return
    due = _marks_write(ids, _now_ms())
    if due:
        series_metadata_build_task.apply_async((due,), countdown=METADATA_BUILD_QUIET_SECONDS)


@shared_task(acks_late=True)
def series_metadata_build_task(series_ids: list[int] | int) -> None:
    """Precompute the series' WADO-RS metadata (DICOM JSON) for the versions now in the index, for each
    series whose burst of instances has paused (or has lasted long enough); the others are looked at
    again when their pause would be over.

    Takes one id too, as tasks queued before the batch form did.
    """
    from pacs.retrieve.metadata import series_metadata_cache_build

    ids = [series_ids] if isinstance(series_ids, int) else list(series_ids)
    now_ms = _now_ms()
    marks = cache.get_many([key for series_id in ids for key in (_queued_key(series_id), _arrival_key(series_id))])
    waits: dict[int, float] = {}
    for series_id in ids:
        since_queued = _seconds_since(marks.get(_queued_key(series_id)), now_ms)
        since_arrival = _seconds_since(marks.get(_arrival_key(series_id)), now_ms)
        if since_queued is None or since_arrival is None:
            continue  # marks gone (expired) or from before this scheme: build now
        if since_arrival < METADATA_BUILD_QUIET_SECONDS and since_queued < METADATA_BUILD_MAX_WAIT_SECONDS:
            waits[series_id] = METADATA_BUILD_QUIET_SECONDS - since_arrival
    if waits:
        # Still queued (the mark stays): instances arriving meanwhile queue nothing more.
        series_metadata_build_task.apply_async((list(waits),), countdown=max(waits.values()))
    ready = [series_id for series_id in ids if series_id not in waits]
    # Cleared before the builds read the series' versions: an instance indexed from now on queues a
    # build of its own, so the last instance of a burst is never left out of the cache.
    cache.delete_many([_queued_key(series_id) for series_id in ready])
    for series_id in ready:
        series_metadata_cache_build(series_id=series_id)
    if ready and settings.PACS_SERIES_RLE_COPIES:
        # A task of its own: encoding a large series takes seconds, which the metadata of the series
        # arriving meanwhile should not wait for when the worker runs tasks side by side.
        series_rle_copy_build_task.delay(ready)


@shared_task(acks_late=True)
def series_rle_copy_build_task(series_ids: list[int]) -> None:
    """Bring each series' RLE copy of its pixel data up to date (``pacs.retrieve.rle_copies``).

    Not for a series still receiving instances (its metadata is built along the way, after
    ``METADATA_BUILD_MAX_WAIT_SECONDS``): encoding takes 5 ms a slice, CPU the archive needs to take
    the burst in. The metadata build that follows the burst's pause queues this task again.
    """
    from pacs.retrieve.rle_copies import series_copy_build

    now_ms = _now_ms()
    arrivals = cache.get_many([_arrival_key(series_id) for series_id in series_ids])
    for series_id in series_ids:
        since_arrival = _seconds_since(arrivals.get(_arrival_key(series_id)), now_ms)
        if since_arrival is not None and since_arrival < METADATA_BUILD_QUIET_SECONDS:
            continue
        series_copy_build(series_id=series_id)
