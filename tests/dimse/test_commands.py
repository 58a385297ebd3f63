"""The two management commands: ``remote_ae`` for scripted set-up, ``dimse`` stopping cleanly on a signal."""

from __future__ import annotations

import io
import signal
import socket
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from pacs.models import RemoteAE
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE, dimse_process_start, dimse_process_stop


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("remote_ae", *args, stdout=out)
    return out.getvalue()


def test_remote_ae_add_list_update_remove(org_alpha):
    assert "Added CT1@10.0.0.5:104 for alpha" in _run(
        "add", "CT1", "10.0.0.5", "104", "--organization", "alpha", "--no-query"
    )
    remote = RemoteAE.objects.get(ae_title="CT1")
    assert (remote.allow_store, remote.allow_query, remote.allow_retrieve) == (True, False, True)
    assert "Updated CT1@10.0.0.6:11112" in _run("add", "CT1", "10.0.0.6", "11112", "--organization", "alpha")
    listing = _run("list")
    assert "CT1" in listing and "10.0.0.6:11112" in listing and "SQR" in listing
    assert "Removed CT1" in _run("remove", "CT1")
    assert not RemoteAE.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "A" * 17, "h", "104"), "1 to 16"),
        (("add", "CT1", "h", "70000"), "not a TCP port"),
        (("add", "CT1", "h", "104", "--organization", "nowhere"), "No organization"),
        (("remove", "NOBODY"), "No AE"),
    ],
)
def test_remote_ae_refuses_bad_input(org_alpha, args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args)


def test_dimse_stops_cleanly_on_sigterm_and_lets_a_running_association_finish(transactional_db, modality, tmp_path):
    process, archive, log_path = dimse_process_start(storage_root=tmp_path / "storage")
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(Verification)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    process.send_signal(signal.SIGTERM)
    # Still served during the grace period, then released by the peer.
    assert association.send_c_echo().Status == 0x0000
    association.release()
    assert dimse_process_stop(process) == 0
    log = log_path.read_text()
    assert "Stopped" in log
    assert "Traceback" not in log
    with socket.socket() as probe:
        assert probe.connect_ex((archive.host, archive.port)) != 0  # nothing listens any more


def _children(pid: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _connections_to(port: int) -> set[str]:
    """Inodes of the established TCP connections whose local port is ``port`` (the server's ends)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == "01":  # TCP_ESTABLISHED
            inodes.add(fields[9])
    return inodes


def test_dimse_processes_share_associations_evenly(transactional_db, modality, tmp_path):
    """Four associations opened together go two to each of two processes, even after a connection that
    closed without associating (a port probe), which pynetdicom keeps as a thread for its ACSE timeout."""
    # The probe's thread waits for an A-ASSOCIATE-RQ until the ACSE timeout, and the stop for that thread.
    process, archive, log_path = dimse_process_start(
        storage_root=tmp_path / "storage", extra_env={"DIMSE_PROCESSES": "2", "DIMSE_ACSE_TIMEOUT": "3"}
    )
    try:
        deadline = time.monotonic() + 60
        while log_path.read_text().count("ready on") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        children = sorted(_children(process.pid))
        assert len(children) == 2
        with socket.create_connection((archive.host, archive.port)):
            pass  # the probe
        time.sleep(0.5)

        ae = AE(ae_title=MODALITY_AE)
        ae.add_requested_context(Verification)
        associations = [ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE) for _ in range(4)]
        try:
            assert all(association.is_established for association in associations)
            served = _connections_to(archive.port)
            assert len(served) == 4
            assert [len(_socket_inodes(child) & served) for child in children] == [2, 2]
        finally:
            for association in associations:
                association.release()
    finally:
        assert dimse_process_stop(process) == 0


def test_dimse_processes_share_the_port_and_stop_together(transactional_db, modality, tmp_path):
    process, archive, log_path = dimse_process_start(
        storage_root=tmp_path / "storage", extra_env={"DIMSE_PROCESSES": "2"}
    )
    deadline = time.monotonic() + 60
    while log_path.read_text().count("ready on") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert log_path.read_text().count("ready on") == 2
    assert len(_children(process.pid)) == 2

    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(Verification)
    associations = [ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE) for _ in range(6)]
    try:
        assert all(association.is_established for association in associations)
        assert [association.send_c_echo().Status for association in associations] == [0x0000] * 6
    finally:
        for association in associations:
            association.release()

    assert dimse_process_stop(process) == 0
    assert "Traceback" not in log_path.read_text()
    assert log_path.read_text().count("Stopped") == 3  # each service process, then the parent
    with socket.socket() as probe:
        assert probe.connect_ex((archive.host, archive.port)) != 0
