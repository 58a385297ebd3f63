"""Driving the viewer page: logging in through a deep link, opening the phantom study, moving through it."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PASSWORD, PHANTOM_SLICES

MIDDLE = PHANTOM_SLICES // 2


def login(page: Page, live_url: str, next_path: str, username: str = "dr-wang") -> None:
    """Follow a deep link while logged out: the login page, then the page the link pointed at."""
    page.goto(f"{live_url}{next_path}")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def viewer_ready(page: Page, slices: int = PHANTOM_SLICES) -> None:
    """The viewer has opened the study and shows the first of its ``slices`` images."""
    expect(page.locator("#viewer-app")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.locator(".overlay-bl").first).to_contain_text(f"1 / {slices}", timeout=30_000)


def open_viewer(page: Page, live_url: str, study_uid: str) -> None:
    login(page, live_url, f"/viewer?StudyInstanceUIDs={study_uid}")
    expect(page).to_have_url(re.compile(r"/viewer\?StudyInstanceUIDs="))
    viewer_ready(page)


def go_to_slice(page: Page, number: int, total: int = PHANTOM_SLICES, viewport: int = 0) -> None:
    """Show slice ``number`` (1-based) of the active viewport, by the keyboard; ``viewport`` (which must
    be the active one) then reads it in its overlay."""
    page.keyboard.press("Home")
    for _ in range((number - 1) // 10):
        page.keyboard.press("PageDown")
    for _ in range((number - 1) % 10):
        page.keyboard.press("ArrowDown")
    overlay = page.locator(".viewport-cell").nth(viewport).locator(".overlay-bl")
    expect(overlay).to_contain_text(f"Image: {number} / {total}")


def go_to_middle_slice(page: Page) -> None:
    go_to_slice(page, MIDDLE + 1)


def settled_number(page: Page, locator: Locator) -> float:
    """The number a measurement shows once it stops changing (its statistics update after each render)."""
    previous = ""
    for _ in range(50):
        text = locator.inner_text()
        if text == previous:
            return float(text.split()[0])
        previous = text
        page.wait_for_timeout(200)
    raise AssertionError(f"the measurement kept changing: {previous}")


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press the left button at ``start``, move to ``end`` and let go (page coordinates)."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def zoom_in(page: Page, index: int = 0) -> None:
    """Drag the zoom tool down from the centre of viewport ``index``, which zooms in."""
    page.keyboard.press("z")
    box = page.locator(f'.viewport-element[data-viewport-index="{index}"]').bounding_box()
    assert box is not None
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    drag(page, centre, (centre[0], centre[1] + 150))
