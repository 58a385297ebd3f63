"""The two management commands: ``remote_ae`` for scripted set-up, ``dimse`` stopping cleanly on a signal."""

from __future__ import annotations

import io
import signal
import socket

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
