"""The viewer's reading features in a real browser: cine, MPR, localisation and reference lines, priors with
synchronised viewports, a linked second window, key images for the report, the tag browser and touch.

Every check ends on pixels (canvas reads or screenshots of the viewport with its SVG layer), not only on
the DOM.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, XRayAngiographicImageStorage, generate_uid

from pacs.synthetic import ct_series
from tests.browser.conftest import PHANTOM_SIZE, PHANTOM_SLICES, WANG, screenshot_path
from tests.browser.pixels import canvas_read, canvas_until, viewport_shot
from tests.browser.viewer_page import login, zoom_in

pytestmark = pytest.mark.live
CINE_FRAMES = 12


def viewer_open(page: Page, live_url: str, query: str, first_overlay: str) -> None:
    login(page, live_url, f"/viewer?{query}")
    expect(page).to_have_url(re.compile(r"/viewer\?"))
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.locator(".overlay-bl").first).to_contain_text(first_overlay, timeout=30_000)


def different(a: np.ndarray, b: np.ndarray, threshold: float = 3.0) -> bool:
    return a.shape == b.shape and float(np.abs(a.astype(float) - b.astype(float)).mean()) > threshold


def _part10(ds: Dataset) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def angiography_clip(frames: int = CINE_FRAMES, size: int = 128) -> bytes:
    """A multi-frame XA clip: a bright disc that moves across the image, one step per frame."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = XRayAngiographicImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = "Li^Lei", "P-2002"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20241101", "100000", "ACC-XA-1"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "XA", 1, 1
    ds.StudyDescription, ds.SeriesDescription = "DSA", "Run 1"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = frames
    ds.FrameTime, ds.CineRate = 200.0, 5
    ds.FrameIncrementPointer = 0x00181063
    ds.WindowCenter, ds.WindowWidth = 128, 256
    y, x = np.mgrid[0:size, 0:size]
    clip = np.zeros((frames, size, size), dtype=np.uint8)
    for frame in range(frames):
        cx = 16 + frame * (size - 32) / max(frames - 1, 1)
        clip[frame][(x - cx) ** 2 + (y - size / 2) ** 2 <= 12**2] = 250
    ds.PixelData = clip.tobytes()
    return _part10(ds)


def test_cine_plays_a_multiframe_clip_and_pauses(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    stored = ingest(org_alpha, angiography_clip())
    viewer_open(page, live_url, f"StudyInstanceUIDs={stored[0].study_instance_uid}", f"1 / {CINE_FRAMES}")
    first = canvas_until(page, lambda canvas: canvas.grey.max() > 150)
    # The clip's own Cine Rate (5 frames/s) is the starting rate; the control changes it.
    expect(page.locator("input.cine-fps")).to_have_value("5")
    page.fill("input.cine-fps", "8")
    page.keyboard.press("Enter")
    page.keyboard.press("c")
    expect(page.locator("button.cine-play")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.pacsViewer.cineState()") == {"playing": True, "fps": 8}

    # While playing, the disc is drawn at several places: the canvas keeps changing.
    seen = [first.grey]
    for _ in range(12):
        page.wait_for_timeout(150)
        grey = canvas_read(page).grey
        if all(different(grey, other, 0.5) for other in seen):
            seen.append(grey)
    assert len(seen) >= 4, f"only {len(seen)} distinct frames were drawn while playing"
    canvas_read(page).save(screenshot_path("viewer-cine-playing"))

    # The bracket key speeds it up; "c" pauses and the image stays put.
    page.keyboard.press("]")
    expect(page.locator("input.cine-fps")).to_have_value("9")
    page.keyboard.press("c")
    expect(page.locator("button.cine-play")).to_have_attribute("aria-pressed", "false")
    paused = canvas_until(page, lambda canvas: True)
    for _ in range(10):  # a frame already on its way when the pause came may still land
        page.wait_for_timeout(300)
        now = canvas_read(page)
        if not different(now.grey, paused.grey, 0.1):
            break
        paused = now
    page.wait_for_timeout(800)
    assert not different(canvas_read(page).grey, paused.grey, 0.1), "the image changed after pausing"


def test_mpr_shows_three_orientations_and_crosshairs_move_them(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    stored = ingest(org_alpha, *ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    viewer_open(page, live_url, f"StudyInstanceUIDs={stored[0].study_instance_uid}", f"1 / {PHANTOM_SLICES}")
    page.keyboard.press("m")
    expect(page.locator(".viewport-grid")).to_have_attribute("data-mode", "mpr", timeout=15_000)
    expect(page.locator(".viewport-cell")).to_have_count(3)
    expect(page.locator("button.mpr-toggle")).to_have_attribute("aria-pressed", "true")

    views = [canvas_until(page, lambda canvas: canvas.grey.max() > 100, timeout=40, index=i) for i in range(3)]
    for name, canvas in zip(("axial", "sagittal", "coronal"), views, strict=True):
        canvas.save(screenshot_path(f"viewer-mpr-{name}"))
    # The phantom is an ellipsoid of different radii along x, y and z: each plane draws a different shape.
    masks = [canvas.grey > 20 for canvas in views]
    extents = [(int(mask.any(axis=0).sum()), int(mask.any(axis=1).sum())) for mask in masks]
    assert len(set(extents)) == 3, f"the three views should differ in shape, got extents {extents}"
    assert different(views[1].grey, views[2].grey), "sagittal and coronal should not be the same image"

    # A click in the axial view off the crosshair lines moves the centre there: the other two follow.
    axial = views[0]
    height, width = axial.grey.shape
    target = axial.page_point(width * 0.5 + width * 0.12, height * 0.5 - height * 0.2)
    page.mouse.click(*target)
    sagittal = canvas_until(page, lambda canvas: different(canvas.grey, views[1].grey), index=1)
    coronal = canvas_until(page, lambda canvas: different(canvas.grey, views[2].grey), index=2)
    sagittal.save(screenshot_path("viewer-mpr-sagittal-moved"))
    coronal.save(screenshot_path("viewer-mpr-coronal-moved"))

    # Window/level on the left button instead of the crosshairs: dragging down darkens the axial view.
    page.keyboard.press("w")
    expect(page.locator("button.tool[data-tool=windowLevel]")).to_have_attribute("aria-pressed", "true")
    axial_now = canvas_until(page, lambda canvas: True, index=0)
    start = axial.page_point(width * 0.3, height * 0.3)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0], start[1] + 150, steps=10)
    page.mouse.up()
    canvas_until(page, lambda canvas: canvas.mean < axial_now.mean - 5, index=0)

    # Back to the stack, and into MPR again: the cached volume is shown at once.
    page.click("button.mpr-toggle")
    expect(page.locator(".viewport-grid")).to_have_attribute("data-mode", "stack")
    expect(page.locator(".overlay-bl").first).to_contain_text(f"/ {PHANTOM_SLICES}")
    page.keyboard.press("m")
    expect(page.locator(".viewport-grid")).to_have_attribute("data-mode", "mpr")
    again = canvas_until(page, lambda canvas: canvas.grey.max() > 100, index=2)
    assert different(again.grey, views[1].grey), "the coronal view should not show the sagittal image"


def coronal_reformat(axial: list[bytes]) -> list[bytes]:
    """A coronal series of the same frame of reference, built from the axial slices' pixels."""
    from pydicom import dcmread

    datasets = [dcmread(io.BytesIO(item)) for item in axial]
    volume = np.stack([ds.pixel_array for ds in datasets])  # z, y, x
    first = datasets[0]
    spacing = float(first.PixelSpacing[0])
    thickness = float(datasets[1].ImagePositionPatient[2]) - float(first.ImagePositionPatient[2])
    series_uid = generate_uid()
    out = []
    for number, row in enumerate(range(8, volume.shape[1] - 8, 8)):
        ds = Dataset()
        for keyword in (
            "SpecificCharacterSet PatientName PatientID PatientBirthDate PatientSex StudyInstanceUID StudyDate "
            "StudyTime AccessionNumber StudyDescription Modality FrameOfReferenceUID SamplesPerPixel "
            "PhotometricInterpretation BitsAllocated BitsStored HighBit PixelRepresentation RescaleIntercept "
            "RescaleSlope WindowCenter WindowWidth SOPClassUID"
        ).split():
            setattr(ds, keyword, getattr(first, keyword))
        ds.SOPInstanceUID = generate_uid()
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber, ds.InstanceNumber, ds.SeriesDescription = 3, number + 1, "Coronal reformat"
        # Rows run from the top of the head down (−z), columns along +x.
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
        top = float(datasets[-1].ImagePositionPatient[2])
        ds.ImagePositionPatient = [-110.0, -110.0 + row * spacing, top]
        ds.PixelSpacing = [thickness, spacing]
        ds.SliceThickness = spacing * 8
        image = volume[::-1, row, :]
        ds.Rows, ds.Columns = image.shape
        ds.PixelData = np.ascontiguousarray(image).astype(np.int16).tobytes()
        out.append(_part10(ds))
    return out


def test_locate_moves_the_other_series_and_reference_lines_are_drawn(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    axial = list(ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    stored = ingest(org_alpha, *axial, *coronal_reformat(axial))
    viewer_open(page, live_url, f"StudyInstanceUIDs={stored[0].study_instance_uid}", f"1 / {PHANTOM_SLICES}")
    page.select_option("select.layouts", label="1×2")
    expect(page.locator(".viewport-cell")).to_have_count(2)
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-bl")).to_contain_text("1 / 30")
    before = canvas_until(page, lambda canvas: True, index=0)

    # Locate on the coronal image, two thirds of the way up the head: the axial view goes to that height.
    page.locator(".viewport-cell").nth(1).click(position={"x": 20, "y": 20}, button="middle")
    page.keyboard.press("PageDown")
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-bl")).to_contain_text("11 / 30")
    coronal = canvas_until(page, lambda canvas: canvas.grey.max() > 50, index=1)
    height, width = coronal.grey.shape
    column = np.flatnonzero(coronal.grey[:, width // 2] > 20)
    top, bottom = column[0], column[-1]
    row = top + (bottom - top) / 3
    page.keyboard.press("x")
    page.mouse.click(*coronal.page_point(width / 2, row))
    axial_overlay = page.locator(".viewport-cell").nth(0).locator(".overlay-bl")
    expect(axial_overlay).not_to_contain_text(f"1 / {PHANTOM_SLICES}")
    index = int(re.search(r"(\d+) / ", axial_overlay.inner_text()).group(1))  # type: ignore[union-attr]
    # The point lies a third of the way down from the top of the skull (phantom z from 0.85 to -0.85):
    # the nearest axial slice is the one at that height.
    z = 0.85 - 1.7 / 3
    expected = (z + 1) * PHANTOM_SLICES / 2 - 0.5 + 1
    assert abs(index - expected) <= 3, f"axial slice {index}, expected about {expected:.0f}"
    moved = canvas_until(page, lambda canvas: different(canvas.grey, before.grey), index=0)
    moved.save(screenshot_path("viewer-locate-axial"))
    expect(page.locator(".viewport-cell").nth(0).locator(".locate-marker")).to_be_visible()
    expect(page.locator(".viewport-cell").nth(1).locator(".locate-marker")).to_be_visible()

    # Reference lines: the axial slice's plane crosses the coronal image as a horizontal line.
    page.locator(".viewport-cell").nth(0).click(position={"x": 20, "y": 20}, button="middle")
    plain = viewport_shot(page, 1)
    page.keyboard.press("n")
    expect(page.locator("button.reference-lines")).to_have_attribute("aria-pressed", "true")
    # The line is drawn with the next render of the coronal view: looked for until it is there.
    for _ in range(50):
        page.wait_for_timeout(200)
        lined = viewport_shot(page, 1)
        changed = np.abs(lined.astype(int) - plain.astype(int)).sum(axis=2) > 60
        rows = np.flatnonzero(changed.sum(axis=1) > changed.shape[1] * 0.3)
        if rows.size > 0:
            break
    Image.fromarray(lined).save(screenshot_path("viewer-reference-lines"))
    assert rows.size > 0, "no reference line was drawn across the coronal view"


def test_prior_opens_beside_and_window_zoom_and_slice_sync_follow(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    current = ingest(org_alpha, *ct_series(WANG, slices=20, size=128, accession="ACC-NEW", study_date="20250301"))
    prior = ingest(org_alpha, *ct_series(WANG, slices=20, size=128, accession="ACC-OLD", study_date="20240105"))
    viewer_open(page, live_url, f"StudyInstanceUIDs={current[0].study_instance_uid}", "1 / 20")
    priors = page.locator("select.priors")
    expect(priors.locator("option")).to_have_count(2)
    expect(priors.locator("option").nth(1)).to_contain_text("2024-01-05")
    priors.select_option(prior[0].study_instance_uid)
    expect(page.locator(".viewport-cell")).to_have_count(2)
    expect(page.locator(".viewport-cell").nth(1)).to_have_attribute("data-series", prior[0].series_instance_uid)
    page.keyboard.press("End")
    expect(page.locator(".viewport-cell").nth(0).locator(".overlay-bl")).to_contain_text("20 / 20")
    page.locator(".viewport-cell").nth(1).click(position={"x": 30, "y": 30}, button="middle")
    page.keyboard.press("Home")
    page.keyboard.press("PageDown")
    prior_before = canvas_until(page, lambda canvas: canvas.grey.max() > 50, index=1)

    # Window sync on: a preset in the current study's viewport re-windows the prior.
    page.click("button.sync[data-sync=voi]")
    page.click("button.sync[data-sync=slice]")
    page.locator(".viewport-cell").nth(0).click(position={"x": 30, "y": 30}, button="middle")
    page.keyboard.press("3")
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-br")).to_contain_text("W: 1800 L: 400")
    # Slice sync on: scrolling the current study moves the prior to the same position.
    page.keyboard.press("Home")
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-bl")).to_contain_text("1 / 20")
    after = canvas_until(page, lambda canvas: different(canvas.grey, prior_before.grey), index=1)
    after.save(screenshot_path("viewer-prior-synced"))

    # Sync off: the prior keeps its window.
    page.click("button.sync[data-sync=voi]")
    page.keyboard.press("1")
    expect(page.locator(".viewport-cell").nth(0).locator(".overlay-br")).to_contain_text("W: 80 L: 40")
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-br")).to_contain_text("W: 1800 L: 400")

    # Zoom/pan sync on: zooming the current study zooms the prior with it.
    page.keyboard.press("PageDown")
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-bl")).to_contain_text("11 / 20")
    prior_plain = canvas_until(page, lambda canvas: canvas.grey.max() > 50, index=1)
    head_share = float((prior_plain.grey > 50).mean())
    page.click("button.sync[data-sync=zoomPan]")
    zoom_in(page, 0)
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-br")).not_to_contain_text("Zoom: 100%")
    zoomed = canvas_until(page, lambda canvas: float((canvas.grey > 50).mean()) > head_share * 1.3, index=1)
    zoomed.save(screenshot_path("viewer-prior-zoom-synced"))
    # Off: resetting the current study leaves the prior as it is.
    page.click("button.sync[data-sync=zoomPan]")
    page.keyboard.press("Space")
    expect(page.locator(".viewport-cell").nth(0).locator(".overlay-br")).to_contain_text("Zoom: 100%")
    expect(page.locator(".viewport-cell").nth(1).locator(".overlay-br")).not_to_contain_text("Zoom: 100%")


def test_second_window_follows_slice_and_window(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    stored = ingest(org_alpha, *ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    prior = ingest(
        org_alpha, *ct_series(WANG, slices=10, size=128, accession="ACC-OLD", study_date="20230101", extent=0.5)
    )
    viewer_open(page, live_url, f"StudyInstanceUIDs={stored[0].study_instance_uid}", f"1 / {PHANTOM_SLICES}")
    with page.context.expect_page() as opened:
        page.click("button.second-screen")
    second = opened.value
    expect(second.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(second.locator(".overlay-tl")).to_contain_text("P-1001")
    second_before = canvas_until(second, lambda canvas: True)

    page.bring_to_front()
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    page.keyboard.press("PageDown")
    expect(second.locator(".overlay-bl")).to_contain_text(f"31 / {PHANTOM_SLICES}")
    followed = canvas_until(second, lambda canvas: canvas.mean > second_before.mean + 5)
    page.keyboard.press("3")
    expect(second.locator(".overlay-br")).to_contain_text("W: 1800 L: 400")
    windowed = canvas_until(second, lambda canvas: different(canvas.grey, followed.grey))
    windowed.save(screenshot_path("viewer-second-window"))

    # A prior opened in the first window is hung beside the study in the second one too.
    page.locator("select.priors").select_option(prior[0].study_instance_uid)
    expect(second.locator(".viewport-cell")).to_have_count(2)
    expect(second.locator(".viewport-cell").nth(1)).to_have_attribute("data-series", prior[0].series_instance_uid)
    canvas_until(second, lambda canvas: canvas.grey.max() > 50, index=1)
    page.locator(".viewport-cell").nth(0).click(position={"x": 30, "y": 30}, button="middle")

    # The layout change kept each window's slice. Unlinked, the second window stays where it is.
    expect(second.locator(".overlay-bl").first).to_contain_text(f"31 / {PHANTOM_SLICES}")
    page.click("button.sync[data-sync=windows]")
    page.keyboard.press("Home")
    expect(page.locator(".overlay-bl").first).to_contain_text(f"1 / {PHANTOM_SLICES}")
    page.wait_for_timeout(700)
    expect(second.locator(".overlay-bl").first).to_contain_text(f"31 / {PHANTOM_SLICES}")
    second.close()


def test_key_image_is_posted_to_the_report(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    from reporting.files import file_read
    from reporting.models import KeyImage
    from reporting.services.reports import report_get_or_create
    from ris.models import Exam, ExamStatus, Procedure
    from ris.models import Patient as RisPatient
    from ris.services.exams import OrderData, order_create

    stored = ingest(org_alpha, *ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    patient = RisPatient.objects.create(organization=org_alpha, patient_id="P-1001", name="王小明", sex="M")
    procedure = Procedure.objects.create(
        organization=org_alpha, code="CT-HEAD", name="CT 头颅平扫", modality="CT", body_part="HEAD"
    )
    order = order_create(
        organization=org_alpha,
        patient=patient,
        data=OrderData(procedure=procedure, body_part="HEAD", requesting_department="神经内科"),
        source="desk",
        by=None,
    )
    Exam.objects.filter(pk=order.exam_id).update(status=ExamStatus.COMPLETED)
    report = report_get_or_create(exam=Exam.objects.get(pk=order.exam_id), by=radiologist)

    study_uid = stored[0].study_instance_uid
    viewer_open(page, live_url, f"StudyInstanceUIDs={study_uid}&report={report.pk}", f"1 / {PHANTOM_SLICES}")
    page.keyboard.press("End")
    page.keyboard.press("PageUp")
    page.keyboard.press("PageUp")
    page.keyboard.press("PageUp")
    expect(page.locator(".overlay-bl")).to_contain_text(f"{PHANTOM_SLICES - 30} / {PHANTOM_SLICES}")
    shown = canvas_until(page, lambda canvas: canvas.grey.max() > 100)
    # A length drawn on the image is part of the key image, in pixels and as measurement JSON.
    height, width = shown.grey.shape
    page.keyboard.press("l")
    page.mouse.move(*shown.page_point(width * 0.3, height * 0.5))
    page.mouse.down()
    page.mouse.move(*shown.page_point(width * 0.7, height * 0.5), steps=8)
    page.mouse.up()
    expect(page.locator(".measurements-list li[data-tool=Length]")).to_have_count(1)

    captured = page.evaluate("window.pacsViewer.captureKeyImage()")
    assert captured["study_instance_uid"] == study_uid
    assert captured["sop_instance_uid"] == stored[PHANTOM_SLICES - 31].sop_instance_uid
    assert captured["frame"] == 1
    assert [item["metadata"]["toolName"] for item in captured["annotations"]] == ["Length"]
    png = np.asarray(Image.open(io.BytesIO(base64.b64decode(captured["png"].split(",", 1)[1]))).convert("RGB"))
    Image.fromarray(png).save(screenshot_path("viewer-key-image"))
    # The annotation layer is drawn in: coloured pixels along the line, none in the grey image alone.
    colour = (png.max(axis=2).astype(int) - png.min(axis=2).astype(int)) > 60
    assert colour[int(png.shape[0] * 0.5) - 4 : int(png.shape[0] * 0.5) + 5].sum() > png.shape[1] * 0.2

    page.evaluate("""() => { window.__keyImageMessages = [];
        window.addEventListener('message', (event) => window.__keyImageMessages.push(event.data)); }""")
    page.click("button.key-image")
    expect(page.locator(".viewer-status")).to_contain_text("Key image added to the report.")
    # A posted message arrives in a task of its own, which may follow the status line.
    page.wait_for_function("window.__keyImageMessages.length > 0", timeout=5_000)
    assert page.evaluate("window.__keyImageMessages") == [{"type": "pacs:key-image-added"}]
    saved = KeyImage.objects.get(report=report)
    assert saved.sop_instance_uid == captured["sop_instance_uid"]
    assert saved.annotations[0]["metadata"]["toolName"] == "Length"
    stored_png = np.asarray(Image.open(io.BytesIO(file_read(saved.png_path))).convert("RGB"))
    assert stored_png.shape == png.shape


def test_tag_browser_lists_and_filters_the_current_image(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    stored = ingest(org_alpha, *ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    viewer_open(page, live_url, f"StudyInstanceUIDs={stored[0].study_instance_uid}", f"1 / {PHANTOM_SLICES}")
    before = canvas_until(page, lambda canvas: canvas.grey.max() < 30)  # the first slice: air only
    page.keyboard.press("g")
    browser = page.locator(".tag-browser")
    expect(browser).to_be_visible()
    expect(browser.locator("tr", has_text="(0010,0020)")).to_contain_text("P-1001")
    expect(browser.locator("tr", has_text="(0010,0020)")).to_contain_text("PatientID")
    page.fill(".tag-search", "sop instance")
    visible = browser.locator("tbody tr:visible")
    expect(visible).to_have_count(1)
    expect(visible).to_contain_text(stored[0].sop_instance_uid)
    # Another image shown: the browser follows it.
    page.locator(".viewport-cell").first.click(position={"x": 20, "y": 20}, button="middle")
    page.keyboard.press("End")
    page.keyboard.press("PageUp")
    page.keyboard.press("PageUp")
    expect(page.locator(".overlay-bl")).to_contain_text(f"40 / {PHANTOM_SLICES}")
    expect(visible).to_contain_text(stored[39].sop_instance_uid)
    # The image shown is a slice through the head, not the first one's air.
    canvas_until(page, lambda canvas: canvas.grey.max() > 50 and canvas.grey.shape[0] == before.grey.shape[0])
    page.screenshot(path=str(screenshot_path("viewer-tag-browser")))


def gesture(page: Page, frames: list[list[tuple[float, float]]]) -> None:
    """A touch gesture through CDP: start at the first frame's points, move through the rest, lift."""
    session = page.context.new_cdp_session(page)

    def send(kind: str, points: list[tuple[float, float]]) -> None:
        touch_points = [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})

    send("touchStart", frames[0])
    for points in frames[1:]:
        send("touchMove", points)
        page.wait_for_timeout(16)
    send("touchEnd", [])
    session.detach()


def test_touch_scrolls_windows_and_pinch_zooms_on_a_phone(browser, live_url, radiologist, ingest, org_alpha, request):  # type: ignore[no-untyped-def]
    from tests.conftest import ARTIFACTS

    stored = ingest(org_alpha, *ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    context = browser.new_context(
        viewport={"width": 390, "height": 780}, has_touch=True, is_mobile=True, locale="en-US"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        viewer_open(page, live_url, f"StudyInstanceUIDs={stored[0].study_instance_uid}", f"1 / {PHANTOM_SLICES}")
        box = page.locator(".viewport-element").first.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 300, (
            f"the image is too small on a phone: {box}"
        )
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        first = canvas_until(page, lambda canvas: True)

        # One finger (scroll mode): dragging down pages through the slices.
        gesture(page, [[(cx, cy - 120 + step * 16)] for step in range(16)])
        expect(page.locator(".overlay-bl")).not_to_contain_text(f"1 / {PHANTOM_SLICES}")
        scrolled = canvas_until(page, lambda canvas: different(canvas.grey, first.grey))

        # One finger in window mode changes the window, not the slice.
        slice_text = page.locator(".overlay-bl").inner_text().splitlines()[0]
        page.select_option("select.touch-mode", "windowLevel")
        gesture(page, [[(cx + step * 10, cy + step * 12)] for step in range(10)])
        expect(page.locator(".overlay-br")).not_to_contain_text("W: 80 L: 40")
        assert page.locator(".overlay-bl").inner_text().splitlines()[0] == slice_text
        windowed = canvas_until(page, lambda canvas: different(canvas.grey, scrolled.grey))

        # Two fingers spreading apart zoom in.
        gesture(page, [[(cx - 30 - step * 10, cy), (cx + 30 + step * 10, cy)] for step in range(10)])
        expect(page.locator(".overlay-br")).not_to_contain_text("Zoom: 100%")
        zoomed = canvas_until(page, lambda canvas: different(canvas.grey, windowed.grey))
        zoomed.save(screenshot_path("viewer-touch-zoomed"))
    finally:
        page.screenshot(path=str(ARTIFACTS / "browser" / f"{request.node.name}-final.png"))
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def test_first_image_does_not_wait_for_the_mpr_code(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    stored = ingest(org_alpha, *ct_series(WANG, slices=20, size=128, accession="ACC-CT-1"))
    scripts: list[str] = []
    page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
    viewer_open(page, live_url, f"StudyInstanceUIDs={stored[0].study_instance_uid}", "1 / 20")
    assert canvas_read(page).grey.size > 0
    assert not [url for url in scripts if "mprViewports" in url], "the MPR code loaded with the first image"
    page.keyboard.press("m")
    expect(page.locator(".viewport-grid")).to_have_attribute("data-mode", "mpr", timeout=15_000)
    assert [url for url in scripts if "mprViewports" in url]
