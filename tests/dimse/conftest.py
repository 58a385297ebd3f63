"""DIMSE fixtures: the archive's AE in this process or as a real ``manage.py dimse``, and DCMTK peers.

The in-process server runs in threads of the test process, so it sees the test's settings (storage
root) and, through ``transactional_db``, the rows the test commits. The subprocess is the command a
hospital runs, on the same test database (see ``tests.conftest._worker_environment``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from pacs.dimse.server import DimseConfig, DimseServer
from pacs.models import Organization, RemoteAE
from tests.conftest import ARTIFACTS, REPO, _worker_environment

ARCHIVE_AE = "PACS"
MODALITY_AE = "MODALITY"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Archive:
    """Where the archive under test listens."""

    host: str
    port: int
    ae_title: str = ARCHIVE_AE

    def dcmtk(
        self,
        tool: str,
        *options: str | Path,
        files: list[Path] | tuple[Path, ...] = (),
        calling: str = MODALITY_AE,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        """Run a DCMTK tool against the archive (``tool [options] host port [files]``), capturing its output."""
        command = [
            tool,
            "-aet",
            calling,
            "-aec",
            self.ae_title,
            *map(str, options),
            self.host,
            str(self.port),
            *map(str, files),
        ]
        # DCMTK's own switch for Nagle's algorithm: without it every small instance waits for our delayed ACK.
        env = {**os.environ, "TCP_NODELAY": "1"}
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)


@pytest.fixture
def archive(transactional_db) -> Iterator[Archive]:  # type: ignore[no-untyped-def]
    """The archive's AE served by threads of this process, on a free port."""
    server = DimseServer(DimseConfig(ae_title=ARCHIVE_AE, host="127.0.0.1", port=0, shutdown_grace=5))
    server.start()
    try:
        yield Archive("127.0.0.1", server.port)
    finally:
        server.stop()


@pytest.fixture
def modality(org_alpha: Organization) -> RemoteAE:
    """A known AE of Alpha Hospital with every right; its port is where it listens for C-MOVE."""
    return RemoteAE.objects.create(organization=org_alpha, ae_title=MODALITY_AE, host="127.0.0.1", port=free_port())


def dimse_process_start(
    *, storage_root: Path, extra_env: dict[str, str] | None = None, settings_module: str | None = None
) -> tuple[subprocess.Popen, Archive, Path]:
    """Start ``manage.py dimse`` on a free port; return it once it says it is ready."""
    port = free_port()
    env = _worker_environment()
    env["PACS_STORAGE_ROOT"] = str(storage_root)
    env["PYTHONUNBUFFERED"] = "1"
    if settings_module:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    env.update(extra_env or {})
    log_path = ARTIFACTS / f"dimse-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "dimse", "--port", str(port), "--ae-title", ARCHIVE_AE, "--skip-checks"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"ready on" not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"manage.py dimse did not start:\n{log_path.read_text()}")
        time.sleep(0.1)
    return process, Archive("127.0.0.1", port), log_path


def dimse_process_stop(process: subprocess.Popen) -> int:
    process.terminate()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.fixture
def dimse_process(transactional_db) -> Iterator[Callable[..., Archive]]:  # type: ignore[no-untyped-def]
    """Start a real ``manage.py dimse`` on the test database: ``archive = dimse_process(**options)``."""
    started: list[subprocess.Popen] = []

    def start(**options) -> Archive:  # type: ignore[no-untyped-def]
        options.setdefault("storage_root", Path(settings.PACS_STORAGE_ROOT))
        process, archive, _log = dimse_process_start(**options)
        started.append(process)
        return archive

    yield start
    for process in started:
        if process.poll() is None:
            dimse_process_stop(process)


def stored_files(root: Path | None = None) -> list[Path]:
    root = root or Path(settings.PACS_STORAGE_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []
