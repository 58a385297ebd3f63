"""Association acceptance and C-ECHO, against real DCMTK and pynetdicom peers."""

from __future__ import annotations

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from pacs.models import RemoteAE
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE


def test_echoscu_of_a_known_ae_against_the_real_command(dimse_process, modality):
    archive = dimse_process()
    result = archive.dcmtk("echoscu", "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Received Echo Response (Success)" in result.stdout + result.stderr


def test_unknown_calling_ae_is_rejected_permanently(archive, modality):
    result = archive.dcmtk("echoscu", "-v", calling="STRANGER")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Association Rejected" in output
    assert "Calling AE Title Not Recognized" in output
    assert "Rejected Permanent" in output


def test_unknown_ae_admitted_into_the_default_organization_when_the_setting_allows(archive, org_beta, settings):
    settings.DIMSE_ACCEPT_UNKNOWN_AES = True
    settings.DIMSE_UNKNOWN_AE_ORGANIZATION = org_beta.slug
    result = archive.dcmtk("echoscu", calling="STRANGER")
    assert result.returncode == 0, result.stdout + result.stderr


def test_wrong_called_ae_title_is_rejected(archive, modality):
    result = archive.dcmtk("echoscu", "-v", "-aec", "OTHERPACS")
    assert result.returncode != 0
    assert "Called AE Title Not Recognized" in result.stdout + result.stderr


def test_pynetdicom_echo_and_release(archive, modality):
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(Verification)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    status = association.send_c_echo()
    association.release()
    assert status.Status == 0x0000


@pytest.mark.parametrize("flag", ["allow_query", "allow_retrieve"])
def test_query_and_retrieve_contexts_are_refused_to_a_peer_without_the_right(archive, modality, flag):
    from pynetdicom.sop_class import (
        StudyRootQueryRetrieveInformationModelFind,
        StudyRootQueryRetrieveInformationModelMove,
    )

    RemoteAE.objects.filter(pk=modality.pk).update(**{flag: False})
    refused = (
        StudyRootQueryRetrieveInformationModelFind
        if flag == "allow_query"
        else StudyRootQueryRetrieveInformationModelMove
    )
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(Verification)
    ae.add_requested_context(refused)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    try:
        assert association.is_established
        accepted = {context.abstract_syntax for context in association.accepted_contexts}
        assert Verification in accepted
        assert refused not in accepted
    finally:
        association.release()


def test_a_connection_closed_before_associating_frees_its_thread_at_once(transactional_db, modality):
    """A port probe or a load balancer's health check: pynetdicom waited the ACSE timeout (30 s here) for
    its A-ASSOCIATE-RQ, the thread counting against the maximum associations all the while."""
    import socket
    import time

    from pacs.dimse.server import DimseConfig, DimseServer

    server = DimseServer(DimseConfig(ae_title=ARCHIVE_AE, host="127.0.0.1", port=0, acse_timeout=30, shutdown_grace=5))
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)):
            pass
        time.sleep(1)  # accepted by now, and its thread started
        deadline = time.monotonic() + 10  # a third of the ACSE timeout
        while server._acceptor_associations() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server._acceptor_associations() == []

        # The archive still associates afterwards.
        ae = AE(ae_title=MODALITY_AE)
        ae.add_requested_context(Verification)
        association = ae.associate("127.0.0.1", server.port, ae_title=ARCHIVE_AE)
        assert association.is_established
        assert association.send_c_echo().Status == 0x0000
        association.release()
    finally:
        server.stop()
