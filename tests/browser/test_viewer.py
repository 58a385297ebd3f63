"""The viewer in a real browser: a synthetic head CT loaded through DICOMweb, checked on the canvas pixels."""

from __future__ import annotations

import io
import re

import numpy as np
import pydicom
import pytest
from playwright.sync_api import Page, Request, Route, expect

from pacs.models import Series
from pacs.retrieve.rle_copies import series_copy_build
from pacs.synthetic import head_phantom_slice
from tests.browser.conftest import PHANTOM_SIZE, PHANTOM_SLICES, screenshot_path
from tests.browser.pixels import Canvas, canvas_read, canvas_until
from tests.browser.viewer_page import MIDDLE, drag, go_to_middle_slice, login, open_viewer, settled_number, zoom_in
from tests.conftest import PYDICOM_TEST_FILES, wait_until
from viewer.models import Measurement

pytestmark = pytest.mark.live


def test_scroll_window_level_and_invert_change_the_pixels(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    # The first slice lies below the skull: air only.
    first = canvas_until(page, lambda canvas: canvas.grey.max() < 30)
    first.save(screenshot_path("viewer-first-slice"))

    go_to_middle_slice(page)
    middle = canvas_until(page, lambda canvas: canvas.mean > first.mean + 10)
    middle.save(screenshot_path("viewer-middle-slice"))

    # The mouse wheel scrolls too: two notches later the overlay and the pixels follow.
    box = page.locator(".viewport-element").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120)
    expect(page.locator(".overlay-bl")).not_to_contain_text(f"{MIDDLE + 1} / {PHANTOM_SLICES}")
    page.keyboard.press("Home")
    canvas_until(page, lambda canvas: canvas.grey.max() < 30)
    go_to_middle_slice(page)
    brain_window = canvas_until(page, lambda canvas: abs(canvas.mean - middle.mean) < 1)

    # Window/level by drag: dragging down raises the level, so the image darkens.
    page.keyboard.press("w")
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    drag(page, centre, (centre[0], centre[1] + 150))
    darker = canvas_until(page, lambda canvas: canvas.mean < brain_window.mean - 5)
    darker.save(screenshot_path("viewer-window-dragged"))

    # A preset: the lung window shows the brain (35 HU) brighter than the brain window after the drag.
    page.keyboard.press("2")
    expect(page.locator(".overlay-br")).to_contain_text("W: 1500 L: -600")
    lung = canvas_until(page, lambda canvas: canvas.mean > darker.mean + 5)

    # Invert: every grey level g becomes 255 - g.
    page.keyboard.press("i")
    inverted = canvas_until(page, lambda canvas: abs(canvas.image.mean() - (255 - lung.image.mean())) < 3)
    inverted.save(screenshot_path("viewer-inverted"))
    assert np.median(np.abs(inverted.image + lung.image - 255)) <= 2, "each grey level g should become 255 - g"
    expect(page.locator(".overlay-br")).to_contain_text("Inverted")


def test_rotate_zoom_and_reset_move_the_pixels(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    """The head phantom is taller than wide: rotated a quarter turn it is wider than tall; zoomed in, it
    covers more of the canvas; fitted, it is whole again and still rotated; reset, it is drawn as it was."""
    open_viewer(page, live_url, ct_study)
    first = canvas_until(page, lambda canvas: canvas.grey.max() < 30)
    go_to_middle_slice(page)
    upright = canvas_until(page, lambda canvas: canvas.mean > first.mean + 10)
    height, width = upright.head_extent
    assert height > width * 1.1, (height, width)

    page.keyboard.press("t")
    rotated = canvas_until(page, lambda canvas: canvas.head_extent[1] > canvas.head_extent[0] * 1.1)
    rotated.save(screenshot_path("viewer-rotated"))
    assert abs(rotated.head_extent[1] - height) <= 0.05 * height

    # Zoomed in while rotated, then fitted: the whole head again, still on its side.
    zoom_in(page)
    canvas_until(page, lambda canvas: canvas.head_extent[1] > rotated.head_extent[1] * 1.2)
    page.keyboard.press("f")
    canvas_until(page, lambda canvas: float(np.abs(canvas.grey - rotated.grey).mean()) < 1)

    page.keyboard.press("Space")
    canvas_until(page, lambda canvas: abs(canvas.mean - upright.mean) < 1)

    zoom_in(page)
    head_share = float((upright.grey > 100).mean())
    zoomed = canvas_until(page, lambda canvas: float((canvas.grey > 100).mean()) > head_share * 1.5)
    zoomed.save(screenshot_path("viewer-zoomed"))
    expect(page.locator(".overlay-br")).not_to_contain_text("Zoom: 100%")

    page.keyboard.press("Space")
    canvas_until(page, lambda canvas: abs(canvas.mean - upright.mean) < 1)
    expect(page.locator(".overlay-br")).to_contain_text("Zoom: 100%")


def _saved_lengths(user) -> list[float]:  # type: ignore[no-untyped-def]
    """The lengths of the user's saved Length measurements, as the viewer computed them."""
    return [
        stats["length"]
        for measurement in Measurement.objects.filter(user=user, tool_name="Length")
        for stats in (measurement.annotation.get("data", {}).get("cachedStats") or {}).values()
        if isinstance(stats, dict) and isinstance(stats.get("length"), (int, float))
    ]


def phantom_skull_width_mm() -> float:
    """Width of the skull along the centre row of the middle slice, from the phantom's own definition."""
    z = -1 + 2 * (MIDDLE + 0.5) / PHANTOM_SLICES
    row = head_phantom_slice(PHANTOM_SIZE, PHANTOM_SIZE, z)[PHANTOM_SIZE // 2]
    inside = np.flatnonzero(row > -1000)
    return float((inside[-1] - inside[0] + 1) * 220.0 / PHANTOM_SIZE)


def test_length_over_the_skull_reads_its_width_and_is_kept(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    go_to_middle_slice(page)
    page.keyboard.press("3")  # bone window: the skull bright, air black
    expect(page.locator(".overlay-br")).to_contain_text("W: 1800 L: 400")
    canvas = canvas_until(page, lambda canvas: canvas.grey.max() > 150)

    # The outer edges of the skull on the centre row of the drawn image, where the grey level crosses
    # half of the skull's.
    row = canvas.grey.shape[0] // 2
    line = canvas.grey[row]
    bright = np.flatnonzero(line > line.max() / 2)
    left, right = bright[0] - 0.5, bright[-1] + 0.5
    start, end = canvas.page_point(left, row), canvas.page_point(right + 1, row)

    page.keyboard.press("l")
    drag(page, start, end)
    value = page.locator(".measurements-list li[data-tool=Length] .measurement-value")
    expect(value).to_have_count(1)
    expect(value).to_contain_text("mm")
    measured = settled_number(page, value)
    expected = phantom_skull_width_mm()
    page.screenshot(path=str(screenshot_path("viewer-length")))
    assert measured == pytest.approx(expected, abs=1.5), f"measured {measured} mm, phantom skull {expected:.1f} mm"

    # Saved on the server for this user and study (a moment after the last change): shown again when
    # the study is reopened.
    wait_until(lambda: (lengths := _saved_lengths(radiologist)) and lengths[-1] == pytest.approx(measured, abs=0.05))
    page.reload()
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    again = page.locator(".measurements-list li[data-tool=Length] .measurement-value")
    expect(again).to_have_count(1)
    assert settled_number(page, again) == pytest.approx(measured, abs=0.05)


def test_layout_shows_series_progress_and_thumbnails(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    card = page.locator(".series-card").first
    expect(card).to_contain_text(f"{PHANTOM_SLICES} images")
    # Every slice prefetched: the progress bar fills and turns complete.
    expect(card.locator(".progress")).to_have_class(re.compile("complete"), timeout=60_000)
    page.select_option("select.layouts", label="2×2")
    expect(page.locator(".viewport-cell")).to_have_count(4)
    first = canvas_read(page, 0)
    assert first.grey.shape[0] > 0
    page.screenshot(path=str(screenshot_path("viewer-2x2")))


def _requests_to(page: Page, fragment: str) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if fragment in request.url else None)
    return seen


def test_a_series_loads_in_one_pixel_data_response(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    """The prefetch takes the whole series from its Pixel Data resource, not a request per slice."""
    frame_requests = _requests_to(page, "/frames/")
    pixel_data_requests = _requests_to(page, "/pixeldata")
    open_viewer(page, live_url, ct_study)
    card = page.locator(".series-card").first
    expect(card.locator(".progress")).to_have_class(re.compile("complete"), timeout=60_000)
    expect(card.locator(".progress")).to_have_attribute("title", re.compile(f"{PHANTOM_SLICES}.*{PHANTOM_SLICES}"))
    assert len(pixel_data_requests) == 1, pixel_data_requests
    assert pixel_data_requests[0].endswith("/pixeldata")
    # Only the first image went by itself, ahead of the series.
    assert len(frame_requests) <= 2, frame_requests
    first = canvas_until(page, lambda canvas: canvas.grey.max() < 30)
    go_to_middle_slice(page)
    # Drawn from what the series response brought: no request for the slice.
    canvas_until(page, lambda canvas: canvas.mean > first.mean + 10)
    assert len(frame_requests) <= 2, frame_requests


def test_without_the_pixel_data_resource_the_series_loads_frame_by_frame(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    """A server (or proxy) that does not answer the series' Pixel Data: every slice is fetched alone."""
    page.route("**/pixeldata", lambda route: route.fulfill(status=404, body="not here"))
    frame_requests = _requests_to(page, "/frames/")
    open_viewer(page, live_url, ct_study)
    card = page.locator(".series-card").first
    expect(card.locator(".progress")).to_have_class(re.compile("complete"), timeout=60_000)
    assert len(set(frame_requests)) == PHANTOM_SLICES


def test_an_application_script_that_does_not_load_is_shown_as_an_error(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    """The page's small entry imports the application: when that request fails, the page says so."""
    page.route("**/viewerStart-*.js", lambda route: route.fulfill(status=404, body="not here"))
    login(page, live_url, f"/viewer?StudyInstanceUIDs={ct_study}")
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "error", timeout=30_000)
    expect(page.locator(".viewer-error")).to_contain_text("The study could not be loaded.")


def _middle_slice_once_prefetched(page: Page) -> tuple[np.ndarray, str]:
    card = page.locator(".series-card").first
    expect(card.locator(".progress")).to_have_class(re.compile("complete"), timeout=60_000)
    first = canvas_until(page, lambda canvas: canvas.grey.max() < 30)
    go_to_middle_slice(page)
    canvas_until(page, lambda canvas: canvas.mean > first.mean + 10)
    page.wait_for_timeout(300)  # a render still queued would otherwise be read half-way
    return canvas_read(page).grey, page.locator(".overlay-br").inner_text()


@pytest.mark.parametrize(
    ("stored_as", "rle_copy", "isolated"),
    [
        pytest.param("ct_study", False, True, id="as-stored-ct_study"),
        pytest.param("ct_study_unsigned", False, True, id="as-stored-ct_study_unsigned"),
        pytest.param("ct_study", True, True, id="rle-copy-ct_study"),
        pytest.param("ct_study_unsigned", True, True, id="rle-copy-ct_study_unsigned"),
        pytest.param("ct_study", False, False, id="as-stored-not-isolated"),
        pytest.param("ct_study_unsigned", True, False, id="rle-copy-not-isolated"),
    ],
)
def test_series_response_slices_match_the_image_loaders(  # type: ignore[no-untyped-def]
    page, live_url, radiologist, stored_as, rle_copy, isolated, request, settings, tmp_path
):
    """The series response's frames are decoded by the viewer itself, not by the image loader: the same
    slice, in the same default window, must look the same either way, to the grey level; for signed
    values and for 12-bit unsigned ones (which the viewer offsets in place in one pass), sent as stored
    or from the series' RLE copy (which the viewer decodes in WebAssembly); through memory shared with
    the loading worker on a cross-origin isolated page, and through moved buffers where the page is not
    isolated (switched off here as a deployment may, or inside another site's frame)."""
    settings.VIEWER_CROSS_ORIGIN_ISOLATION = isolated
    settings.PACS_CACHE_ROOT = tmp_path / "cache"
    study_uid = request.getfixturevalue(stored_as)
    if rle_copy:
        for series_id in Series.objects.filter(study__study_instance_uid=study_uid).values_list("pk", flat=True):
            assert series_copy_build(series_id=series_id) is not None
    series_types: list[str] = []
    page.on(
        "response",
        lambda response: series_types.append(response.headers.get("content-type", ""))
        if response.url.endswith("/pixeldata")
        else None,
    )
    open_viewer(page, live_url, study_uid)
    assert page.evaluate("() => window.crossOriginIsolated") is isolated
    from_series, window = _middle_slice_once_prefetched(page)
    expected_type = "image/dicom-rle" if rle_copy else "application/octet-stream"
    assert len(series_types) == 1 and f'type="{expected_type}"' in series_types[0], series_types
    page.route("**/pixeldata", lambda route: route.fulfill(status=404, body="not here"))
    page.reload()
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    from_loader, loader_window = _middle_slice_once_prefetched(page)
    assert window == loader_window
    # A narrow default window (the brain's): one Hounsfield unit off shows as several grey levels.
    width = re.search(r"W: (\d+)", window)
    assert width is not None and int(width.group(1)) <= 100, window
    assert from_series.shape == from_loader.shape
    assert from_series.std() > 10  # an image, not a blank viewport
    assert np.abs(from_series - from_loader).max() <= 1


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_first_image_decoded_by_the_page_matches_the_image_loaders(
    page, live_url, radiologist, ingest, org_alpha, name
):  # type: ignore[no-untyped-def]
    """The first image of an uncompressed 16-bit grey series is fetched and decoded by the page itself
    (its own fetch, not the image loader's request): drawn, it must match the loader's image of the same
    frame to the grey level, for a rescaled CT without a stored window (the window comes from the
    decoded range) and for an MR with one."""
    study_uid = ingest(org_alpha, PYDICOM_TEST_FILES / name)[0].study_instance_uid
    frame_requests: list[str] = []

    def frame_request_seen(request: Request) -> None:
        if "/frames/" in request.url:
            frame_requests.append(request.resource_type)

    def page_fetch_refused(route: Route) -> None:
        if route.request.resource_type == "fetch":
            route.fulfill(status=503, body="busy")
        else:
            route.fallback()

    page.on("request", frame_request_seen)
    login(page, live_url, f"/viewer?StudyInstanceUIDs={study_uid}")
    by_page, by_page_window = _first_image(page)
    assert frame_requests == ["fetch"], frame_requests
    # The page's own request refused: the image loader makes the image, with a request of its own.
    frame_requests.clear()
    page.route("**/frames/*", page_fetch_refused)
    page.reload()
    by_loader, by_loader_window = _first_image(page)
    assert frame_requests == ["fetch", "xhr"], frame_requests
    by_page.save(screenshot_path(f"viewer-first-image-{name.removesuffix('.dcm')}"))
    assert by_page_window == by_loader_window
    assert by_page.grey.shape == by_loader.grey.shape
    assert np.abs(by_page.grey - by_loader.grey).max() <= 1


def _first_image(page: Page) -> tuple[Canvas, str]:
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    canvas_until(page, lambda canvas: canvas.grey.std() > 10)
    page.wait_for_timeout(300)  # a render still queued would otherwise be read half-way
    return canvas_read(page), page.locator(".overlay-br").inner_text()


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "SC_rgb_jpeg_gdcm.dcm",  # JPEG Lossless, first-order prediction
        "SC_rgb_jpeg_dcmtk.dcm",
    ],
)
def test_compressed_studies_arrive_single_part_and_draw(page, live_url, radiologist, ingest, org_alpha, name):  # type: ignore[no-untyped-def]
    """The viewer asks for each frame as a single part payload in its stored syntax and decodes it."""
    study_uid = ingest(org_alpha, PYDICOM_TEST_FILES / name)[0].study_instance_uid
    frame_types: list[str] = []
    metadata_requests: list[str] = []
    page.on("request", lambda request: metadata_requests.append(request.url) if "/metadata" in request.url else None)
    page.on(
        "response",
        lambda response: frame_types.append(response.headers.get("content-type", ""))
        if "/frames/" in response.url
        else None,
    )
    login(page, live_url, f"/viewer?StudyInstanceUIDs={study_uid}")
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    drawn = canvas_until(page, lambda canvas: canvas.grey.max() > 60)
    drawn.save(screenshot_path(f"viewer-{name.removesuffix('.dcm')}"))
    stored_syntax = str(pydicom.dcmread(PYDICOM_TEST_FILES / name).file_meta.TransferSyntaxUID)
    assert frame_types and all(
        value == f"application/octet-stream; transfer-syntax={stored_syntax}" for value in frame_types
    ), frame_types
    # The page's own early request for the study metadata (viewer.html) is the one its script takes, not
    # a second one: the script took it out of the page's table of early requests.
    metadata_url = f"{live_url}/dicomweb/studies/{study_uid}/metadata"
    assert metadata_requests == [metadata_url], metadata_requests
    assert page.evaluate("() => window.pacsMetadataPreloads.size") == 0


def _as_new_study(name: str) -> bytes:
    """A pydicom test file under new UIDs, its pixel data as stored: the same image in several syntaxes
    can then be held side by side in the archive."""
    ds = pydicom.dcmread(PYDICOM_TEST_FILES / name)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_lossless_codecs_draw_the_very_pixels_of_the_uncompressed_image(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    """MR_small stored uncompressed, as RLE, JPEG 2000 lossless and JPEG-LS lossless: each decoded in the
    viewer's workers and drawn, pixel for pixel, as the uncompressed one."""
    names = ["MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"]
    studies = {name: ingest(org_alpha, _as_new_study(name))[0].study_instance_uid for name in names}
    drawn: dict[str, Canvas] = {}
    for index, name in enumerate(names):
        if index == 0:
            login(page, live_url, f"/viewer?StudyInstanceUIDs={studies[name]}")
        else:
            page.goto(f"{live_url}/viewer?StudyInstanceUIDs={studies[name]}")
        expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
        drawn[name] = canvas_until(page, lambda canvas: canvas.grey.std() > 10)
    for name in names[1:]:
        assert np.array_equal(drawn[name].rgb, drawn[names[0]].rgb), f"{name} is not drawn as the uncompressed image"
