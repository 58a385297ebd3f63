"""Shared fixtures: organizations, users and tokens, a live HTTP server, a real Celery worker process.

The live server is pytest-django's (a threaded WSGI server on a real socket); the worker is a separate
``celery worker`` process on the same test database (a file for SQLite, the test database on
PostgreSQL) and the configured broker (the file-system broker, or Redis when ``REDIS_URL`` is set).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from pacs.ingest import IngestOrigin, instance_ingest
from pacs.models import ApiToken, Organization, User

REPO = Path(__file__).resolve().parent.parent
PYDICOM_TEST_FILES = Path(__import__("pydicom").__file__).parent / "data" / "test_files"
PYDICOM_CHARSET_FILES = Path(__import__("pydicom").__file__).parent / "data" / "charset_files"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO / "test-artifacts"))
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


@pytest.fixture(autouse=True)
def _fresh_storage_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Each test sees an empty archive on disk, as it sees an empty database."""
    settings.PACS_STORAGE_ROOT = tmp_path / "storage"


@pytest.fixture
def org_alpha(db) -> Organization:
    return Organization.objects.create(slug="alpha", name="Alpha Hospital")


@pytest.fixture
def org_beta(db) -> Organization:
    return Organization.objects.create(slug="beta", name="Beta Hospital")


def _user_with_token(org: Organization, username: str) -> tuple[User, str]:
    user = User.objects.create_user(username=username, password="secret-pass-123", organization=org)
    _token, key = ApiToken.issue(user=user, name="tests")
    return user, key


@pytest.fixture
def alpha_token(org_alpha) -> str:
    return _user_with_token(org_alpha, "alice")[1]


@pytest.fixture
def beta_token(org_beta) -> str:
    return _user_with_token(org_beta, "bob")[1]


class Http(requests.Session):
    """A requests session bound to the live server, with a bearer token; ``get("/dicomweb/...")``."""

    def __init__(self, root: str, token: str | None) -> None:
        super().__init__()
        self.root = root
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        if url.startswith("/"):
            url = self.root + url
        kwargs.setdefault("timeout", 60)
        return super().request(method, url, *args, **kwargs)


class _ThroughTheApplication:
    """Stands in for Django's StaticFilesHandler, which pytest-django puts in front of its live server."""

    def __init__(self, application):  # type: ignore[no-untyped-def]
        self.application = application

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        return self.application(environ, start_response)


@pytest.fixture(scope="session", autouse=True)
def _static_files_as_deployed() -> Iterator[None]:
    """The live server serves static files as a deployment does, through WhiteNoise and the headers it adds
    (pacs/isolation.py: without them the isolated viewer's workers would not start), rather than
    through Django's own static handler, which pytest-django puts in front of the application.

    Its media handler comes first too: under Django's default MEDIA_URL ("/") it answered every path
    that names a file of the working directory, /static/ included, and any other file of the checkout."""
    from django.contrib.staticfiles import handlers

    original_handler, original_media_url = handlers.StaticFilesHandler, settings.MEDIA_URL
    handlers.StaticFilesHandler = _ThroughTheApplication  # type: ignore[misc, assignment]
    settings.MEDIA_URL = "/media/"
    yield
    handlers.StaticFilesHandler, settings.MEDIA_URL = original_handler, original_media_url  # type: ignore[misc]


@pytest.fixture
def live_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def alpha_http(live_url, alpha_token) -> Iterator[Http]:
    with Http(live_url, alpha_token) as session:
        yield session


@pytest.fixture
def beta_http(live_url, beta_token) -> Iterator[Http]:
    with Http(live_url, beta_token) as session:
        yield session


@pytest.fixture
def anonymous_http(live_url) -> Iterator[Http]:
    with Http(live_url, None) as session:
        yield session


@pytest.fixture
def alpha_client(live_url, alpha_token):  # type: ignore[no-untyped-def]
    from dicomweb_client.api import DICOMwebClient

    return DICOMwebClient(url=f"{live_url}/dicomweb", headers={"Authorization": f"Bearer {alpha_token}"})


@pytest.fixture
def ingest(db):  # type: ignore[no-untyped-def]
    """Store files straight through the ingest pipeline: ``ingest(org, path_or_bytes, ...)``."""

    def _ingest(org: Organization, *sources: Path | bytes):  # type: ignore[no-untyped-def]
        return [instance_ingest(source=s, origin=IngestOrigin(kind="import", organization=org)) for s in sources]

    return _ingest


def _worker_environment() -> dict[str, str]:
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db.get('USER') or ''}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
        )
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    return env


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen]:  # type: ignore[no-untyped-def]
    """A real ``celery worker`` process on the test database, for as long as the session lasts."""
    with django_db_blocker.unblock():
        connection.ensure_connection()
    log_path = ARTIFACTS / "celery-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pacs",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO,
            env=_worker_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}; see {log_path}")
        if b"ready." in log_path.read_bytes():
            break
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"celery worker did not become ready; see {log_path}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def _wait_for_live_server_requests(timeout: float = 15.0) -> None:
    """Let requests the closed page left in flight (frames still streaming, a beacon sent on pagehide)
    finish before the test database is flushed: on PostgreSQL a TRUNCATE that meets a request's open
    query deadlocks, and the next test then starts on the old rows. The live server answers each
    connection on a thread running ``process_request_thread``; they end once their sockets close."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [thread for thread in threading.enumerate() if "process_request_thread" in thread.name]
        if not busy:
            return
        time.sleep(0.05)


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright, one for the whole session (no browser download here)."""
    from playwright.sync_api import sync_playwright

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
def page(browser, request):  # type: ignore[no-untyped-def]
    """A fresh page; its last state is saved as a screenshot, and an uncaught page error fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    screenshots = ARTIFACTS / "browser"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"{request.node.name}-final.png"))
    context.close()
    _wait_for_live_server_requests()
    assert not errors, f"uncaught errors in the page: {errors}"
