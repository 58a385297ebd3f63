"""Reading what the viewer drew: the pixels of a viewport's canvas, as a grey-level numpy array."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Page

_READ_CANVAS = """(index) => {
  const canvas = document.querySelector(`.viewport-element[data-viewport-index="${index}"] canvas`);
  if (!canvas || !canvas.width) return null;
  const rect = canvas.getBoundingClientRect();
  return {width: canvas.width, height: canvas.height, left: rect.left, top: rect.top, cssWidth: rect.width,
          cssHeight: rect.height, png: canvas.toDataURL('image/png')};
}"""


class Canvas:
    """Grey levels (rows × columns) of one viewport's canvas, and where it sits on the page."""

    def __init__(self, raw: dict) -> None:
        png = base64.b64decode(raw["png"].split(",", 1)[1])
        self.rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        self.grey = self.rgb.mean(axis=2)
        self.left, self.top = raw["left"], raw["top"]
        self.scale_x = raw["cssWidth"] / raw["width"]
        self.scale_y = raw["cssHeight"] / raw["height"]

    @property
    def mean(self) -> float:
        return float(self.grey.mean())

    @property
    def image(self) -> np.ndarray:
        """The central square, where a square image fitted to the viewport is drawn (no background)."""
        height, width = self.grey.shape
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        return self.grey[top : top + side, left : left + side]

    @property
    def head_extent(self) -> tuple[int, int]:
        """Rows and columns the phantom's head (grey level above 100: bone, and brain in its window) spans."""
        rows, columns = np.nonzero(self.grey > 100)
        return (int(np.ptp(rows)) + 1, int(np.ptp(columns)) + 1) if rows.size else (0, 0)

    def page_point(self, column: float, row: float) -> tuple[float, float]:
        """The page coordinates (CSS pixels) of a canvas pixel position."""
        return self.left + column * self.scale_x, self.top + row * self.scale_y

    def save(self, path: Path) -> None:
        Image.fromarray(self.rgb).save(path)


def canvas_read(page: Page, index: int = 0) -> Canvas:
    raw = page.evaluate(_READ_CANVAS, index)
    assert raw is not None, f"viewport {index} has no canvas"
    return Canvas(raw)


def canvas_until(page: Page, predicate: Callable[[Canvas], bool], timeout: float = 20.0, index: int = 0) -> Canvas:
    """Read the canvas until it has settled (two reads alike) in a state where ``predicate`` holds.

    Rendering is asynchronous: an image on its way (a scroll passing through slices) must not count.
    """
    deadline = time.monotonic() + timeout
    previous = canvas_read(page, index)
    while True:
        page.wait_for_timeout(150)
        canvas = canvas_read(page, index)
        if np.array_equal(canvas.rgb, previous.rgb) and predicate(canvas):
            return canvas
        if time.monotonic() > deadline:
            raise AssertionError(f"the canvas never reached the expected state (mean grey {canvas.mean:.1f})")
        previous = canvas


def viewport_shot(page: Page, index: int = 0) -> np.ndarray:
    """RGB pixels of a viewport as the user sees it: the canvas with the SVG annotation layer over it."""
    png = page.locator(f'.viewport-element[data-viewport-index="{index}"]').screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
