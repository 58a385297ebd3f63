"""Run the benchmark: generate (or reuse) the data, measure Orthanc, then ours, print and save the table.

Usage: ``python -m bench [--quick] [--servers orthanc,ours] [--web-workers 4]`` or ``python bench/run.py``.
The servers run one after the other, never side by side, so each has the machine to itself. The table
goes to standard output and, as Markdown, to ``bench/results/latest.md``; server logs go to
``bench/results/logs/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):
    # Run as a script (python bench/run.py): make the project importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dcmtk, report  # noqa: E402
from bench.data import FULL, QUICK, BenchData, bench_data  # noqa: E402
from bench.measure import ServerMeasurer  # noqa: E402
from bench.processes import free_port  # noqa: E402
from bench.servers import (  # noqa: E402
    ORTHANC_INSTALL_HINT,
    ServerOptions,
    Target,
    dimse_command_exists,
    orthanc_running,
    orthanc_version,
    ours_running,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SERVERS: dict[str, Callable[[ServerOptions], AbstractContextManager[Target]]] = {
    "orthanc": orthanc_running,
    "ours": ours_running,
}
DISPLAY_NAMES = {"orthanc": "Orthanc", "ours": "ours"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK.ct_slices} CT slices, {QUICK.small_instances} small instances "
        f"(default: {FULL.ct_slices} and {FULL.small_instances})",
    )
    parser.add_argument(
        "--servers",
        default="orthanc,ours",
        help="comma-separated servers to measure, in order (default: orthanc,ours)",
    )
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers for ours (default: 4)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="an administrative PostgreSQL URL; the benchmark creates and drops the database pacs_bench "
        "next to it (env BENCH_POSTGRES_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        help="a Redis database for the Celery broker, flushed before and after (env BENCH_REDIS_URL)",
    )
    arguments = parser.parse_args(argv)
    arguments.servers = [name.strip() for name in arguments.servers.split(",") if name.strip()]
    unknown = [name for name in arguments.servers if name not in SERVERS]
    if unknown:
        parser.error(f"unknown servers {unknown}; choose from {sorted(SERVERS)}")
    return arguments


def _terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops the processes it started."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _dimse_plan(scratch_dir: Path, servers: list[str]) -> tuple[bool, str]:
    """Whether the DIMSE measurements run, and why not when they do not."""
    missing = dcmtk.missing_tools()
    if missing:
        return False, f"DIMSE part skipped: DCMTK tools missing ({', '.join(missing)}): apt-get install -y dcmtk"
    if "ours" in servers and not dimse_command_exists(scratch_dir / "probe-var"):
        return False, "DIMSE part skipped: this project has no `manage.py dimse` command yet"
    return True, ""


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    _terminate_on_sigterm()
    if "orthanc" in arguments.servers and not (Path("/usr/sbin/Orthanc").exists() or shutil.which("Orthanc")):
        print(f"Orthanc is not installed. Install it with: {ORTHANC_INSTALL_HINT}", file=sys.stderr)
        return 2
    profile = QUICK if arguments.quick else FULL
    data = bench_data(profile)
    log_dir = RESULTS_DIR / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    scratch_dir = Path(tempfile.mkdtemp(prefix="pacs-bench-"))
    results: dict[str, report.ServerResults] = {}
    try:
        with_dimse, skip_reason = _dimse_plan(scratch_dir, arguments.servers)
        if skip_reason:
            print(skip_reason, flush=True)
        options = ServerOptions(
            log_dir=log_dir,
            scratch_dir=scratch_dir,
            web_workers=arguments.web_workers,
            move_destination_port=free_port(),
            with_dimse=with_dimse,
            postgres_admin_url=arguments.postgres_url,
            redis_url=arguments.redis_url,
        )
        for name in arguments.servers:
            results[name] = _measure_server(name, options, data, with_dimse=with_dimse)
        _report(data, results, with_dimse=with_dimse, skip_reason=skip_reason, arguments=arguments)
    except KeyboardInterrupt:
        print("Interrupted; the servers have been stopped.", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    return 0


def _measure_server(name: str, options: ServerOptions, data: BenchData, *, with_dimse: bool) -> report.ServerResults:
    """Start one server, run every step against it, stop it; a server that does not start is reported."""
    print(f"Starting {name}...", flush=True)
    server_scratch = options.scratch_dir / name
    server_scratch.mkdir()
    server_options = dataclasses.replace(options, scratch_dir=server_scratch)
    try:
        with SERVERS[name](server_options) as target:
            measurer = ServerMeasurer(
                target,
                data,
                with_dimse=with_dimse,
                move_port=options.move_destination_port,
                scratch_dir=server_scratch,
                log_dir=options.log_dir,
            )
            return measurer.run()
    except (RuntimeError, OSError) as exc:
        print(f"{name} could not be measured: {exc}", file=sys.stderr, flush=True)
        failed = report.ServerResults(name=DISPLAY_NAMES[name])
        failed.remarks.append(f"could not be started: {str(exc).splitlines()[0]}")
        return failed
    # The server's scratch (its storage, the C-MOVE destination's files) is removed with the whole
    # scratch folder at the end, not here: deleting a gigabyte of files just before the next server
    # runs left ext4 slow to create files for a while, which slowed the next server's C-MOVE
    # destination (storescp) and so its measured rate.


def _report(
    data: BenchData,
    results: dict[str, report.ServerResults],
    *,
    with_dimse: bool,
    skip_reason: str,
    arguments: argparse.Namespace,
) -> None:
    profile = data.profile
    rows = report.metrics(
        ct_slices=profile.ct_slices, small_size="64×64", with_dimse=with_dimse, ct_by_stow=not with_dimse
    )
    ours, orthanc = results.get("ours"), results.get("orthanc")
    lines = report.table_rows(rows, ours, orthanc)
    measured = list(results.values())
    footnotes = report.notes(rows, measured) + report.query_mismatches(measured)
    print()
    print(report.text_table(lines))
    for note in footnotes:
        print(f"  * {note}")

    context = [
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"profile `{profile.name}`: {profile.ct_slices} CT slices 512×512, {profile.small_instances} "
        f"instances 64×64 over {profile.small_studies} studies, {profile.extra_instances} more for C-STORE",
        f"{os.cpu_count()} CPUs, {platform.platform(terse=True)}, Python {platform.python_version()}",
        f"{orthanc_version()} with its DICOMweb plugin" if "orthanc" in arguments.servers else "",
        f"ours: gunicorn with {arguments.web_workers} workers, Celery worker, PostgreSQL, Redis",
        skip_reason,
    ]
    parts = [
        "## Benchmark results",
        "\n".join(f"- {item}" for item in context if item),
        report.markdown_table(lines),
    ]
    if footnotes:
        parts.append("\n".join(f"\\* {note}  " for note in footnotes))
    details = report.query_details_markdown(measured)
    if details:
        parts.append("### Queries\n\n" + details)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "latest.md").write_text("\n\n".join(parts) + "\n")
    print(f"\nWritten to {RESULTS_DIR / 'latest.md'}")


if __name__ == "__main__":
    raise SystemExit(main())
