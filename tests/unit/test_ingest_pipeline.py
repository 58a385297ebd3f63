"""The ingest pipeline as a plain function: frame index, duplicates, failures leave nothing behind."""

from __future__ import annotations

import pydicom
import pytest
from django.db import OperationalError

from pacs import storage
from pacs.ingest import DicomStatusError, IngestOrigin, index, instance_ingest
from pacs.models import Instance, Series, Study
from tests.conftest import PYDICOM_TEST_FILES
from tests.dicomweb.helpers import make_instance

pytestmark = pytest.mark.django_db


def origin(org, **kwargs):  # type: ignore[no-untyped-def]
    return IngestOrigin(kind="import", organization=org, **kwargs)


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "JPEG2000.dcm", "MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm", "JPGExtended.dcm"]
)
def test_frames_read_by_offset_equal_pydicom_frames(org_alpha, name):
    path = PYDICOM_TEST_FILES / name
    result = instance_ingest(source=path, origin=origin(org_alpha))
    instance = Instance.objects.get(pk=result.instance_id)
    dataset = pydicom.dcmread(path)
    frames = [storage.read_ranges(instance.file_path, ranges) for ranges in instance.frame_index]
    if dataset.file_meta.TransferSyntaxUID.is_encapsulated:
        from pydicom.encaps import generate_frames

        expected = list(generate_frames(dataset.PixelData, number_of_frames=int(dataset.get("NumberOfFrames", 1))))
        assert [f.rstrip(b"\0") for f in frames] == [e.rstrip(b"\0") for e in expected]
    else:
        assert b"".join(frames) == dataset.PixelData[: len(b"".join(frames))]
    assert len(frames) == int(dataset.get("NumberOfFrames", 1))


def test_counts_and_computed_attributes(org_alpha):
    study_uid = pydicom.uid.generate_uid()
    series_a, series_b = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    for series, modality in ((series_a, "CT"), (series_a, "CT"), (series_b, "SR")):
        instance_ingest(
            source=make_instance(study_uid=study_uid, series_uid=series, modality=modality), origin=origin(org_alpha)
        )
    study = Study.objects.get(study_instance_uid=study_uid)
    assert (study.number_of_series, study.number_of_instances, study.modalities_in_study) == (2, 3, "CT SR")
    assert Series.objects.get(series_instance_uid=series_a).number_of_instances == 2


def test_database_failure_answers_out_of_resources_and_leaves_no_file(org_alpha, monkeypatch):
    def broken_index(**kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("connection refused")

    monkeypatch.setattr(index, "_index", broken_index)
    with pytest.raises(DicomStatusError) as caught:
        instance_ingest(source=make_instance(), origin=origin(org_alpha))
    assert caught.value.status == 0xA700
    assert not any(p.is_file() for p in storage.storage_root().rglob("*"))


def test_disk_failure_answers_out_of_resources(org_alpha, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage root should be")
    settings.PACS_STORAGE_ROOT = blocker
    with pytest.raises(DicomStatusError) as caught:
        instance_ingest(source=make_instance(), origin=origin(org_alpha))
    assert caught.value.status == 0xA700
    assert not Instance.objects.exists()


def test_sop_class_other_than_negotiated_is_a900(org_alpha):
    with pytest.raises(DicomStatusError) as caught:
        instance_ingest(
            source=make_instance(), origin=origin(org_alpha, expected_sop_class_uid="1.2.840.10008.5.1.4.1.1.2")
        )
    assert caught.value.status == 0xA900


def test_keep_policy_keeps_the_first_version(org_alpha, settings):
    import io

    settings.PACS_DUPLICATE_POLICY = "keep"
    first = make_instance(patient_name="First")
    ds = pydicom.dcmread(io.BytesIO(first))
    ds.PatientName = "Second"
    second = io.BytesIO()
    ds.save_as(second)
    instance_ingest(source=first, origin=origin(org_alpha))
    result = instance_ingest(source=second.getvalue(), origin=origin(org_alpha))
    assert result.outcome == "duplicate"
    assert storage.absolute_path(Instance.objects.get().file_path).read_bytes() == first


def test_the_worker_precomputes_metadata_only_for_series_of_some_size(
    org_alpha, settings, django_capture_on_commit_callbacks
):
    """A small series' metadata is built on its first request; from the set size on, each arrival queues
    a build (its queued mark is in the cache until the worker takes it)."""
    from django.core.cache import cache

    from pacs.tasks import _queued_key

    settings.PACS_METADATA_PRECOMPUTE_MIN_INSTANCES = 3
    study, series_uid = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    queued = []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            instance_ingest(source=make_instance(study_uid=study, series_uid=series_uid), origin=origin(org_alpha))
        series = Series.objects.get(series_instance_uid=series_uid)
        queued.append(cache.get(_queued_key(series.pk)) is not None)
    cache.delete(_queued_key(series.pk))
    assert queued == [False, False, True]


def _tables_queried(queries: list[dict]) -> list[str]:
    return [
        table for query in queries for table in ("pacs_patient", "pacs_study", "pacs_series") if table in query["sql"]
    ]


def test_later_instances_of_a_series_lock_the_patient_then_study_and_series_in_one_query(org_alpha):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pacs.models import Patient

    study_uid, series_uid = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    instance_ingest(source=make_instance(study_uid=study_uid, series_uid=series_uid), origin=origin(org_alpha))
    with CaptureQueriesContext(connection) as context:
        instance_ingest(
            source=make_instance(study_uid=study_uid, series_uid=series_uid, patient_name="Corrected^Name"),
            origin=origin(org_alpha),
        )
    selects = [query for query in context.captured_queries if query["sql"].startswith("SELECT")]
    looked_up = [query for query in selects if _tables_queried([query])]
    # The patient first, as every batch locks it first (see test_ingest_batch's concurrent test), then
    # the study and series joined; no other look-up of those rows, only the UPDATEs of counts and name.
    assert len(looked_up) == 2, [query["sql"][:120] for query in looked_up]
    assert "pacs_study" not in looked_up[0]["sql"] and "pacs_patient" in looked_up[0]["sql"]
    assert all(table in looked_up[1]["sql"] for table in ("pacs_study", "pacs_series"))
    study = Study.objects.get(study_instance_uid=study_uid)
    assert (study.number_of_instances, Series.objects.get(series_instance_uid=series_uid).number_of_instances) == (2, 2)
    assert Patient.objects.get(pk=study.patient_id).patient_name == "Corrected^Name"


@pytest.mark.parametrize("new_patient", [False, True], ids=["same-patient", "patient-id-corrected"])
def test_a_replacement_locks_the_patients_before_it_touches_the_series_it_replaces_in(org_alpha, new_patient):
    """A corrected instance (same SOP Instance UID, other content) replaces the stored one. Removing that
    one updates its series and study rows, so the patients, both the old instance's and the new one's, are
    locked first, as every batch locks them before a study: concurrent batches into one study queue on the
    patient instead of deadlocking."""
    import io

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = make_instance(study_uid=pydicom.uid.generate_uid(), series_uid=pydicom.uid.generate_uid())
    instance_ingest(source=first, origin=origin(org_alpha))
    ds = pydicom.dcmread(io.BytesIO(first))
    ds.PatientName = "Corrected^Name"
    if new_patient:
        ds.PatientID = "P2"
    second = io.BytesIO()
    ds.save_as(second)
    with CaptureQueriesContext(connection) as context:
        result = instance_ingest(source=second.getvalue(), origin=origin(org_alpha))
    assert result.outcome == "replaced"
    statements = [query["sql"] for query in context.captured_queries]
    first_write = next(
        index
        for index, sql in enumerate(statements)
        if sql.startswith(("UPDATE", "DELETE")) and any(table in sql for table in ("pacs_instance", "pacs_series"))
    )
    # The lock reads whole patient rows (the look-up of the stored instance's patient reads two columns).
    patient_locks = [sql for sql in statements[:first_write] if sql.startswith('SELECT "pacs_patient"."id"')]
    assert len(patient_locks) == 1, statements[: first_write + 1]
    # Both patients in the one lock: the stored instance's (P1) and, when it was corrected, the new one's.
    assert "'P1'" in patient_locks[0], patient_locks
    assert ("'P2'" in patient_locks[0]) == new_patient, patient_locks
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in patient_locks[0]


def test_an_instance_naming_another_patient_than_its_study_takes_the_general_path(org_alpha):
    from pacs.models import Patient

    study_uid, series_uid = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    instance_ingest(source=make_instance(study_uid=study_uid, series_uid=series_uid), origin=origin(org_alpha))
    instance_ingest(
        source=make_instance(study_uid=study_uid, series_uid=series_uid, patient_id="OTHER"), origin=origin(org_alpha)
    )
    study = Study.objects.get(study_instance_uid=study_uid)
    # As before the one-query path: the study keeps its patient, the other ID gets its own row.
    assert study.patient.patient_id == "P1"
    assert Patient.objects.filter(organization=org_alpha, patient_id="OTHER").exists()
    assert study.number_of_instances == 2


def test_a_hint_that_is_wrong_costs_only_the_query(org_alpha):
    """The process remembers series it indexed; one deleted since is found missing and created again."""
    study_uid, series_uid = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    instance_ingest(source=make_instance(study_uid=study_uid, series_uid=series_uid), origin=origin(org_alpha))
    Instance.objects.filter(series__series_instance_uid=series_uid).delete()
    Series.objects.filter(series_instance_uid=series_uid).delete()
    instance_ingest(source=make_instance(study_uid=study_uid, series_uid=series_uid), origin=origin(org_alpha))
    assert Series.objects.get(series_instance_uid=series_uid).number_of_instances == 1
