"""One timed opening of a study in headless Chromium, measured from inside the page.

The page gets ``probe.js`` before its own scripts. It notes, on the page's clock (milliseconds from the
navigation start), when a viewport canvas first shows an image (the time of the draw whose pixels, read
back once the run is over, are bright), when the last WADO-RS frame of the series, or the series' Pixel
Data response that holds them all, has arrived (Resource Timing), and, for a viewer that shows one, when
its own progress indicator reaches the total. Python polls those notes until the run is complete, stalls, or
reaches its time limit.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, Request, Response, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
# As the browser tests run it (tests/conftest.py): headless, software WebGL through SwiftShader.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # Headless Chromium builds the browser's own (invisible) interface in each new window, that is in
    # each fresh profile a run opens: its address bar's suggestion popup, a page of about 200 scripts,
    # took about a second of CPU during the first second of every run, on the 2 cores the viewer and
    # the server share. A browser a radiologist opens studies in has done that once, long before. This
    # flag replaces Playwright's own --disable-features, so its list (Playwright 1.65) comes first.
    "--disable-features="
    + ",".join(
        [
            *("AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades"),
            *("HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding"),
            *("ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "OptimizationHints"),
            *("NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch"),
            *("PreloadTopChromeWebUI", "WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup"),
        ]
    ),
]
VIEWPORT = {"width": 1600, "height": 1000}
POLL_SECONDS = 0.25
# A load with no new frame and no progress for this long has stopped for good (a bounded cache full,
# a prefetcher that does not fetch the whole series).
STALL_SECONDS = 20.0
_PROBE = (Path(__file__).resolve().parent / "probe.js").read_text()
# The probe's notes without the per-frame table, which is large and stays in the page.
_STATE_READ = (
    "() => window.__bench ? "
    "{ ...window.__bench, frames: undefined, now: performance.now(), timeOrigin: performance.timeOrigin } : null"
)


@dataclass(frozen=True)
class Probe:
    """What the page watches: its viewport canvases, its frame requests, its progress indicator."""

    expected_frames: int
    canvas_selector: str = "canvas.cornerstone-canvas"
    frame_url_pattern: str = r"/frames/\d+"
    series_pixel_data_url_pattern: str = r"/series/[^/?]+/pixeldata"
    progress_selector: str = ""
    progress_complete_class: str = "complete"
    error_selector: str = ""
    # A canvas shows an image when at least this share of a 64×64 copy is brighter than this grey level.
    lit_level: int = 40
    lit_fraction: float = 0.02
    # How often canvases are read when no draw call gave the first image away (see probe.js).
    fallback_poll_ms: int = 200

    def script(self) -> str:
        config = {
            "expectedFrames": self.expected_frames,
            "canvasSelector": self.canvas_selector,
            "frameUrlPattern": self.frame_url_pattern,
            "seriesPixelDataUrlPattern": self.series_pixel_data_url_pattern,
            "progressSelector": self.progress_selector,
            "progressCompleteClass": self.progress_complete_class,
            "errorSelector": self.error_selector,
            "litLevel": self.lit_level,
            "litFraction": self.lit_fraction,
            "fallbackPollMs": self.fallback_poll_ms,
        }
        return f"const BENCH = {json.dumps(config)};\n{_PROBE}"


@dataclass
class RunResult:
    """One opening: seconds from navigation start to each milestone, None when it was not reached."""

    first_image: float | None = None
    frames_done: float | None = None
    progress_done: float | None = None
    frames: int = 0
    frame_failures: int = 0
    frames_compressed: int = 0
    frame_encoding: str = ""  # the Content-Encoding of the first frame response
    # Where the time to the first image went, in seconds from navigation start.
    dom_content_loaded: float | None = None
    metadata: float | None = None
    first_frame: float | None = None
    ended: float | None = None  # when the run was given up or complete
    progress: tuple[int, int] | None = None
    problem: str = ""
    # The run could not measure at all (the page or the viewer failed), unlike one that was given up
    # on after a stall or at the time limit, whose unreached milestones still bound the result.
    failed: bool = False
    screenshot: Path | None = None


@contextmanager
def chromium(extra_args: tuple[str, ...] = ()) -> Iterator[Browser]:
    """Debian's Chromium, headless with software WebGL, closed on exit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def fresh_context(browser: Browser) -> Iterator[BrowserContext]:
    """A new profile per run: empty HTTP cache, no cookies, nothing left from the previous run.

    ``Accept-Encoding: identity`` as in the archive benchmark: Orthanc gzips every frame for a client that
    accepts it, which would measure zlib rather than the viewer (our server does not compress frames).
    """
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", extra_http_headers={"Accept-Encoding": "identity"})
    try:
        yield context
    finally:
        context.close()


def timed_open(
    page: Page,
    url: str,
    probe: Probe,
    *,
    time_limit: float,
    screenshot: Path | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Open ``url`` in ``page`` and wait for the first image and the whole series, at most ``time_limit`` s."""
    page.add_init_script(probe.script())
    result = RunResult()
    frame_url = re.compile(probe.frame_url_pattern)

    def first_frame_seen(response: Response) -> None:
        # Resource Timing hides body sizes across origins: the encoding is read from one real response.
        if frame_url.search(response.url):
            page.remove_listener("response", first_frame_seen)
            result.frame_encoding = response.headers.get("content-encoding", "identity")

    page.on("response", first_frame_seen)
    # A viewer may read the series' Pixel Data in a worker, whose Resource Timing the page's probe does
    # not see; Playwright reports the worker's requests with the page's, with their timing.
    pixel_data_url = re.compile(probe.series_pixel_data_url_pattern)
    pixel_data_ends: list[float] = []  # epoch milliseconds

    def pixel_data_finished(request: Request) -> None:
        answer = request.response()
        if pixel_data_url.search(request.url) and answer is not None and answer.status < 400:
            pixel_data_ends.append(request.timing["startTime"] + request.timing["responseEnd"])

    page.on("requestfinished", pixel_data_finished)
    start = time.monotonic()
    response = page.goto(url, wait_until="commit", timeout=time_limit * 1000)
    state: dict = {}
    last_change_seen, last_change_at = -1.0, time.monotonic()

    def notes(read: dict | None) -> dict:
        """The probe's notes, with the worker's Pixel Data response the page itself does not see."""
        notes = read or state
        if notes.get("framesDone") is None and pixel_data_ends and notes.get("timeOrigin"):
            notes["framesDone"] = notes["seriesPixelData"] = pixel_data_ends[0] - notes["timeOrigin"]
        return notes

    while True:
        try:
            state = notes(page.evaluate(_STATE_READ))
        except PlaywrightError as exc:
            # A page that navigates again (a redirect, a reload) has a new probe: keep polling it.
            if "context was destroyed" not in str(exc):
                raise
        if response is not None and response.status >= 400:
            result.problem, result.failed = f"the page answered {response.status}", True
            break
        if state.get("fatal"):
            result.problem, result.failed = f"the viewer failed: {state['fatal']}", True
            break
        loaded = state.get("framesDone") is not None
        if probe.progress_selector:
            loaded = loaded and state.get("progressDone") is not None
        if loaded and state.get("firstImage") is None:
            state = notes(_copies_read(page))
        if loaded and state.get("firstImage") is not None:
            break
        now = time.monotonic()
        if state.get("lastChange", 0) != last_change_seen:
            last_change_seen, last_change_at = state.get("lastChange", 0), now
        elif now - last_change_at > STALL_SECONDS and state.get("copiesTaken"):
            result.problem = f"stalled: nothing new for {STALL_SECONDS:.0f} s"
            state = notes(_copies_read(page))
            break
        if now - start > time_limit:
            result.problem = f"stopped at the {time_limit:.0f} s limit"
            state = notes(_copies_read(page))
            break
        time.sleep(POLL_SECONDS)
    result.ended = _seconds(state.get("now"))
    result.first_image = _seconds(state.get("firstImage"))
    result.frames_done = _seconds(state.get("framesDone"))
    result.progress_done = _seconds(state.get("progressDone"))
    result.dom_content_loaded = _seconds(state.get("domContentLoaded"))
    result.metadata = _seconds(state.get("metadata"))
    result.first_frame = _seconds(state.get("firstFrame"))
    result.frames = int(state.get("frameCount") or 0)
    result.frame_failures = int(state.get("frameFailures") or 0)
    result.frames_compressed = int(state.get("framesCompressed") or 0)
    progress = state.get("progress")
    if progress:
        result.progress = (int(progress["loaded"]), int(progress["total"]))
    if result.problem:
        seen = f"{result.frames} of {probe.expected_frames} frames fetched"
        if result.progress:
            seen += f", viewer progress {result.progress[0]} of {result.progress[1]}"
        result.problem = f"{result.problem} ({seen})"
        log(f"  {result.problem}")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
        result.screenshot = screenshot
    return result


def _copies_read(page: Page) -> dict | None:
    """Read back the canvas copies the probe took (see probe.js), after the load: the probe's notes then."""
    try:
        return page.evaluate(f"() => {{ window.__benchCopiesRead?.(); return ({_STATE_READ})(); }}")
    except PlaywrightError:
        return None


def _seconds(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000
