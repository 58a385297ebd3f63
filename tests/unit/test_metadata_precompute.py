"""When the worker precomputes a series' metadata: once the series' burst of instances has paused, or
has lasted long enough; not while instances keep arriving."""

from __future__ import annotations

import time
from pathlib import Path

import pydicom
import pytest
from django.core.cache import cache

from pacs.ingest import IngestOrigin, instance_ingest
from pacs.models import Series
from pacs.tasks import (
    METADATA_BUILD_MAX_WAIT_SECONDS,
    METADATA_BUILD_QUIET_SECONDS,
    _arrival_key,
    _queued_key,
    series_metadata_build_task,
)
from tests.dicomweb.helpers import make_instance

pytestmark = pytest.mark.django_db


@pytest.fixture
def series(org_alpha, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.PACS_CACHE_ROOT = tmp_path / "cache"
    result = instance_ingest(
        source=make_instance(series_uid=pydicom.uid.generate_uid()),
        origin=IngestOrigin(kind="import", organization=org_alpha),
    )
    row = Series.objects.get(series_instance_uid=result.series_instance_uid)
    yield row
    cache.delete_many([_queued_key(row.pk), _arrival_key(row.pk)])


def cached(series: Series, settings) -> list[Path]:  # type: ignore[no-untyped-def]
    return list((Path(settings.PACS_CACHE_ROOT) / "series-metadata" / str(series.pk)).glob("*.json"))


@pytest.mark.parametrize(
    ("queued_ago", "arrived_ago", "built"),
    [
        (1.0, 0.1, False),  # instances still arriving: looked at again later
        (5.0, METADATA_BUILD_QUIET_SECONDS + 0.5, True),  # the burst has paused
        (METADATA_BUILD_MAX_WAIT_SECONDS + 1, 0.1, True),  # still arriving, but for long enough
    ],
)
def test_a_build_waits_for_the_burst_to_pause(series, settings, queued_ago, arrived_ago, built):  # type: ignore[no-untyped-def]
    now_ms = int(time.time() * 1000)
    cache.set_many(
        {
            _queued_key(series.pk): now_ms - int(queued_ago * 1000),
            _arrival_key(series.pk): now_ms - int(arrived_ago * 1000),
        },
        timeout=60,
    )
    series_metadata_build_task([series.pk])
    assert bool(cached(series, settings)) is built
    # A build clears the queued mark (the next instance queues anew); a wait keeps it.
    assert (cache.get(_queued_key(series.pk)) is None) is built


def test_a_build_without_marks_runs_at_once(series, settings):  # type: ignore[no-untyped-def]
    """Marks expired, or queued by the earlier form of the task."""
    series_metadata_build_task(series.pk)
    assert cached(series, settings)


def test_marks_are_written_in_the_form_the_task_reads(series):  # type: ignore[no-untyped-def]
    """Through Redis commands of their own (PostgreSQL and Redis run) or the cache API (SQLite run),
    the marks read back through the cache API; a queued mark already there is left as it was."""
    from pacs.tasks import _marks_write

    cache.delete_many([_queued_key(series.pk), _arrival_key(series.pk)])
    first_ms = int(time.time() * 1000)
    assert _marks_write([series.pk], first_ms) == [series.pk]
    assert cache.get(_queued_key(series.pk)) == first_ms
    assert cache.get(_arrival_key(series.pk)) == first_ms

    assert _marks_write([series.pk], first_ms + 500) == []
    assert cache.get(_queued_key(series.pk)) == first_ms
    assert cache.get(_arrival_key(series.pk)) == first_ms + 500
