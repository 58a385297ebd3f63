"""Browser tests: Playwright driving Debian's Chromium (headless, software WebGL) against the live server.

The front end must be built (``make test`` builds it); a missing build fails these tests with the
command to run rather than skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pacs.models import Organization, User
from pacs.synthetic import Patient, ct_series
from tests.conftest import ARTIFACTS
from viewer.assets import FrontendNotBuilt, entry_assets

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = ARTIFACTS / "browser"
PASSWORD = "secret-pass-123"
PHANTOM_SLICES = 60
PHANTOM_SIZE = 256


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        entry_assets("src/viewer/main.ts")
    except FrontendNotBuilt as exc:
        pytest.fail(f"{exc}")
    # Playwright's sync API keeps an event loop on this thread, which Django takes for async code; the
    # test's database calls are plain synchronous calls all the same.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE")
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-final.png"))
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def radiologist(transactional_db, org_alpha: Organization) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user(username="dr-wang", password=PASSWORD, organization=org_alpha)


@pytest.fixture
def ct_study(ingest, org_alpha: Organization) -> str:  # type: ignore[no-untyped-def]
    """A synthetic head CT (60 axial slices of 256², 0.859 mm pixels) for 王小明; its Study Instance UID."""
    patient = Patient(name="Wang^Xiaoming=王小明", patient_id="P-1001", birth_date="19700101", sex="M")
    stored = ingest(org_alpha, *ct_series(patient, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    return stored[0].study_instance_uid


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
