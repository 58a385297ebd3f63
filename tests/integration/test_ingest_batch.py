"""``instances_ingest``: several instances, one index transaction, each with its own outcome.

The batch must leave the index exactly as storing the same instances one at a time would: counts,
series summaries, patient rows; and a bad instance must cost only itself.
"""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pacs import storage
from pacs.ingest import DicomStatusError, IngestOrigin, IngestResult, instance_ingest, instances_ingest
from pacs.ingest import errors as status
from pacs.models import Instance, Organization, Patient, Series, Study
from pacs.signals import studies_stored
from pacs.tasks import _queued_key
from tests.dicomweb.helpers import make_instance

pytestmark = pytest.mark.django_db


def _study_of_two_series(prefix: str) -> list[bytes]:
    study = f"1.2.826.0.1.3680043.10.1.{prefix}"
    ct = [make_instance(study_uid=study, series_uid=f"{study}.1", modality="CT", patient_id=prefix) for _ in range(3)]
    sr = [make_instance(study_uid=study, series_uid=f"{study}.2", modality="SR", patient_id=prefix) for _ in range(2)]
    return ct + sr


def _index_state(organization: Organization) -> list[tuple]:
    studies = Study.objects.filter(organization=organization).order_by("study_instance_uid")
    return [
        (
            study.study_instance_uid,
            study.patient.patient_id,
            study.number_of_instances,
            study.number_of_series,
            study.modalities_in_study,
            study.size_bytes,
            sorted(study.series.values_list("series_instance_uid", "modality", "number_of_instances")),
        )
        for study in studies
    ]


def test_a_batch_indexes_as_one_instance_at_a_time_would(org_alpha, org_beta):
    sources = _study_of_two_series("71") + _study_of_two_series("72")

    outcomes = instances_ingest(sources=sources, origin=IngestOrigin(kind="stow", organization=org_alpha))
    for source in sources:
        instance_ingest(source=source, origin=IngestOrigin(kind="stow", organization=org_beta))

    assert all(isinstance(outcome, IngestResult) and outcome.outcome == "stored" for outcome in outcomes)
    assert _index_state(org_alpha) == _index_state(org_beta)
    first = _index_state(org_alpha)[0]
    assert first[2:5] == (5, 2, "CT SR")
    assert Patient.objects.filter(organization=org_alpha).count() == 2
    for instance in Instance.objects.filter(series__study__organization=org_alpha):
        assert storage.absolute_path(instance.file_path).read_bytes() in sources


def test_a_bad_instance_costs_only_itself_and_a_repeat_is_a_duplicate(org_alpha):
    good = _study_of_two_series("73")
    sources = [good[0], b"DICM but not really", good[1], good[0], make_instance(study_uid="1.2.3.4.5")]

    outcomes = instances_ingest(
        sources=sources,
        origin=IngestOrigin(kind="stow", organization=org_alpha, expected_study_uid="1.2.826.0.1.3680043.10.1.73"),
    )

    assert [o.outcome if isinstance(o, IngestResult) else o.status for o in outcomes] == [
        "stored",
        status.CANNOT_UNDERSTAND,
        "stored",
        "duplicate",
        status.DATASET_DOES_NOT_MATCH,
    ]
    assert isinstance(outcomes[1], DicomStatusError)
    assert Instance.objects.count() == 2
    assert Study.objects.get().number_of_instances == 2


def test_a_batch_adds_to_a_stored_study_and_keeps_its_summary(org_alpha):
    origin = IngestOrigin(kind="stow", organization=org_alpha)
    sources = _study_of_two_series("74")
    instances_ingest(sources=sources[:2], origin=origin)  # CT only
    study = Study.objects.get()
    assert (study.number_of_series, study.modalities_in_study) == (1, "CT")

    instances_ingest(sources=sources[2:], origin=origin)  # one more CT, then the SR series

    study.refresh_from_db()
    assert (study.number_of_instances, study.number_of_series, study.modalities_in_study) == (5, 2, "CT SR")
    assert Series.objects.get(modality="CT").number_of_instances == 3


def test_one_study_signal_per_batch_and_few_queries(org_alpha, django_capture_on_commit_callbacks):
    received: list[list[int]] = []

    def receiver(sender, *, study_ids, **kwargs):  # type: ignore[no-untyped-def]
        received.append(study_ids)

    studies_stored.connect(receiver, dispatch_uid="test-batch")
    try:
        sources = [
            make_instance(study_uid="1.2.826.0.1.3680043.10.1.75", series_uid="1.2.826.0.1.3680043.10.1.75.1")
            for _ in range(20)
        ]
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            instances_ingest(sources=sources, origin=IngestOrigin(kind="stow", organization=org_alpha))
    finally:
        studies_stored.disconnect(dispatch_uid="test-batch")

    assert received == [[Study.objects.get().pk]]
    # Per instance, one round trip would already be 20: the batch shares them (the worklist's study
    # link, a receiver of the same signal, is counted in too).
    assert len(queries.captured_queries) < 30, [q["sql"][:80] for q in queries.captured_queries]
    assert Study.objects.get().number_of_instances == 20
    # The build the batch queued has no worker here: its mark would make a later test's series, which
    # may get the same primary key, look queued already.
    cache.delete(_queued_key(Series.objects.get().pk))


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_into_one_new_series_queue_instead_of_deadlocking(org_alpha, caplog, monkeypatch):
    """Four clients fill one new series at once, as the viewer benchmark's STOW-RS load does. Each web
    process keeps its own hint of the series it indexed, so some batches take the one-query path for a
    known series while others take the general path: both must lock patient, then study, then series."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no row lock to take in the wrong order")
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from pacs.ingest import index

    real_hint = index._recently_indexed

    def hint_of_this_process(organization, items):  # type: ignore[no-untyped-def]
        # Half the "processes" (threads here) never indexed the series; the others may have.
        return int(threading.current_thread().name.rsplit("_", 1)[1]) % 2 == 0 and real_hint(organization, items)

    monkeypatch.setattr(index, "_recently_indexed", hint_of_this_process)
    study = "1.2.826.0.1.3680043.10.1.76"
    batches = [
        [make_instance(study_uid=study, series_uid=f"{study}.1", patient_id="76") for _ in range(3)] for _ in range(48)
    ]

    def store(batch: list[bytes]) -> list[str]:
        try:
            outcomes = instances_ingest(sources=batch, origin=IngestOrigin(kind="stow", organization=org_alpha))
            return [outcome.outcome if isinstance(outcome, IngestResult) else outcome.status for outcome in outcomes]
        finally:
            connections.close_all()

    with caplog.at_level("WARNING", logger="pacs.ingest.index"), ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = [outcome for batch_outcomes in pool.map(store, batches) for outcome in batch_outcomes]

    assert outcomes == ["stored"] * 144
    assert [record.getMessage() for record in caplog.records if "rolled back" in record.getMessage()] == []
    series = Series.objects.get()
    assert (series.number_of_instances, series.study.number_of_instances) == (144, 144)
    assert Instance.objects.count() == 144
