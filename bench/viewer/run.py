"""Run the viewer benchmark: the CT into Orthanc and into ours, each viewer opened N times, the table.

Usage: ``python -m bench.viewer [--slices 2000] [--runs 3] [--viewers ohif,ours]``. The servers run one
after the other, never side by side (Orthanc with OHIF first, then ours), each started fresh by
``bench/servers.py``. The table goes to standard output and, as Markdown, to ``bench/results/viewer.md``;
server logs and a screenshot of every run to ``bench/results/viewer/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path
from types import FrameType

import requests
from playwright.sync_api import Error as PlaywrightError

from bench import dicomweb
from bench.data import FULL, QUICK, BenchData, Profile, bench_data
from bench.load import run_parallel
from bench.processes import free_port
from bench.servers import (
    PROJECT_DIR,
    ServerOptions,
    Target,
    _database_url,
    _django_env,
    _manage,
    orthanc_running,
    orthanc_version,
    ours_running,
)
from bench.viewer import report
from bench.viewer.browser import Probe, RunResult, chromium, fresh_context, timed_open
from bench.viewer.ohif import OHIF_VERSION, OhifServer, ohif_dist

RESULTS_DIR = PROJECT_DIR / "bench" / "results"
OUTPUT_DIR = RESULTS_DIR / "viewer"
FRONTEND_MANIFEST = PROJECT_DIR / "static" / "viewer" / "manifest.json"
CACHE_DIR = Path(os.environ.get("PACS_TEST_CACHE", PROJECT_DIR / ".cache"))
VIEWERS = ("ohif", "ours")
DISPLAY_NAMES = {"ohif": f"OHIF {OHIF_VERSION} + Orthanc", "ours": "ours"}
UPLOAD_CLIENTS = 4
UPLOAD_PER_REQUEST = 2
UPLOAD_TIME_LIMIT = 1800.0
SETTLE_TIME_LIMIT = 600.0
BENCH_USERNAME = "bench"  # the user bench/servers.py creates in our server


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.viewer", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--slices", type=int, default=FULL.ct_slices, help=f"CT slices (default {FULL.ct_slices}; 200 for a quick run)"
    )
    parser.add_argument("--runs", type=int, default=3, help="openings per viewer, median reported (default 3)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds before a run is abandoned (120)")
    parser.add_argument("--viewers", default=",".join(VIEWERS), help="comma-separated, in order (ohif,ours)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers for ours (default: 4)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="an administrative PostgreSQL URL; the database pacs_bench_viewer is created and dropped next to it",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_VIEWER_REDIS_URL", "redis://127.0.0.1:6379/12"),
        help="a Redis database for our Celery broker, flushed before and after (env BENCH_VIEWER_REDIS_URL); "
        "not the archive benchmark's, so both can be set up on one machine",
    )
    arguments = parser.parse_args(argv)
    arguments.viewers = [name.strip() for name in arguments.viewers.split(",") if name.strip()]
    unknown = [name for name in arguments.viewers if name not in VIEWERS]
    if unknown:
        parser.error(f"unknown viewers {unknown}; choose from {list(VIEWERS)}")
    if not 1 <= arguments.slices <= 5000:
        parser.error("--slices must be between 1 and 5000")
    if not 1 <= arguments.runs <= 10:
        parser.error("--runs must be between 1 and 10")
    if not 10 <= arguments.time_limit <= 600:
        parser.error("--time-limit must be between 10 and 600 seconds")
    return arguments


def ct_data(slices: int) -> BenchData:
    """The archive benchmark's CT with ``slices`` slices, reusing its cached data when the size matches."""
    for profile in (FULL, QUICK):
        if profile.ct_slices == slices:
            return bench_data(profile)
    # Only the CT is used here: the small sets are kept to their minimum (one study, one per folder).
    return bench_data(Profile(name=f"viewer-{slices}", ct_slices=slices, small_instances=4, extra_instances=4))


def _terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops the processes and browsers it started."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


class ViewerBench:
    """Loads the CT into one server, then opens it ``runs`` times in a fresh browser profile each time."""

    def __init__(self, data: BenchData, options: ServerOptions, arguments: argparse.Namespace) -> None:
        self.data = data
        self.options = options
        self.runs = arguments.runs
        self.time_limit = arguments.time_limit
        self.slices = len(data.ct.sop_uids)

    def log(self, message: str) -> None:
        print(message, flush=True)

    def measure(self, name: str) -> report.ViewerResults:
        results = report.ViewerResults(name=DISPLAY_NAMES[name])
        scratch = self.options.scratch_dir / name
        scratch.mkdir()
        options = dataclasses.replace(self.options, scratch_dir=scratch)
        load_before = os.getloadavg()[0]
        try:
            {"ohif": self._ohif, "ours": self._ours}[name](options, results)
        except (
            RuntimeError,
            OSError,
            subprocess.SubprocessError,
            requests.RequestException,
            dicomweb.DicomWebError,
            PlaywrightError,
        ) as exc:
            self.log(f"{name} could not be measured: {exc}")
            (options.log_dir / f"{name}-error.txt").write_text(traceback.format_exc())
            results.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        results.remarks.append(
            f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
            f"(on {os.cpu_count()} CPUs; above that, other processes shared the machine)"
        )
        return results

    def _ohif(self, options: ServerOptions, results: report.ViewerResults) -> None:
        dist = ohif_dist(CACHE_DIR)
        self.log("Starting Orthanc...")
        with orthanc_running(options) as target:
            self._load(target)
            base = target.dicomweb_url.removesuffix("/dicom-web")
            # OHIF's origin is not Orthanc's, and Orthanc sends no CORS headers (see bench/viewer/ohif.py).
            ohif_server = OhifServer(dist, target.dicomweb_url, f"{base}/wado")
            with ohif_server as ohif, chromium(("--disable-web-security",)) as browser:
                url = f"{ohif.url}/viewer?StudyInstanceUIDs={self.data.ct.study_uid}"
                probe = Probe(expected_frames=self.slices)
                self._open_repeatedly("ohif", browser, url, probe, results, cookies=[])

    def _ours(self, options: ServerOptions, results: report.ViewerResults) -> None:
        results.has_progress = True
        self.log("Starting ours...")
        with ours_running(options) as target:
            self._load(target)
            if target.settle is not None:
                waited = target.settle(SETTLE_TIME_LIMIT)
                self.log(f"  waited {waited:.1f} s for background tasks")
            base = target.dicomweb_url.removesuffix("/dicomweb")
            cookies = _login_cookies(base, BENCH_USERNAME, _bench_password_set(options))
            probe = Probe(
                expected_frames=self.slices,
                progress_selector=f'.series-card[data-series="{self.data.ct.series_uid}"] .progress',
                error_selector='#viewer-app[data-state="error"]',
            )
            with chromium() as browser:
                url = f"{base}/viewer?StudyInstanceUIDs={self.data.ct.study_uid}"
                self._open_repeatedly("ours", browser, url, probe, results, cookies=cookies)

    def _load(self, target: Target) -> None:
        """STOW-RS of the CT (4 clients, 2 slices per request), then its series metadata checked."""
        files = sorted(self.data.ct.folder.glob("*.dcm"))
        self.log(f"  loading {len(files)} CT slices into {target.name} by STOW-RS...")
        result = run_parallel(
            [files[index : index + UPLOAD_PER_REQUEST] for index in range(0, len(files), UPLOAD_PER_REQUEST)],
            workers=UPLOAD_CLIENTS,
            work=lambda session, chunk: dicomweb.stow(session, target, chunk),
            session_factory=lambda: dicomweb.session_factory(target),
            time_limit=UPLOAD_TIME_LIMIT,
        )
        if result.units != len(files):
            raise RuntimeError(f"STOW-RS stored {result.units} of {len(files)} slices: {result.problems()}")
        self.log(f"  stored in {result.seconds:.1f} s")
        with dicomweb.session_factory(target) as session:
            ct = self.data.ct
            found = dicomweb.series_metadata(session, target, ct.study_uid, ct.series_uid).items
        if found != len(files):
            raise RuntimeError(f"{target.name} lists {found} of {len(files)} instances in the CT's metadata")

    def _open_repeatedly(
        self,
        name: str,
        browser,  # type: ignore[no-untyped-def]
        url: str,
        probe: Probe,
        results: report.ViewerResults,
        *,
        cookies: list[dict],
    ) -> None:
        for index in range(1, self.runs + 1):
            self.log(f"  [{name}] run {index} of {self.runs}...")
            with fresh_context(browser) as context:
                if cookies:
                    context.add_cookies(cookies)
                page = context.new_page()
                try:
                    run = timed_open(
                        page,
                        url,
                        probe,
                        time_limit=self.time_limit,
                        screenshot=OUTPUT_DIR / f"{name}-{self.slices}-run{index}.png",
                        log=self.log,
                    )
                except Exception as exc:  # noqa: BLE001 - a failed run is reported, the next one runs
                    (self.options.log_dir / f"{name}-run{index}-error.txt").write_text(traceback.format_exc())
                    run = RunResult(problem=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}", failed=True)
            results.runs.append(run)
            self.log(
                f"  [{name}] first image {_seconds(run.first_image)}, all frames {_seconds(run.frames_done)}"
                + (f", own progress complete {_seconds(run.progress_done)}" if probe.progress_selector else "")
            )


# A template: the password filled in is random per run.
_CREDENTIALS_SCRIPT = (  # noqa: S105
    "from pacs.models import User\n"
    "user = User.objects.get(username={username!r})\n"
    "user.set_password({password!r})\n"
    'user.save(update_fields=["password"])\n'
)


def _bench_password_set(options: ServerOptions) -> str:
    """A new password for the bench user (bench/servers.py keeps the one it made to itself)."""
    env = _django_env(options.scratch_dir / "pacs-var")
    env.update(
        DATABASE_URL=_database_url(options.postgres_admin_url, options.database_name), REDIS_URL=options.redis_url
    )
    password = secrets.token_urlsafe(16)
    script = _CREDENTIALS_SCRIPT.format(username=BENCH_USERNAME, password=password)
    _manage(env, options.log_dir / "bench-password.log", "shell", "-c", script)
    return password


def _login_cookies(base: str, username: str, password: str) -> list[dict]:
    """Log in through our login form once; the session cookie is given to every run's fresh profile."""
    with requests.Session() as session:
        form = session.get(f"{base}/accounts/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if form.status_code != 200 or token is None:
            raise RuntimeError(f"the login page answered {form.status_code} without a CSRF token")
        answer = session.post(
            f"{base}/accounts/login/",
            data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password, "next": "/"},
            headers={"Referer": f"{base}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 302 or "sessionid" not in session.cookies:
            raise RuntimeError(f"logging in as {username} failed ({answer.status_code})")
        return [
            {"name": cookie.name, "value": cookie.value or "", "url": base}
            for cookie in session.cookies
            if cookie.name in ("sessionid", "csrftoken")
        ]


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "—"


def _report(slices: int, arguments: argparse.Namespace, results: dict[str, report.ViewerResults]) -> None:
    lines = report.table(slices, results.get("ours"), results.get("ohif"))
    print()
    print(report.text(lines))
    remarks = [f"{results[name].name}: {remark}" for name in results for remark in results[name].remarks]
    errors = [f"{results[name].name} could not run: {results[name].error}" for name in results if results[name].error]
    for line in errors + remarks:
        print(f"- {line}")
    context = [
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, CT of {slices} slices 512×512 16-bit, uncompressed, "
        f"{arguments.runs} run{'s' if arguments.runs != 1 else ''} per viewer (median; a fresh browser profile "
        f"each run), at most {arguments.time_limit:.0f} s per run",
        f"{os.cpu_count()} CPUs, {platform.platform(terse=True)}; headless Chromium with SwiftShader (software WebGL)",
        f"OHIF {OHIF_VERSION} (npm `@ohif/app` dist, study prefetcher on) against {orthanc_version()} with its "
        "DICOMweb plugin"
        if "ohif" in results
        else "",
        f"ours: gunicorn with {arguments.web_workers} workers, Celery, PostgreSQL, Redis" if "ours" in results else "",
        "Times are from the navigation start of `/viewer?StudyInstanceUIDs=…`, on the page's own clock. "
        "First image: a viewport canvas shows an image (its pixels). All frames: the last WADO-RS frame "
        "response of the series, or its series Pixel Data response (Resource Timing). Own progress: our "
        "series card's progress bar complete, every slice decoded into the viewer's cache. "
        '"> x s": not reached in every run; the median counting each such run at the time it was given up.',
        *errors,
        *remarks,
    ]
    parts = [
        "## Viewer benchmark",
        "\n".join(f"- {item}" for item in context if item),
        report.markdown(lines),
        "### Every run\n\n" + report.runs_markdown(list(results.values())),
    ]
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "viewer.md").write_text("\n\n".join(parts) + "\n")
    # Every run's numbers as measured, for comparing runs or machines later.
    raw = {"slices": slices, "context": [item for item in context if item]}
    raw["viewers"] = {name: dataclasses.asdict(viewer) for name, viewer in results.items()}
    (RESULTS_DIR / "viewer.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    print(f"\nWritten to {RESULTS_DIR / 'viewer.md'}")


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    _terminate_on_sigterm()
    missing = [path for path in ("/usr/bin/chromium", "/usr/sbin/Orthanc") if not Path(path).exists()]
    if missing and ("ohif" in arguments.viewers or "/usr/bin/chromium" in missing):
        print(f"Missing: {', '.join(missing)} (apt-get install -y chromium orthanc orthanc-dicomweb)", file=sys.stderr)
        return 2
    if "ours" in arguments.viewers and not FRONTEND_MANIFEST.exists():
        print(f"The viewer's front end is not built ({FRONTEND_MANIFEST} is missing): `make setup`", file=sys.stderr)
        return 2
    data = ct_data(arguments.slices)
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    OUTPUT_DIR.mkdir(parents=True)
    scratch_dir = Path(tempfile.mkdtemp(prefix="pacs-bench-viewer-"))
    options = ServerOptions(
        log_dir=OUTPUT_DIR,
        scratch_dir=scratch_dir,
        web_workers=arguments.web_workers,
        move_destination_port=free_port(),
        with_dimse=False,
        postgres_admin_url=arguments.postgres_url,
        redis_url=arguments.redis_url,
        database_name="pacs_bench_viewer",
    )
    bench = ViewerBench(data, options, arguments)
    results: dict[str, report.ViewerResults] = {}
    started = time.monotonic()
    try:
        for name in arguments.viewers:
            results[name] = bench.measure(name)
        _report(len(data.ct.sop_uids), arguments, results)
    except KeyboardInterrupt:
        print("Interrupted; the servers and browsers have been stopped.", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0
