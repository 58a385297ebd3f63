"""The series' RLE copy (pacs/retrieve/rle_copies.py): built by the worker, sent by Retrieve Pixel Data
to a client that asks for ``image/dicom-rle``, decoded back to the stored pixels bit for bit, and never
sent for an instance whose stored file changed after the copy was made."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.core.cache import cache
from pydicom.uid import RLELossless

from dicomweb.multipart import Part
from pacs import settings as project_settings
from pacs.models import Instance, Series
from pacs.retrieve import codecs, rle_copies
from pacs.synthetic import Patient, ct_series
from pacs.tasks import METADATA_BUILD_QUIET_SECONDS, _arrival_key, _queued_key, series_rle_copy_build_task
from tests.conftest import wait_until
from tests.dicomweb.helpers import make_instance, uids_of
from tests.dicomweb.test_wado import parts_of

RLE = str(RLELossless)
RLE_FIRST = (
    f'multipart/related; type="image/dicom-rle"; transfer-syntax={RLE}, '
    'multipart/related; type="application/octet-stream"; transfer-syntax=*; q=0.9'
)
RLE_ONLY = f'multipart/related; type="image/dicom-rle"; transfer-syntax={RLE}'
PATIENT = Patient(name="Rle^Copy", patient_id="RLE1", birth_date="19600101", sex="F")


@pytest.fixture
def cache_root(settings, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    settings.PACS_CACHE_ROOT = tmp_path / "cache"
    return settings.PACS_CACHE_ROOT


def ct_files(slices: int = 4, *, study_uid: str | None = None) -> list[bytes]:
    return list(ct_series(PATIENT, slices=slices, size=64, study_uid=study_uid))


def stored_pixels(file: bytes) -> bytes:
    return pydicom.dcmread(io.BytesIO(file)).PixelData


def rle_decoded(part: Part, file: bytes) -> bytes:
    """A part's RLE frame decoded by pydicom's decoder, as little-endian bytes."""
    image = codecs.ImagePixel.from_json(
        {
            f"{pydicom.datadict.tag_for_keyword(keyword):08X}": {"Value": [value]}
            for keyword, value in _pixel_module(file).items()
        }
    )
    array = codecs.frame_array(part.body, transfer_syntax=RLE, image=image)
    return codecs.array_to_native_bytes(array, bits_allocated=image.bits_allocated)


def _pixel_module(file: bytes) -> dict:
    ds = pydicom.dcmread(io.BytesIO(file), stop_before_pixels=True)
    keywords = ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored", "PixelRepresentation")
    return {keyword: ds.get(keyword) for keyword in keywords} | {"PhotometricInterpretation": "MONOCHROME2"}


def series_of(file: bytes) -> Series:
    return Series.objects.get(series_instance_uid=uids_of(file)[1])


def pixeldata(http, file: bytes, accept: str):  # type: ignore[no-untyped-def]
    study, series, _sop, _ = uids_of(file)
    return http.get(f"/dicomweb/studies/{study}/series/{series}/pixeldata", headers={"Accept": accept})


def test_the_copy_is_sent_to_a_client_asking_for_rle_and_decodes_to_the_stored_pixels(
    alpha_http, org_alpha, ingest, cache_root
):
    files = ct_files()
    # An 8-bit instance in the same series: not copied, so sent as stored beside the RLE frames.
    eight_bit = make_instance(study_uid=uids_of(files[0])[0], series_uid=uids_of(files[0])[1])
    ingest(org_alpha, *files, eight_bit)
    copy = rle_copies.series_copy_build(series_id=series_of(files[0]).pk)
    assert copy is not None and set(copy.instances) == {uids_of(file)[2] for file in files}

    response = pixeldata(alpha_http, files[0], RLE_FIRST)
    assert response.status_code == 200, response.text
    by_sop = {
        part.headers["content-location"].split("/instances/")[1].split("/")[0]: part for part in parts_of(response)
    }
    assert set(by_sop) == {uids_of(file)[2] for file in [*files, eight_bit]}
    for file in files:
        part = by_sop[uids_of(file)[2]]
        assert part.content_type == f"image/dicom-rle; transfer-syntax={RLE}"
        assert int(part.headers["content-length"]) == len(part.body)
        assert len(part.body) < len(stored_pixels(file)) * 0.9
        assert rle_decoded(part, file) == stored_pixels(file)
    eight = by_sop[uids_of(eight_bit)[2]]
    assert eight.content_type == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert eight.body == stored_pixels(eight_bit)

    # A client that does not name RLE gets the stored pixels, as before.
    plain = parts_of(pixeldata(alpha_http, files[0], 'multipart/related; type="application/octet-stream"'))
    assert {part.content_type for part in plain} == {"application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"}
    # RLE only: the instance that has no copy is left out and said so.
    only = pixeldata(alpha_http, files[0], RLE_ONLY)
    assert len(parts_of(only)) == len(files)
    assert "1 instances cannot be sent" in only.headers["Warning"]


def test_without_a_copy_rle_alone_is_not_acceptable(alpha_http, org_alpha, ingest, cache_root):
    files = ct_files(2)
    ingest(org_alpha, *files)
    refused = pixeldata(alpha_http, files[0], RLE_ONLY)
    assert refused.status_code == 406
    assert "can be sent as application/octet-stream" in refused.json()["error"]
    fallback = parts_of(pixeldata(alpha_http, files[0], RLE_FIRST))
    assert [part.body for part in fallback] == [stored_pixels(file) for file in files]


def test_an_instance_replaced_after_the_copy_is_sent_as_stored_until_the_next_build(
    alpha_http, org_alpha, ingest, cache_root, caplog
):
    files = ct_files(3)
    ingest(org_alpha, *files)
    series = series_of(files[0])
    rle_copies.series_copy_build(series_id=series.pk)
    replaced = pydicom.dcmread(io.BytesIO(files[1]))
    pixels = replaced.pixel_array.copy()
    pixels[10:20, 10:20] = 999
    replaced.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    out = io.BytesIO()
    replaced.save_as(out, enforce_file_format=True)
    ingest(org_alpha, out.getvalue())  # the same SOP Instance UID: stored anew, in a new file

    by_sop = {
        part.headers["content-location"].split("/instances/")[1].split("/")[0]: part
        for part in parts_of(pixeldata(alpha_http, files[0], RLE_FIRST))
    }
    assert by_sop[replaced.SOPInstanceUID].content_type.startswith("application/octet-stream")
    assert by_sop[replaced.SOPInstanceUID].body == replaced.PixelData
    assert by_sop[uids_of(files[0])[2]].content_type.startswith("image/dicom-rle")

    with caplog.at_level("INFO", logger="pacs.retrieve.rle_copies"):
        rebuilt = rle_copies.series_copy_build(series_id=series.pk)
    assert rebuilt is not None and "(1 encoded now)" in caplog.text  # the other two reused
    part = next(
        part
        for part in parts_of(pixeldata(alpha_http, files[0], RLE_FIRST))
        if replaced.SOPInstanceUID in part.headers["content-location"]
    )
    assert part.content_type.startswith("image/dicom-rle")
    assert rle_decoded(part, out.getvalue()) == replaced.PixelData
    assert len(list((cache_root / "series-rle" / str(series.pk)).glob("*.rle"))) == 1


def test_what_rle_would_not_shrink_is_not_copied_and_a_gone_series_loses_its_copy(
    org_alpha, ingest, cache_root, caplog
):
    noisy = pydicom.dcmread(io.BytesIO(ct_files(1)[0]))
    noisy.PixelData = np.random.default_rng(7).integers(-1000, 3000, (64, 64), dtype="<i2").tobytes()
    out = io.BytesIO()
    noisy.save_as(out, enforce_file_format=True)
    ingest(org_alpha, out.getvalue())
    noisy_series = series_of(out.getvalue()).pk
    with caplog.at_level("INFO", logger="pacs.retrieve.rle_copies"):
        assert rle_copies.series_copy_build(series_id=noisy_series) is None
        assert "0 of 1 images (1 encoded now)" in caplog.text
        caplog.clear()
        # Remembered as not worth copying: the next build (the end of the next burst) does not encode it.
        assert rle_copies.series_copy_build(series_id=noisy_series) is None
        assert "encoded now" not in caplog.text
    assert rle_copies.series_copy(noisy_series) is None

    files = ct_files(2)
    ingest(org_alpha, *files)
    series = series_of(files[0])
    assert rle_copies.series_copy_build(series_id=series.pk) is not None
    folder = cache_root / "series-rle" / str(series.pk)
    assert len(list(folder.glob("*.rle"))) == 1
    series_id = series.pk
    Instance.objects.filter(series=series).delete()
    series.delete()
    series_rle_copy_build_task([series_id])
    assert not folder.exists()


def test_the_worker_builds_the_copy_after_the_series_burst(
    celery_worker_process, transactional_db, alpha_http, org_alpha, ingest, settings
):
    # The worker process reads the session's storage and cache, not this test's own.
    settings.PACS_STORAGE_ROOT = Path(project_settings.PACS_STORAGE_ROOT)
    settings.PACS_METADATA_PRECOMPUTE_MIN_INSTANCES = 2
    files = ct_files(3)
    ingest(org_alpha, *files)
    series = series_of(files[0])
    index = Path(settings.PACS_CACHE_ROOT) / "series-rle" / str(series.pk) / "index.json"
    wait_until(index.is_file, timeout=60)
    parts = parts_of(pixeldata(alpha_http, files[0], RLE_FIRST))
    assert [part.content_type for part in parts] == [f"image/dicom-rle; transfer-syntax={RLE}"] * len(files)
    assert [rle_decoded(part, file) for part, file in zip(parts, files, strict=True)] == [
        stored_pixels(file) for file in files
    ]


def test_a_series_whose_instances_all_moved_out_loses_its_caches(
    celery_worker_process, transactional_db, org_alpha, ingest, settings
):
    """Instances sent again under another series (a correction at the modality): the series they left,
    now gone from the index, has its metadata cache and RLE copy removed by the worker."""
    settings.PACS_STORAGE_ROOT = Path(project_settings.PACS_STORAGE_ROOT)
    settings.PACS_METADATA_PRECOMPUTE_MIN_INSTANCES = 2
    files = ct_files(3)
    ingest(org_alpha, *files)
    series_id = series_of(files[0]).pk
    cache_root = Path(settings.PACS_CACHE_ROOT)
    rle_folder = cache_root / "series-rle" / str(series_id)
    metadata_folder = cache_root / "series-metadata" / str(series_id)
    wait_until((rle_folder / "index.json").is_file, timeout=60)
    assert list(metadata_folder.glob("*.json"))

    moved = []
    for file in files:
        dataset = pydicom.dcmread(io.BytesIO(file))
        dataset.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1.77.2"
        out = io.BytesIO()
        dataset.save_as(out, enforce_file_format=True)
        moved.append(out.getvalue())
    assert [result.outcome for result in ingest(org_alpha, *moved)] == ["replaced"] * 3

    assert not Series.objects.filter(pk=series_id).exists()
    wait_until(lambda: not rle_folder.exists() and not list(metadata_folder.glob("*.json")), timeout=60)
    # The series they moved into has its own copy; waiting for it leaves no build queued for later tests.
    new_series_id = series_of(moved[0]).pk
    wait_until((cache_root / "series-rle" / str(new_series_id) / "index.json").is_file, timeout=60)
    wait_until(lambda: cache.get(_queued_key(new_series_id)) is None, timeout=60)


def test_no_copy_is_made_while_the_series_is_still_arriving(org_alpha, ingest, cache_root):
    files = ct_files(2)
    ingest(org_alpha, *files)
    series = series_of(files[0])
    index = cache_root / "series-rle" / str(series.pk) / "index.json"
    now_ms = int(time.time() * 1000)
    try:
        cache.set(_arrival_key(series.pk), now_ms - 100, timeout=60)
        series_rle_copy_build_task([series.pk])
        assert not index.exists()
        cache.set(_arrival_key(series.pk), now_ms - int((METADATA_BUILD_QUIET_SECONDS + 1) * 1000), timeout=60)
        series_rle_copy_build_task([series.pk])
        assert index.is_file()
    finally:
        cache.delete(_arrival_key(series.pk))
