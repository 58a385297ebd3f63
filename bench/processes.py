"""Child processes the benchmark starts, each in its own process group, always stopped at the end.

Every server runs as ``ManagedProcess`` inside a ``with`` block: leaving the block (normally, on an
error, or on Ctrl-C) sends SIGTERM to the whole group, waits, and sends SIGKILL to what is left, so no
gunicorn worker, Celery child or storescp outlives the run. Output goes to a log file per process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

LOCALHOST = "127.0.0.1"


class ManagedProcess:
    """A child process in a new session (its own process group), logged to ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - argv built by the benchmark, no shell
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the process's output, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the process group, then SIGKILL to whatever still runs after ``grace`` seconds."""
        process = self._process
        if process is None:
            return
        self._process = None
        group = process.pid  # the session leader's pid is its process group id
        if process.poll() is None:
            _signal_group(group, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Children (gunicorn workers, Celery pool processes) may outlive a leader that has exited.
        _signal_group(group, signal.SIGKILL)
        if process.poll() is None:
            process.wait(timeout=grace)


def _signal_group(group: int, signum: signal.Signals) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, process: ManagedProcess | None = None) -> None:
    """Poll ``check`` until it is true; raise with the process's log when ``timeout`` passes or it dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and not process.alive():
            raise RuntimeError(f"{process.name} exited while waiting for {what}:\n{process.log_tail()}")
        time.sleep(0.2)
    tail = f":\n{process.log_tail()}" if process is not None else ""
    raise RuntimeError(f"Timed out after {timeout:.0f} s waiting for {what}{tail}")


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((LOCALHOST, port), timeout=1):
            return True
    except OSError:
        return False
