"""The DIMSE client both servers get: DCMTK's storescu, findscu, movescu, and storescp as C-MOVE destination.

DCMTK tools run with ``TCP_NODELAY=1`` in their environment, so that Nagle's algorithm does not hold
back the small command PDVs DIMSE exchanges (which caps a DCMTK peer near 20 messages/s per
association). Each tool runs with ``-v`` and its output is read for the per-message statuses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import ManagedProcess, port_open, wait_until
from bench.servers import MOVE_DESTINATION_AE_TITLE, SCU_AE_TITLE, DicomPeer

TOOLS = ("storescu", "findscu", "movescu", "storescp")
# Keys a study list asks for, with the matching key added per query.
STUDY_RETURN_KEYS = (
    "StudyInstanceUID",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedInstances",
)


class DimseError(Exception):
    """A DCMTK tool failed or reported failures."""


@dataclass(frozen=True)
class ToolRun:
    """How many messages succeeded in how many seconds of wall time."""

    count: int
    seconds: float

    @property
    def rate(self) -> float | None:
        return self.count / self.seconds if self.count and self.seconds > 0 else None


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _tool(name: str) -> str:
    """The full path of a DCMTK tool."""
    path = shutil.which(name)
    if path is None:
        raise DimseError(f"{name} is not installed: apt-get install -y dcmtk")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "TCP_NODELAY": "1"}


def _peer_args(peer: DicomPeer) -> list[str]:
    return ["-aet", SCU_AE_TITLE, "-aec", peer.ae_title, peer.host, str(peer.port)]


def store(peer: DicomPeer, folders: list[Path], *, time_limit: float) -> ToolRun:
    """C-STORE every file of each folder, one storescu association per folder, all in parallel."""
    start = time.monotonic()
    processes = [
        subprocess.Popen(  # noqa: S603 - fixed tool, arguments built here
            [_tool("storescu"), "-v", *_peer_args(peer), "--scan-directories", str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(),
            start_new_session=True,
        )
        for folder in folders
    ]
    outputs = []
    try:
        for process in processes:
            remaining = max(1.0, time_limit - (time.monotonic() - start))
            outputs.append(process.communicate(timeout=remaining)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = time.monotonic() - start
    stored = sum(output.count("Received Store Response (Success)") for output in outputs)
    expected = sum(len(list(folder.glob("*.dcm"))) for folder in folders)
    if stored != expected:
        problems = [line for output in outputs for line in output.splitlines() if line.startswith(("E:", "W:"))]
        raise DimseError(f"storescu stored {stored} of {expected} instances: {' '.join(problems[:3])}")
    return ToolRun(count=stored, seconds=seconds)


def find_studies(peer: DicomPeer, keys: dict[str, str]) -> ToolRun:
    """One study-root C-FIND at study level; ``count`` is the number of matches."""
    args = ["-k", "QueryRetrieveLevel=STUDY"]
    for keyword in STUDY_RETURN_KEYS:
        args += ["-k", f"{keyword}={keys[keyword]}" if keyword in keys else keyword]
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments built here
        [_tool("findscu"), "-v", "-S", *_peer_args(peer), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0 or "Received Final Find Response (Success)" not in output:
        final = [line for line in output.splitlines() if "Final Find Response" in line or line.startswith("E:")]
        raise DimseError(f"findscu exit {result.returncode}: {' '.join(final[-2:]) or output[-300:]}")
    return ToolRun(count=output.count("(Pending)"), seconds=seconds)


@contextmanager
def move_destination(port: int, folder: Path, log_path: Path) -> Iterator[Path]:
    """A storescp receiving into ``folder`` as the C-MOVE destination, for the duration of the block."""
    folder.mkdir(parents=True)
    process = ManagedProcess(
        "storescp",
        [_tool("storescp"), "-aet", MOVE_DESTINATION_AE_TITLE, "-od", str(folder), str(port)],
        log_path=log_path,
        env=_env(),
    )
    try:
        with process:
            wait_until(lambda: port_open(port), timeout=30, what="storescp", process=process)
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def move_study(peer: DicomPeer, study_uid: str, received: Path, *, expected: int, time_limit: float) -> ToolRun:
    """C-MOVE a study to the storescp of ``move_destination``; ``count`` is the files it received."""
    start = time.monotonic()
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments built here
        [
            _tool("movescu"),
            "-v",
            "-S",
            "-aem",
            MOVE_DESTINATION_AE_TITLE,
            *_peer_args(peer),
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            f"StudyInstanceUID={study_uid}",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit,
        env=_env(),
        check=False,
    )
    seconds = time.monotonic() - start
    count = sum(1 for path in received.rglob("*") if path.is_file())
    if result.returncode != 0 or count != expected:
        output = result.stdout + result.stderr
        final = [line for line in output.splitlines() if "Final Move Response" in line or line.startswith("E:")]
        detail = " ".join(final[-2:]) or output[-300:]
        raise DimseError(f"movescu exit {result.returncode}, {count} of {expected} delivered: {detail}")
    return ToolRun(count=count, seconds=seconds)
