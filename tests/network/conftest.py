"""Network fixtures: real DICOM peers for the archive as a service user.

- ``storescp``: DCMTK's ``storescp`` as a destination to send to, known to Alpha Hospital as STORESCP.
- ``remote_pacs``: DCMTK's ``dcmqrscp`` loaded (by ``dcmqridx``) with two studies, known as REMOTEQR; its
  configuration names our archive's AE title and port as a move destination.
- ``eager_tasks``: Celery runs tasks in the calling thread, so a transfer runs when its row is committed
  (used where the in-process DIMSE server and the test must share a thread's view of the database).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from django.utils import translation

from pacs.models import Organization, RemoteAE
from pacs.synthetic import Patient, ct_series, mr_series
from tests.conftest import ARTIFACTS
from tests.dimse.conftest import ARCHIVE_AE, Archive, archive, free_port  # noqa: F401 - the fixture

STORESCP_AE = "STORESCP"
REMOTE_AE = "REMOTEQR"
CHINESE_NAME = "Wang^Xiaoming=王小明"


def wait_listening(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{what} did not listen on {port}")


@dataclass
class StoreScp:
    remote: RemoteAE
    received: Path

    def files(self) -> list[Path]:
        return sorted(path for path in self.received.rglob("*") if path.is_file())


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are checked in English; a request in another language leaves its language active."""
    with translation.override("en"):
        yield


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    from pacs.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def storescp(org_alpha: Organization, tmp_path: Path) -> Iterator[StoreScp]:
    """DCMTK storescp, accepting the uncompressed syntaxes only (its default)."""
    port = free_port()
    received = tmp_path / "storescp"
    received.mkdir()
    log_path = ARTIFACTS / f"storescp-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["storescp", "-aet", STORESCP_AE, "-od", str(received), str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    wait_listening(port, process, "storescp")
    remote = RemoteAE.objects.create(
        organization=org_alpha, ae_title=STORESCP_AE, host="127.0.0.1", port=port, description="DCMTK storescp"
    )
    try:
        yield StoreScp(remote=remote, received=received)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class RemotePacs:
    remote: RemoteAE
    ct_study_uid: str
    ct_series_uids: list[str]
    ct_sop_uids: list[str]
    mr_study_uid: str
    log: Path


def _write(folder: Path, items: list[bytes]) -> list[Path]:
    paths = []
    for index, data in enumerate(items):
        path = folder / f"{len(list(folder.iterdir())):04d}-{index}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths


@pytest.fixture
def remote_pacs(
    archive: Archive,  # noqa: F811 - the imported fixture
    org_alpha: Organization,
    tmp_path: Path,
) -> Iterator[RemotePacs]:
    """DCMTK dcmqrscp holding a CT study (two series, a Chinese name in GB18030) and an MR study.

    Its AE table lets any peer query and retrieve; its host table names ``archive`` (our in-process DIMSE
    server) as the move destination PACS. The archive knows it as REMOTEQR of Alpha Hospital, so what
    it sends back is stored into Alpha's archive.
    """
    port = free_port()
    database = tmp_path / "dcmqrscp-db"
    database.mkdir()
    incoming = tmp_path / "dcmqrscp-files"
    incoming.mkdir()
    chinese = Patient(name=CHINESE_NAME, patient_id="RQ-1001", birth_date="19700101", sex="M", charset="GB18030")
    study_uid = pydicom.uid.generate_uid()
    ct = [*ct_series(chinese, slices=3, size=64, study_uid=study_uid, accession="RQCT1")]
    ct += [*ct_series(chinese, slices=2, size=64, study_uid=study_uid, accession="RQCT1")]
    mr = [*mr_series(Patient("Li^Na", "RQ-2002", "19800202", "F"), slices=2, size=64, accession="RQMR1")]
    paths = _write(incoming, ct + mr)
    datasets = [pydicom.dcmread(path, stop_before_pixels=True) for path in paths]
    indexed = subprocess.run(["dcmqridx", str(database), *map(str, paths)], capture_output=True, text=True)
    assert indexed.returncode == 0, indexed.stderr
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\n"
        "MaxPDUSize = 16384\n"
        "MaxAssociations = 16\n"
        "HostTable BEGIN\n"
        f"archive = ({ARCHIVE_AE}, {archive.host}, {archive.port})\n"
        "HostTable END\n"
        "VendorTable BEGIN\n"
        "VendorTable END\n"
        "AETable BEGIN\n"
        f"{REMOTE_AE} {database} RW (100, 1024mb) ANY\n"
        "AETable END\n"
    )
    log_path = ARTIFACTS / f"dcmqrscp-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["dcmqrscp", "-c", str(config), "-v", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    wait_listening(port, process, "dcmqrscp")
    remote = RemoteAE.objects.create(
        organization=org_alpha, ae_title=REMOTE_AE, host="127.0.0.1", port=port, description="DCMTK dcmqrscp"
    )
    ct_datasets = [ds for ds in datasets if ds.StudyInstanceUID == study_uid]
    try:
        yield RemotePacs(
            remote=remote,
            ct_study_uid=study_uid,
            ct_series_uids=list(dict.fromkeys(ds.SeriesInstanceUID for ds in ct_datasets)),
            ct_sop_uids=[ds.SOPInstanceUID for ds in ct_datasets],
            mr_study_uid=next(ds.StudyInstanceUID for ds in datasets if ds.Modality == "MR"),
            log=log_path,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
