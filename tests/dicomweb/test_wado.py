"""WADO-RS and WADO-URI against the live server, with dicomweb-client and plain HTTP."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pydicom
import pytest
from django.conf import settings as django_settings
from PIL import Image
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian

from dicomweb.multipart import Part, iter_parts, parse_content_type
from pacs import storage
from pacs.ingest import DicomStatusError
from pacs.models import Instance, Series
from tests.conftest import PYDICOM_TEST_FILES, wait_until
from tests.dicomweb.helpers import make_instance, uids_of

DICOM_ANY = 'multipart/related; type="application/dicom"; transfer-syntax=*'
DICOM_ELE = f'multipart/related; type="application/dicom"; transfer-syntax={ExplicitVRLittleEndian}'
OCTET = 'multipart/related; type="application/octet-stream"'
PIXEL_DATA = "7FE00010"


def parts_of(response) -> list[Part]:  # type: ignore[no-untyped-def]
    media_type, params = parse_content_type(response.headers["Content-Type"])
    assert media_type == "multipart/related", response.text[:300]
    return list(iter_parts(io.BytesIO(response.content), params["boundary"], max_bytes=1 << 31))


def instance_url(path: Path | bytes) -> str:
    study, series, sop, _ = uids_of(path)
    return f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"


def read(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def ingest_all(ingest, org) -> list[Instance]:  # type: ignore[no-untyped-def]
    """Every pydicom test file the pipeline accepts; files sharing a SOP Instance UID replace each other."""
    for path in sorted(PYDICOM_TEST_FILES.glob("*.dcm")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ingest(org, path)
        except DicomStatusError:
            continue
    return list(Instance.objects.select_related("series__study"))


# --- instances ------------------------------------------------------------------------------------


def test_every_stored_instance_comes_back_byte_identical(alpha_http, org_alpha, ingest):
    stored = ingest_all(ingest, org_alpha)
    assert len(stored) > 30
    for instance in stored:
        series = instance.series
        study_uid = series.study.study_instance_uid
        url = f"/dicomweb/studies/{study_uid}/series/{series.series_instance_uid}/instances/{instance.sop_instance_uid}"
        for accept in (DICOM_ANY, 'multipart/related; type="application/dicom"'):
            response = alpha_http.get(url, headers={"Accept": accept})
            assert response.status_code == 200, (instance.file_path, response.text)
            (part,) = parts_of(response)
            assert part.body == storage.absolute_path(instance.file_path).read_bytes(), instance.file_path
            assert f"transfer-syntax={instance.transfer_syntax_uid}" in part.content_type


def test_stow_then_retrieve_with_dicomweb_client(alpha_client):
    dataset = read(PYDICOM_TEST_FILES / "MR_small_RLE.dcm")
    alpha_client.store_instances([dataset])
    study, series, sop = dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID
    kept = alpha_client.retrieve_instance(study, series, sop, media_types=(("application/dicom", "*"),))
    assert kept.file_meta.TransferSyntaxUID == dataset.file_meta.TransferSyntaxUID
    converted = alpha_client.retrieve_instance(
        study, series, sop, media_types=(("application/dicom", ExplicitVRLittleEndian),)
    )
    assert converted.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    np.testing.assert_array_equal(converted.pixel_array, dataset.pixel_array)
    assert len(alpha_client.retrieve_series(study, series)) == 1
    assert len(alpha_client.retrieve_study(study)) == 1


@pytest.mark.parametrize(
    "name", ["JPEG2000.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small_bigendian.dcm", "SC_rgb_rle_16bit.dcm"]
)
def test_transcoding_to_explicit_vr_little_endian(alpha_http, org_alpha, ingest, name):
    path = PYDICOM_TEST_FILES / name
    ingest(org_alpha, path)
    response = alpha_http.get(instance_url(path), headers={"Accept": DICOM_ELE})
    assert response.status_code == 200, response.text
    (part,) = parts_of(response)
    assert part.content_type == f"application/dicom; transfer-syntax={ExplicitVRLittleEndian}"
    result = pydicom.dcmread(io.BytesIO(part.body))
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    np.testing.assert_array_equal(result.pixel_array, read(path).pixel_array)


def test_study_and_series_stream_every_instance(alpha_http, org_alpha, ingest):
    study = pydicom.uid.generate_uid()
    series_a, series_b = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    files = [make_instance(study_uid=study, series_uid=series_a) for _ in range(3)]
    files.append(make_instance(study_uid=study, series_uid=series_b))
    ingest(org_alpha, *files)
    response = alpha_http.get(f"/dicomweb/studies/{study}", headers={"Accept": DICOM_ANY})
    assert sorted(part.body for part in parts_of(response)) == sorted(files)
    response = alpha_http.get(f"/dicomweb/studies/{study}/series/{series_a}", headers={"Accept": DICOM_ANY})
    assert len(parts_of(response)) == 3
    assert "boundary=" in response.headers["Content-Type"]


def test_an_unsatisfiable_accept_is_406(alpha_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    ingest(org_alpha, path)
    url = instance_url(path)
    response = alpha_http.get(
        url, headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'}
    )
    assert response.status_code == 406
    assert alpha_http.get(url, headers={"Accept": "text/html"}).status_code == 406
    assert alpha_http.get(f"{url}/metadata", headers={"Accept": "application/dicom+xml"}).status_code == 406


# --- metadata -------------------------------------------------------------------------------------


def test_metadata_has_absolute_bulk_data_uris_that_resolve(alpha_client, alpha_http, org_alpha, ingest, live_url):
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    ingest(org_alpha, path)
    study, series, sop, _ = uids_of(path)
    (item,) = alpha_client.retrieve_series_metadata(study, series)
    uri = urlsplit(item[PIXEL_DATA]["BulkDataURI"])
    # dicomweb-client sends its Host header without the port, and the server answers for that host.
    assert (uri.scheme, uri.hostname) == ("http", "localhost")
    assert uri.path == f"/dicomweb/studies/{study}/series/{series}/instances/{sop}/bulk/{PIXEL_DATA}"
    assert item["00083002"]["Value"] == [str(read(path).file_meta.TransferSyntaxUID)]
    assert alpha_client.retrieve_study_metadata(study) == [item]
    assert alpha_client.retrieve_instance_metadata(study, series, sop) == item
    http_item = alpha_http.get(f"/dicomweb/studies/{study}/series/{series}/metadata").json()[0]
    assert http_item[PIXEL_DATA]["BulkDataURI"] == f"{live_url}{uri.path}"
    (pixels,) = parts_of(alpha_http.get(uri.path, headers={"Accept": OCTET}))
    assert pixels.body == read(path).PixelData
    assert alpha_client.retrieve_bulkdata(f"{live_url}{uri.path}")[0] == read(path).PixelData


def test_bulk_data_uris_honour_the_forwarded_host(alpha_http, org_alpha, ingest, settings):
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["localhost", "pacs.example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    ingest(org_alpha, path)
    study, series, _, _ = uids_of(path)
    headers = {"X-Forwarded-Host": "pacs.example.org", "X-Forwarded-Proto": "https"}
    response = alpha_http.get(f"/dicomweb/studies/{study}/series/{series}/metadata", headers=headers)
    assert response.json()[0][PIXEL_DATA]["BulkDataURI"].startswith("https://pacs.example.org/dicomweb/studies/")
    settings.PACS_PUBLIC_URL = "https://public.example.org/"
    response = alpha_http.get(f"/dicomweb/studies/{study}/metadata")
    assert response.json()[0][PIXEL_DATA]["BulkDataURI"].startswith("https://public.example.org/dicomweb/studies/")


def test_metadata_cache_is_rebuilt_by_the_worker(
    celery_worker_process, transactional_db, alpha_http, org_alpha, ingest, settings
):
    settings.PACS_METADATA_PRECOMPUTE_MIN_INSTANCES = 1
    study, series_uid = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    ingest(org_alpha, make_instance(study_uid=study, series_uid=series_uid))
    series = Series.objects.get(series_instance_uid=series_uid)
    folder = Path(django_settings.PACS_CACHE_ROOT) / "series-metadata" / str(series.pk)

    def cached_versions() -> list[str]:
        return sorted(p.stem.rsplit("-", 1)[1] for p in folder.glob("*.json"))

    wait_until(lambda: cached_versions() == [str(series.metadata_version)])
    ingest(org_alpha, make_instance(study_uid=study, series_uid=series_uid))
    series.refresh_from_db()
    wait_until(lambda: cached_versions() == [str(series.metadata_version)])
    response = alpha_http.get(f"/dicomweb/studies/{study}/series/{series_uid}/metadata")
    assert response.headers["Content-Type"].startswith("application/dicom+json")
    assert len(response.json()) == 2


def test_metadata_before_the_cache_exists_is_built_on_request(alpha_http, org_alpha, ingest, settings, tmp_path):
    settings.PACS_CACHE_ROOT = tmp_path / "empty-cache"
    study = pydicom.uid.generate_uid()
    files = [make_instance(study_uid=study) for _ in range(2)]
    ingest(org_alpha, *files)
    response = alpha_http.get(f"/dicomweb/studies/{study}/metadata")
    assert response.status_code == 200
    assert sorted(item["00080018"]["Value"][0] for item in response.json()) == sorted(uids_of(f)[2] for f in files)
    assert len(list((tmp_path / "empty-cache").rglob("*.json"))) == 2


# --- frames ---------------------------------------------------------------------------------------


def test_frames_compressed_as_stored_or_decoded(alpha_client, alpha_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "SC_rgb_rle_2frame.dcm"
    ingest(org_alpha, path)
    study, series, sop, _ = uids_of(path)
    dataset = read(path)
    encoded = list(generate_frames(dataset.PixelData, number_of_frames=2))
    assert alpha_client.retrieve_instance_frames(study, series, sop, [1, 2]) == encoded
    decoded = alpha_client.retrieve_instance_frames(study, series, sop, [2], media_types=("application/octet-stream",))
    assert decoded == [dataset.pixel_array[1].tobytes()]
    response = alpha_http.get(
        f"{instance_url(path)}/frames/1", headers={"Accept": 'multipart/related; type="image/dicom-rle"'}
    )
    (part,) = parts_of(response)
    assert part.body == encoded[0]
    assert part.content_type == "image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5"
    assert (
        alpha_http.get(
            f"{instance_url(path)}/frames/1", headers={"Accept": 'multipart/related; type="image/jls"'}
        ).status_code
        == 406
    )


def test_native_frames_are_read_by_offset(alpha_client, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "rtdose.dcm"
    ingest(org_alpha, path)
    study, series, sop, _ = uids_of(path)
    frames = alpha_client.retrieve_instance_frames(
        study, series, sop, [3, 15], media_types=("application/octet-stream",)
    )
    pixels = read(path).pixel_array
    assert frames == [pixels[2].tobytes(), pixels[14].tobytes()]


def test_one_frame_asked_for_as_a_bare_media_type_is_a_single_part(alpha_http, org_alpha, ingest):
    """PS3.18 8.6: a request that returns exactly one item may be answered single part; several frames,
    or a multipart Accept, stay multipart."""
    native, rle = PYDICOM_TEST_FILES / "rtdose.dcm", PYDICOM_TEST_FILES / "SC_rgb_rle_2frame.dcm"
    ingest(org_alpha, native, rle)
    pixels = read(native).pixel_array
    one = alpha_http.get(f"{instance_url(native)}/frames/3", headers={"Accept": "application/octet-stream"})
    assert one.status_code == 200
    assert one.headers["Content-Type"] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert one.content == pixels[2].tobytes()
    stored = alpha_http.get(
        f"{instance_url(rle)}/frames/2", headers={"Accept": "application/octet-stream; transfer-syntax=*"}
    )
    assert stored.headers["Content-Type"] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.5"
    assert stored.content == list(generate_frames(read(rle).PixelData, number_of_frames=2))[1]
    several = alpha_http.get(f"{instance_url(native)}/frames/3,4", headers={"Accept": "application/octet-stream"})
    assert [part.body for part in parts_of(several)] == [pixels[2].tobytes(), pixels[3].tobytes()]
    multipart = alpha_http.get(
        f"{instance_url(native)}/frames/3", headers={"Accept": 'multipart/related; type="application/octet-stream"'}
    )
    assert multipart.headers["Content-Type"].startswith("multipart/related")


def test_series_pixel_data_comes_in_one_response_located_by_the_metadata(alpha_http, org_alpha, ingest):
    """PS3.18 10.4.1.1.6: every instance's Pixel Data, each part at the BulkDataURI its metadata gives."""
    study, series = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    files = [make_instance(study_uid=study, series_uid=series, rows=4 + n, columns=6) for n in range(3)]
    ingest(org_alpha, *files)
    url = f"/dicomweb/studies/{study}/series/{series}"
    response = alpha_http.get(f"{url}/pixeldata", headers={"Accept": OCTET})
    assert response.status_code == 200, response.text
    parts = parts_of(response)
    metadata = alpha_http.get(f"{url}/metadata").json()
    located = {item[PIXEL_DATA]["BulkDataURI"]: item["00080018"]["Value"][0] for item in metadata}
    pixels = {read(io.BytesIO(file)).SOPInstanceUID: read(io.BytesIO(file)).PixelData for file in files}
    assert sorted(located[part.headers["content-location"]] for part in parts) == sorted(pixels)
    for part in parts:
        assert part.body == pixels[located[part.headers["content-location"]]]
        assert int(part.headers["content-length"]) == len(part.body)
        assert part.content_type == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"


def test_pixel_data_of_compressed_and_multiframe_instances(alpha_http, org_alpha, ingest):
    native, rle = PYDICOM_TEST_FILES / "rtdose.dcm", PYDICOM_TEST_FILES / "SC_rgb_rle_2frame.dcm"
    ingest(org_alpha, native, rle)
    # Compressed, as stored: one part per frame.
    stored = alpha_http.get(f"{instance_url(rle)}/pixeldata", headers={"Accept": f"{OCTET}; transfer-syntax=*"})
    encoded = list(generate_frames(read(rle).PixelData, number_of_frames=2))
    assert [part.body for part in parts_of(stored)] == encoded
    assert {part.content_type for part in parts_of(stored)} == {
        "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.5"
    }
    # Decoded, or native multi-frame: the whole Pixel Data as one part.
    (decoded,) = parts_of(alpha_http.get(f"{instance_url(rle)}/pixeldata", headers={"Accept": OCTET}))
    assert decoded.body == read(rle).pixel_array.tobytes()
    (whole,) = parts_of(alpha_http.get(f"{instance_url(native)}/pixeldata", headers={"Accept": OCTET}))
    assert whole.body == read(native).PixelData
    assert int(whole.headers["content-length"]) == len(whole.body)
    refused = alpha_http.get(
        f"{instance_url(rle)}/pixeldata", headers={"Accept": 'multipart/related; type="image/jls"'}
    )
    assert refused.status_code == 406


def test_pixel_data_of_what_has_none_or_is_not_there_is_404(alpha_http, beta_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    ingest(org_alpha, path)
    study, series, _sop, _ = uids_of(path)
    assert beta_http.get(f"/dicomweb/studies/{study}/pixeldata", headers={"Accept": OCTET}).status_code == 404
    assert alpha_http.get(f"/dicomweb/studies/{study}/pixeldata", headers={"Accept": OCTET}).status_code == 200
    unknown = f"/dicomweb/studies/{study}/series/{pydicom.uid.generate_uid()}/pixeldata"
    assert alpha_http.get(unknown, headers={"Accept": OCTET}).status_code == 404


def test_bad_frame_lists_are_400(alpha_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    ingest(org_alpha, path)
    for frames in ("0", "2", "1,5"):
        assert alpha_http.get(f"{instance_url(path)}/frames/{frames}").status_code == 400


# --- rendered -------------------------------------------------------------------------------------


def image_of(response) -> Image.Image:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def test_rendered_jpeg_and_png_follow_the_window(alpha_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    ingest(org_alpha, path)
    url = f"{instance_url(path)}/rendered"
    default = image_of(alpha_http.get(url, headers={"Accept": "image/jpeg"}))
    assert default.format == "JPEG" and default.size == (128, 128)
    assert 5 < np.asarray(default).std()
    bright = np.asarray(image_of(alpha_http.get(url, params={"window": "0,200"}))).mean()
    dark = np.asarray(image_of(alpha_http.get(url, params={"window": "1200,200"}))).mean()
    assert bright > dark + 50
    png = image_of(alpha_http.get(url, params={"viewport": "64,64"}, headers={"Accept": "image/png"}))
    assert png.format == "PNG" and png.size == (64, 64)
    assert alpha_http.get(url, params={"window": "40"}).status_code == 400


def test_monochrome1_is_inverted(alpha_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "dicomdirtests/77654033/CR1/6154"
    ingest(org_alpha, path)
    dataset = read(path)
    low = float(dataset.pixel_array.min())
    # A window entirely above the pixel values makes MONOCHROME2 black, hence MONOCHROME1 white.
    response = alpha_http.get(f"{instance_url(path)}/rendered", params={"window": f"{low + 1e6},10"})
    assert np.asarray(image_of(response)).mean() > 250


def test_colour_multiframe_and_thumbnails(alpha_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "examples_ybr_color.dcm"
    ingest(org_alpha, path)
    study, series, _, _ = uids_of(path)
    frame = image_of(alpha_http.get(f"{instance_url(path)}/frames/10/rendered"))
    assert frame.mode == "RGB" and frame.size == (320, 240)
    rendered = parts_of(alpha_http.get(f"{instance_url(path)}/frames/1,2/rendered"))
    assert [part.content_type for part in rendered] == ["image/jpeg", "image/jpeg"]
    for url in (f"/dicomweb/studies/{study}", f"/dicomweb/studies/{study}/series/{series}", instance_url(path)):
        thumbnail = image_of(alpha_http.get(f"{url}/thumbnail"))
        assert max(thumbnail.size) == 128


# --- WADO-URI -------------------------------------------------------------------------------------


def test_wado_uri(alpha_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "JPEG2000.dcm"
    ingest(org_alpha, path)
    study, series, sop, _ = uids_of(path)
    query = {"requestType": "WADO", "studyUID": study, "seriesUID": series, "objectUID": sop}
    response = alpha_http.get("/wado", params={**query, "contentType": "application/dicom"})
    assert response.headers["Content-Type"] == "application/dicom"
    assert response.content == path.read_bytes()
    response = alpha_http.get(
        "/wado", params={**query, "contentType": "application/dicom", "transferSyntax": ExplicitVRLittleEndian}
    )
    assert pydicom.dcmread(io.BytesIO(response.content)).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    jpeg = image_of(alpha_http.get("/wado", params={**query, "columns": "128"}))
    assert jpeg.format == "JPEG" and jpeg.size[0] == 128
    png = image_of(
        alpha_http.get(
            "/wado", params={**query, "contentType": "image/png", "windowCenter": "500", "windowWidth": "100"}
        )
    )
    assert png.format == "PNG"
    assert alpha_http.get("/wado", params={"requestType": "WADO", "studyUID": study}).status_code == 400
    assert alpha_http.get("/wado", params={**query, "objectUID": "1.2.3"}).status_code == 404


# --- organizations --------------------------------------------------------------------------------


def test_another_organization_sees_nothing(alpha_http, beta_http, anonymous_http, org_alpha, ingest):
    path = PYDICOM_TEST_FILES / "CT_small.dcm"
    ingest(org_alpha, path)
    study, series, sop, _ = uids_of(path)
    base = f"/dicomweb/studies/{study}"
    urls = [
        base,
        f"{base}/metadata",
        f"{base}/rendered",
        f"{base}/thumbnail",
        f"{base}/series/{series}",
        f"{base}/series/{series}/metadata",
        f"{base}/series/{series}/thumbnail",
        instance_url(path),
        f"{instance_url(path)}/metadata",
        f"{instance_url(path)}/frames/1",
        f"{instance_url(path)}/frames/1/rendered",
        f"{instance_url(path)}/rendered",
        f"{instance_url(path)}/thumbnail",
        f"{instance_url(path)}/bulk/{PIXEL_DATA}",
        f"/wado?requestType=WADO&studyUID={study}&seriesUID={series}&objectUID={sop}",
    ]
    for url in urls:
        assert alpha_http.get(url).status_code == 200, url
        assert beta_http.get(url).status_code == 404, url
        assert anonymous_http.get(url).status_code == 401, url
