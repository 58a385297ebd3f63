"""Where things sit in the viewer, in a real browser: the thumbnail and toolbar positions each user keeps,
series hung in order and dragged into viewports, and the decoded-image cache held to its bound."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from pacs.models import Instance, User
from pacs.synthetic import ct_series
from tests.browser.conftest import PASSWORD, PHANTOM_SIZE, PHANTOM_SLICES, WANG, screenshot_path
from tests.browser.pixels import Canvas, canvas_read, canvas_until
from tests.browser.test_viewer_reading import coronal_reformat
from tests.browser.viewer_page import MIDDLE, go_to_middle_slice, go_to_slice, login, open_viewer, viewer_ready
from tests.conftest import wait_until
from viewer import services

pytestmark = pytest.mark.live


def boxes(page: Page) -> dict[str, dict[str, float]]:
    found = {}
    for name, selector in (("toolbar", ".toolbar"), ("thumbnails", ".series-panel"), ("grid", ".viewport-grid")):
        box = page.locator(selector).first.bounding_box()
        assert box is not None, f"{selector} is not shown"
        found[name] = box
    return found


def head_drawn_whole_and_centred(page: Page) -> Canvas:
    """The middle slice fills the resized viewport: centred, and as tall for its width as the phantom."""
    go_to_middle_slice(page)
    canvas = canvas_until(page, lambda canvas: canvas.grey.max() > 100)
    rows, columns = np.nonzero(canvas.grey > 100)
    height, width = canvas.grey.shape
    assert (columns.min() + columns.max()) / 2 == pytest.approx(width / 2, abs=3)
    assert (rows.min() + rows.max()) / 2 == pytest.approx(height / 2, abs=3)
    rows_spanned, columns_spanned = canvas.head_extent
    assert rows_spanned / columns_spanned == pytest.approx(0.9 / 0.72, rel=0.03)
    return canvas


def test_panel_positions_are_each_users_own_and_kept(page, browser, live_url, radiologist, ct_study, org_alpha):  # type: ignore[no-untyped-def]
    open_viewer(page, live_url, ct_study)
    placed = boxes(page)
    assert placed["thumbnails"]["x"] + placed["thumbnails"]["width"] <= placed["grid"]["x"] + 1, "thumbnails left"
    assert placed["toolbar"]["y"] + placed["toolbar"]["height"] <= placed["grid"]["y"] + 1, "toolbar on top"

    page.get_by_label("Thumbnails", exact=True).select_option("right")
    page.get_by_label("Toolbar", exact=True).select_option("bottom")
    placed = boxes(page)
    assert placed["thumbnails"]["x"] >= placed["grid"]["x"] + placed["grid"]["width"] - 1, "thumbnails right"
    assert placed["toolbar"]["y"] >= placed["grid"]["y"] + placed["grid"]["height"] - 1, "toolbar at the bottom"
    head_drawn_whole_and_centred(page).save(screenshot_path("viewer-panels-moved"))
    wait_until(
        lambda: (chosen := services.viewer_settings_get(user=radiologist)).thumbnails_position == "right"
        and chosen.toolbar_position == "bottom"
    )

    # Kept: the next visit opens with the panels where the user put them.
    page.reload()
    viewer_ready(page)
    expect(page.get_by_label("Thumbnails", exact=True)).to_have_value("right")
    expect(page.get_by_label("Toolbar", exact=True)).to_have_value("bottom")
    placed = boxes(page)
    assert placed["thumbnails"]["x"] >= placed["grid"]["x"] + placed["grid"]["width"] - 1
    assert placed["toolbar"]["y"] >= placed["grid"]["y"] + placed["grid"]["height"] - 1
    head_drawn_whole_and_centred(page)

    # Another reader's viewer keeps its own (the defaults).
    User.objects.create_user(username="dr-li", password=PASSWORD, organization=org_alpha)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    try:
        other = context.new_page()
        login(other, live_url, f"/viewer?StudyInstanceUIDs={ct_study}", username="dr-li")
        viewer_ready(other)
        expect(other.get_by_label("Thumbnails", exact=True)).to_have_value("left")
        expect(other.get_by_label("Toolbar", exact=True)).to_have_value("top")
    finally:
        context.close()


def cell(page: Page, index: int) -> Locator:
    return page.locator(".viewport-cell").nth(index)


def cell_scroll_to(page: Page, index: int, number: int, total: int) -> Canvas:
    """Make viewport ``index`` the active one (a middle click, which moves nothing) and show its slice
    ``number``; its canvas once drawn."""
    page.locator(f'.viewport-element[data-viewport-index="{index}"]').click(
        position={"x": 20, "y": 20}, button="middle"
    )
    go_to_slice(page, number, total, viewport=index)
    return canvas_until(page, lambda canvas: canvas.grey.max() > 100, index=index)


def test_series_hang_in_order_and_drop_into_any_viewport(page, live_url, radiologist, ingest, org_alpha):  # type: ignore[no-untyped-def]
    axial = list(ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    coronal = coronal_reformat(axial)  # series 3, 30 images
    # The coronal series arrives first; series 2 (axial) still hangs first.
    stored = ingest(org_alpha, *coronal, *axial)
    login(page, live_url, f"/viewer?StudyInstanceUIDs={stored[0].study_instance_uid}")
    viewer_ready(page)
    expect(page.locator(".series-card .series-label")).to_have_text(["#2 CT", "#3 CT"])

    page.select_option("select.layouts", label="2×2")
    expect(page.locator(".viewport-cell")).to_have_count(4)
    expect(cell(page, 0).locator(".overlay-tr")).to_contain_text("Axial 2.5mm")
    expect(cell(page, 1).locator(".overlay-tr")).to_contain_text("Coronal reformat")
    expect(cell(page, 1).locator(".overlay-bl")).to_contain_text("Image: 1 / 30")
    # The window the images carry (centre 40, width 80), read back as stored.
    expect(cell(page, 1).locator(".overlay-br")).to_contain_text("W: 80 L: 40")
    # A viewport with no series shows no scrollbar.
    expect(cell(page, 2).locator(".stack-scrollbar")).to_be_hidden()
    # The axial head is taller than wide, the coronal one wider than tall.
    height, width = cell_scroll_to(page, 0, MIDDLE + 1, PHANTOM_SLICES).head_extent
    assert height > width * 1.1, (height, width)
    height, width = cell_scroll_to(page, 1, 15, 30).head_extent
    assert width > height * 1.1, (height, width)

    # The coronal series dragged from its thumbnail onto the first viewport replaces the axial there.
    page.locator(".series-card").nth(1).drag_to(cell(page, 0))
    expect(cell(page, 0).locator(".overlay-tr")).to_contain_text("Coronal reformat")
    expect(cell(page, 0).locator(".overlay-bl")).to_contain_text(" / 30")
    dropped = cell_scroll_to(page, 0, 15, 30)
    height, width = dropped.head_extent
    assert width > height * 1.1, (height, width)
    assert np.abs(dropped.grey - canvas_read(page, 1).grey).mean() < 1, "the same coronal slice as beside it"

    # And the axial one onto an empty viewport.
    expect(cell(page, 3).locator(".overlay-bl")).to_have_text("")
    page.locator(".series-card").nth(0).drag_to(cell(page, 3))
    expect(cell(page, 3).locator(".overlay-bl")).to_contain_text(f" / {PHANTOM_SLICES}")
    height, width = cell_scroll_to(page, 3, MIDDLE + 1, PHANTOM_SLICES).head_extent
    assert height > width * 1.1, (height, width)
    page.screenshot(path=str(screenshot_path("viewer-series-dropped")))

    # The largest layout: nine viewports, and the first keeps its series and its slice.
    page.select_option("select.layouts", label="3×3")
    expect(page.locator(".viewport-cell")).to_have_count(9)
    expect(cell(page, 0).locator(".overlay-bl")).to_contain_text("Image: 15 / 30")
    height, width = canvas_until(page, lambda canvas: canvas.grey.max() > 100, index=0).head_extent
    assert width > height * 1.1, (height, width)


def cache_use(page: Page) -> dict[str, int]:
    return page.evaluate("() => window.pacsViewer.cacheUse()")


def test_the_image_cache_stays_within_its_bound(page, live_url, radiologist, ct_study, settings):  # type: ignore[no-untyped-def]
    """With a cache of 4 MB, half the phantom's 7.5 MB of slices: the series is fetched until the cache is
    nearly full, the rest as the reader scrolls, and slices pushed out are fetched again when shown."""
    settings.VIEWER_CACHE_SIZE_MB = 4
    first_slice = Instance.objects.get(series__study__study_instance_uid=ct_study, instance_number=1).sop_instance_uid
    first_slice_requests: list[str] = []
    page.on("request", lambda request: first_slice_requests.append(request.url) if first_slice in request.url else None)
    open_viewer(page, live_url, ct_study)
    assert cache_use(page)["bound"] == 4 * 1024 * 1024

    # The prefetch stops short of the whole series, and says so.
    progress = page.locator(".series-card .progress").first
    expect(progress).to_have_attribute("title", re.compile(r"\d+ of 60 images loaded"), timeout=30_000)
    page.wait_for_timeout(2000)
    loaded = int(re.match(r"(\d+) of", progress.get_attribute("title") or "")[1])  # type: ignore[index]
    assert 0 < loaded < PHANTOM_SLICES
    expect(progress).not_to_have_class(re.compile("complete"))
    use = cache_use(page)
    assert 0 < use["bytes"] <= use["bound"]

    # Every slice, one after another: each is drawn, and the cache never grows past its bound.
    page.keyboard.press("Home")
    slices: dict[int, Canvas] = {}
    for number in range(1, PHANTOM_SLICES + 1):
        if number > 1:
            page.keyboard.press("ArrowDown")
        expect(page.locator(".overlay-bl").first).to_contain_text(f"Image: {number} / {PHANTOM_SLICES}")
        if number in (1, MIDDLE + 1, PHANTOM_SLICES):
            slices[number] = canvas_until(page, lambda canvas: True)
        use = cache_use(page)
        assert use["bytes"] <= use["bound"], f"slice {number}: {use}"
    assert slices[MIDDLE + 1].grey.max() > 100 and slices[PHANTOM_SLICES].grey.max() < 30

    # Back at the start: the first slice had been pushed out, is fetched again, and is drawn as before.
    requests_before = len(first_slice_requests)
    page.keyboard.press("Home")
    expect(page.locator(".overlay-bl").first).to_contain_text(f"Image: 1 / {PHANTOM_SLICES}")
    wait_until(lambda: len(first_slice_requests) > requests_before)
    canvas_until(page, lambda canvas: np.abs(canvas.grey - slices[1].grey).mean() < 1)
    go_to_middle_slice(page)
    canvas_until(page, lambda canvas: np.abs(canvas.grey - slices[MIDDLE + 1].grey).mean() < 1)
    assert cache_use(page)["bytes"] <= 4 * 1024 * 1024
