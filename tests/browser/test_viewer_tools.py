"""The viewer's image tools on the head phantom, checked on the canvas: flip, pan and fit; the region,
angle and probe measurements against the phantom's own values; the scrollbar; the shortcut help.

Where a check needs to know where the phantom lies on the canvas, it finds the skull in the pixels
(``Placement``) rather than assuming how Cornerstone fits the image.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from pacs.synthetic import mr_series
from tests.browser.conftest import PHANTOM_SIZE, PHANTOM_SLICES, WANG, screenshot_path
from tests.browser.pixels import Canvas, canvas_read, canvas_until
from tests.browser.viewer_page import MIDDLE, drag, go_to_middle_slice, go_to_slice, open_viewer, zoom_in
from tests.conftest import wait_until
from viewer.models import Measurement

pytestmark = pytest.mark.live

# The phantom (pacs.synthetic._HEAD) in its own units, x and y from -1 to 1 across the image: the skull's
# outer radii, and the 70 HU lesion right of the midline and to the front, which only some slices cross.
SKULL_RADIUS_X, SKULL_RADIUS_Y = 0.72, 0.9
LESION_SLICE = 36
# One phantom unit in millimetres: the image's 256 pixels of 220/256 mm span two units, pixel centre to
# pixel centre (numpy.mgrid from -1 to 1).
MM_PER_UNIT = (PHANTOM_SIZE - 1) / 2 * 220.0 / PHANTOM_SIZE


@dataclass
class Placement:
    """Where the phantom's units lie on a canvas: its centre and the canvas pixels per unit."""

    centre_column: float
    centre_row: float
    pixels_per_unit: float

    @classmethod
    def of(cls, canvas: Canvas) -> Placement:
        """From the skull's outer edges on the centre row and column (bone bright in the brain window)."""
        rows, columns = canvas.grey.shape
        across = np.flatnonzero(canvas.grey[rows // 2] > 200)
        down = np.flatnonzero(canvas.grey[:, columns // 2] > 200)
        left, right = across[0] - 0.5, across[-1] + 0.5
        top, bottom = down[0] - 0.5, down[-1] + 0.5
        per_unit_x = (right - left) / (2 * SKULL_RADIUS_X)
        per_unit_y = (bottom - top) / (2 * SKULL_RADIUS_Y)
        assert per_unit_x == pytest.approx(per_unit_y, rel=0.03), "the phantom should be drawn with square pixels"
        return cls((left + right) / 2, (top + bottom) / 2, (per_unit_x + per_unit_y) / 2)

    def page_point(self, canvas: Canvas, x: float, y: float) -> tuple[float, float]:
        """The page position of the phantom point (x, y)."""
        return canvas.page_point(
            self.centre_column + x * self.pixels_per_unit, self.centre_row + y * self.pixels_per_unit
        )

    def mm(self, units: float) -> float:
        return units * MM_PER_UNIT


def brain_window_slice(page: Page, number: int) -> Canvas:
    """Slice ``number`` in the brain window, once drawn: skull white, brain grey, lesion light."""
    go_to_slice(page, number)
    page.keyboard.press("1")
    expect(page.locator(".overlay-br")).to_contain_text("W: 80 L: 40")
    return canvas_until(page, lambda canvas: canvas.grey.max() > 240)


def mean_difference(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    difference = np.abs(a.astype(float) - b.astype(float))
    return float(difference[where].mean() if where is not None else difference.mean())


def skull_centre(canvas: Canvas) -> tuple[float, float]:
    rows, columns = np.nonzero(canvas.grey > 240)
    return float(columns.mean()), float(rows.mean())


def flip_checked(page: Page, upright: Canvas, key: str, mirror, name: str) -> Canvas:  # type: ignore[no-untyped-def]
    """Press ``key`` and check that the canvas becomes ``upright`` mirrored by ``mirror``.

    The phantom is symmetric both ways but for the lesion: where the image and its mirror image differ
    is the lesion and the place its mirror image falls, and only there can a flip be seen.
    """
    mirrored = mirror(upright.grey)
    lesion = np.abs(upright.grey - mirrored) > 60
    assert lesion.sum() > 200, "the lesion should show on this slice"
    assert np.median(np.abs(upright.grey - mirrored)) <= 2, "the rest of the phantom should be symmetric"
    page.keyboard.press(key)
    flipped = canvas_until(page, lambda canvas: mean_difference(canvas.grey, mirrored, lesion) < 20)
    flipped.save(screenshot_path(name))
    assert np.median(np.abs(flipped.grey - mirrored)) <= 2
    assert mean_difference(flipped.grey, upright.grey, lesion) > 60, "the lesion should have moved across"
    return flipped


def test_flip_pan_and_fit_move_the_pixels(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    upright = brain_window_slice(page, LESION_SLICE)
    upright.save(screenshot_path("viewer-lesion-slice"))
    flip_checked(page, upright, "h", np.fliplr, "viewer-flipped-horizontally")
    page.keyboard.press("h")
    canvas_until(page, lambda canvas: mean_difference(canvas.grey, upright.grey) < 1)
    flipped = flip_checked(page, upright, "v", np.flipud, "viewer-flipped-vertically")
    upside_down = np.flipud(upright.grey)
    lesions = np.abs(upright.grey - upside_down) > 60

    # Pan: the skull follows the mouse, by as many pixels as it moved.
    page.keyboard.press("p")
    start_column, start_row = skull_centre(flipped)
    origin = flipped.page_point(flipped.grey.shape[1] / 2, flipped.grey.shape[0] / 2)
    drag(page, origin, (origin[0] + 120, origin[1] - 25))
    panned = canvas_until(page, lambda canvas: skull_centre(canvas)[0] > start_column + 60)
    panned.save(screenshot_path("viewer-panned"))
    column, row = skull_centre(panned)
    assert column - start_column == pytest.approx(120 / flipped.scale_x, abs=2)
    assert row - start_row == pytest.approx(-25 / flipped.scale_y, abs=2)

    # Zoomed in as well, then fitted: the whole image in the viewport again, still upside down.
    zoom_in(page)
    expect(page.locator(".overlay-br")).not_to_contain_text("Zoom: 100%")
    page.keyboard.press("f")
    expect(page.locator(".overlay-br")).to_contain_text("Zoom: 100%")
    fitted = canvas_until(page, lambda canvas: mean_difference(canvas.grey, upside_down, lesions) < 20)
    assert np.median(np.abs(fitted.grey - upside_down)) <= 2

    page.keyboard.press("Space")
    canvas_until(page, lambda canvas: mean_difference(canvas.grey, upright.grey) < 1)


def settled_text(page: Page, locator: Locator) -> str:
    """A measurement's text once it stops changing (its statistics follow the image's renders)."""
    previous = ""
    for _ in range(50):
        text = locator.inner_text()
        if text and text == previous and "—" not in text:
            return text
        previous = text
        page.wait_for_timeout(200)
    raise AssertionError(f"the measurement never settled: {previous!r}")


def region_values(text: str) -> tuple[float, str, float, float, str]:
    """Mean, its unit, SD, area and the area's unit from "Mean 35.0 HU, SD 0.0, Area 123.4 mm²"."""
    found = re.fullmatch(r"Mean (-?[\d.]+) (\S+), SD ([\d.]+), Area ([\d.]+) (\S+)", text)
    assert found, text
    return float(found[1]), found[2], float(found[3]), float(found[4]), found[5]


def measurement_value(page: Page, tool: str) -> Locator:
    return page.locator(f".measurements-list li[data-tool={tool}] .measurement-value")


def test_region_angle_and_probe_measure_the_phantom_in_hounsfield_units(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    canvas = brain_window_slice(page, MIDDLE + 1)
    place = Placement.of(canvas)
    # At this height the ventricles (5 HU) fill x from ±0.08 to ±0.24 and y from -0.23 to 0.33; the rest
    # inside the skull is brain (35 HU).

    # A rectangle over the front of the brain, clear of the ventricles.
    page.keyboard.press("r")
    drag(page, place.page_point(canvas, -0.2, -0.6), place.page_point(canvas, 0.2, -0.35))
    mean, unit, sd, area, area_unit = region_values(settled_text(page, measurement_value(page, "RectangleROI")))
    assert (mean, unit, sd, area_unit) == (35.0, "HU", 0.0, "mm²")
    assert area == pytest.approx(place.mm(0.4) * place.mm(0.25), rel=0.03)

    # An ellipse inside the right-hand ventricle, drawn from its centre out to a corner of its box.
    page.keyboard.press("e")
    drag(page, place.page_point(canvas, 0.16, 0.05), place.page_point(canvas, 0.2, 0.2))
    mean, unit, sd, area, area_unit = region_values(settled_text(page, measurement_value(page, "EllipticalROI")))
    assert (mean, unit, sd, area_unit) == (5.0, "HU", 0.0, "mm²")
    assert area == pytest.approx(math.pi * place.mm(0.04) * place.mm(0.15), rel=0.03)

    # The probe on the skull at the back of the head reads bone.
    page.keyboard.press("b")
    page.mouse.click(*place.page_point(canvas, 0.0, 0.87))
    assert settled_text(page, measurement_value(page, "Probe")) == "1000 HU"

    # An angle: press at the end of one arm and drag to the vertex, then click at the end of the other.
    # The arms point left, and up and to the left at 45°.
    page.keyboard.press("a")
    drag(page, place.page_point(canvas, -0.4, 0.1), place.page_point(canvas, 0.0, 0.1))
    page.mouse.move(*place.page_point(canvas, -0.3, -0.2), steps=8)
    page.mouse.click(*place.page_point(canvas, -0.3, -0.2))
    angle = settled_text(page, measurement_value(page, "Angle"))
    assert angle.endswith("°")
    assert float(angle.rstrip("°")) == pytest.approx(45.0, abs=1.0)
    page.screenshot(path=str(screenshot_path("viewer-measurements")))

    # Kept on the server for this user and study, and listed with the same values when it is reopened.
    shown = {
        tool: measurement_value(page, tool).inner_text() for tool in ("RectangleROI", "EllipticalROI", "Probe", "Angle")
    }
    wait_until(
        lambda: sorted(Measurement.objects.filter(user=radiologist).values_list("tool_name", flat=True))
        == sorted(shown)
    )
    page.reload()
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    for tool, text in shown.items():
        expect(measurement_value(page, tool)).to_have_count(1)
        assert settled_text(page, measurement_value(page, tool)) == text


def test_the_scrollbar_moves_through_the_series_and_follows_the_keys(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    air = canvas_until(page, lambda canvas: canvas.grey.max() < 30)
    scrollbar = page.locator(".viewport-cell .stack-scrollbar").first
    expect(scrollbar).to_have_value("0")
    box = scrollbar.bounding_box()
    assert box is not None and box["height"] > box["width"], "the scrollbar should stand along the viewport"

    # A click halfway down the bar: the middle of the series.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    overlay = page.locator(".overlay-bl").first
    expect(overlay).not_to_contain_text(f"Image: 1 / {PHANTOM_SLICES}")
    number = int(re.search(r"(\d+) / ", overlay.inner_text())[1])  # type: ignore[index]
    assert abs(number - (MIDDLE + 1)) <= 2, number
    head = canvas_until(page, lambda canvas: canvas.mean > air.mean + 10)
    head.save(screenshot_path("viewer-scrollbar-middle"))

    # Dragged to its end: the last slice, above the head.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] + 20, steps=10)
    page.mouse.up()
    expect(overlay).to_contain_text(f"{PHANTOM_SLICES} / {PHANTOM_SLICES}")
    canvas_until(page, lambda canvas: canvas.grey.max() < 30)

    # The keys move the bar with the image.
    page.locator(".viewport-element").first.click(button="middle")
    go_to_middle_slice(page)
    expect(scrollbar).to_have_value(str(MIDDLE))
    canvas_until(
        page, lambda canvas: mean_difference(canvas.grey, canvas_read(page).grey) < 1 and canvas.mean > air.mean + 10
    )


def test_the_help_lists_the_shortcuts_and_closes_with_escape(page, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    go_to_middle_slice(page)
    plain = canvas_until(page, lambda canvas: canvas.grey.max() > 100)
    help_panel = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_panel).to_be_hidden()

    page.keyboard.press("?")
    expect(help_panel).to_be_visible()
    page.screenshot(path=str(screenshot_path("viewer-help")))

    # Every toolbar control that names a key in its tooltip is in the table with that key; the tools and
    # image actions under the same name.
    def keyed(selector: str) -> list[tuple[str, str]]:
        titles = page.locator(selector).evaluate_all("(elements) => elements.map((element) => element.title)")
        return [found.groups() for title in titles if (found := re.fullmatch(r"(.+) \((\S+)\)", title))]

    def row(key: str) -> Locator:
        return help_panel.locator("tr", has=page.locator("kbd", has_text=re.compile(f"^{re.escape(key)}$")))

    assert len(keyed(".toolbar [title]")) >= 20
    for _, key in keyed(".toolbar [title]"):
        expect(row(key)).to_have_count(1)
    for label, key in keyed(".toolbar [data-tool], .toolbar [data-action]"):
        expect(row(key)).to_contain_text(label)

    # While it has the keyboard, the image's keys do not act behind it.
    page.keyboard.press("i")
    page.wait_for_timeout(500)
    expect(help_panel).to_be_visible()
    canvas_until(page, lambda canvas: mean_difference(canvas.grey, plain.grey) < 1)
    # Escape closes it, and the keys act on the image again.
    page.keyboard.press("Escape")
    expect(help_panel).to_be_hidden()
    page.keyboard.press("i")
    canvas_until(page, lambda canvas: abs(canvas.image.mean() - (255 - plain.image.mean())) < 3)


def test_the_viewer_speaks_chinese_to_a_chinese_browser(browser, live_url, radiologist, ct_study):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    try:
        page = context.new_page()
        open_viewer(page, live_url, ct_study)
        expect(page.locator(".overlay-bl")).to_contain_text(f"图像: 1 / {PHANTOM_SLICES}")
        page.keyboard.press("?")
        help_panel = page.get_by_role("dialog", name="快捷键")
        expect(help_panel).to_be_visible()
        flip_row = help_panel.locator("tr", has=page.locator("kbd", has_text=re.compile("^H$")))
        expect(flip_row).to_contain_text("水平翻转")
        page.screenshot(path=str(screenshot_path("viewer-help-zh")))
        page.keyboard.press("Escape")
        # The three views of MPR are named in Chinese too.
        page.keyboard.press("m")
        expect(page.locator(".viewport-cell .overlay-tl")).to_have_text(["轴位", "矢状位", "冠状位"], timeout=30_000)
        # A measurement tool in MPR says, in Chinese, that measuring needs the series view.
        page.keyboard.press("b")
        expect(page.locator(".viewer-status")).to_contain_text("多平面重建")
        page.screenshot(path=str(screenshot_path("viewer-mpr-zh")))
    finally:
        context.close()


def grey_in_window(hu: float, center: float, width: float) -> float:
    """The grey level of ``hu`` under a window, by the linear function of PS3.3 C.11.2.1.2."""
    return float(np.clip(((hu - (center - 0.5)) / (width - 1) + 0.5) * 255, 0, 255))


def test_window_presets_for_ct_and_from_the_image_itself(page, live_url, radiologist, ct_study, ingest, org_alpha):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    canvas = brain_window_slice(page, MIDDLE + 1)
    place = Placement.of(canvas)
    presets = page.locator("select.presets option")
    expect(presets).to_contain_text(["Brain", "Lung", "Bone", "Abdomen", "Mediastinum", "W 80 L 40"])

    # Each CT preset draws the ventricles (5 HU) and the brain (35 HU) at the grey levels its window gives.
    ventricle = place.centre_column + 0.16 * place.pixels_per_unit, place.centre_row + 0.05 * place.pixels_per_unit
    brain = place.centre_column, place.centre_row - 0.5 * place.pixels_per_unit
    for key, center, width in (("1", 40, 80), ("2", -600, 1500), ("3", 400, 1800), ("4", 50, 400), ("5", 50, 350)):
        page.keyboard.press(key)
        expect(page.locator(".overlay-br")).to_contain_text(f"W: {width} L: {center}")
        expected = [grey_in_window(hu, center, width) for hu in (5, 35)]

        def drawn_as_expected(canvas: Canvas, expected: list[float] = expected) -> bool:
            found = [canvas.grey[int(row), int(column)] for column, row in (ventricle, brain)]
            return all(abs(value - wanted) <= 3 for value, wanted in zip(found, expected, strict=True))

        canvas_until(page, drawn_as_expected)

    # An MR has no CT presets: its menu offers the windows stored in the image, and one brings it back.
    mr = ingest(org_alpha, *mr_series(WANG, slices=20, size=192))[0].study_instance_uid
    page.goto(f"{live_url}/viewer?StudyInstanceUIDs={mr}")
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(presets.filter(has_not_text="Window presets")).to_have_text(["W 2000 L 1000 (2000/1000)"])
    go_to_slice(page, 11, total=20)  # the first slice is below the brain
    stored = canvas_until(page, lambda canvas: canvas.grey.max() > 50)
    page.keyboard.press("w")
    origin = stored.page_point(stored.grey.shape[1] / 2, stored.grey.shape[0] / 2)
    drag(page, origin, (origin[0] + 120, origin[1] + 120))
    expect(page.locator(".overlay-br")).not_to_contain_text("W: 2000 L: 1000")
    canvas_until(page, lambda canvas: mean_difference(canvas.grey, stored.grey) > 5)
    page.select_option("select.presets", label="W 2000 L 1000 (2000/1000)")
    expect(page.locator(".overlay-br")).to_contain_text("W: 2000 L: 1000")
    canvas_until(page, lambda canvas: mean_difference(canvas.grey, stored.grey) < 1)
