"""Transfer jobs against real peers, run by the task function in this process (``eager_tasks``).

The task runs synchronously here, when the transfer's row is committed: the retrieve needs the archive's
DIMSE server of this process (``archive``) to receive what dcmqrscp sends back, and runs the same code
the worker runs. The worker process itself drives a transfer in ``test_browser.py``.
"""

from __future__ import annotations

import pydicom
import pytest

from network.models import Transfer, TransferKind, TransferStatus
from network.services import (
    NetworkError,
    StudyQuery,
    remote_echo,
    remote_query_series,
    remote_query_studies,
    transfer_retrieve_create,
    transfer_run,
    transfer_send_create,
)
from pacs.models import Instance, RemoteAE, Study
from pacs.synthetic import Patient, ct_series
from tests.dimse.conftest import free_port
from tests.network.conftest import CHINESE_NAME

pytestmark = pytest.mark.django_db(transaction=True)


def _ct_study(ingest, org, slices: int = 6) -> str:  # type: ignore[no-untyped-def]
    study_uid = pydicom.uid.generate_uid()
    patient = Patient(name=CHINESE_NAME, patient_id="S-1", birth_date="19700101", sex="M")
    ingest(org, *ct_series(patient, slices=slices, size=64, study_uid=study_uid))
    return study_uid


def test_send_a_study_to_storescp(eager_tasks, storescp, org_alpha, ingest):
    study_uid = _ct_study(ingest, org_alpha)
    transfer = transfer_send_create(organization=org_alpha, user=None, remote=storescp.remote, study_uids=[study_uid])
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.DONE, transfer.error_message
    assert (transfer.total, transfer.completed, transfer.failed, transfer.warning) == (6, 6, 0, 0)
    assert transfer.percent == 100 and transfer.started_at and transfer.finished_at
    received = {pydicom.dcmread(path).SOPInstanceUID for path in storescp.files()}
    assert received == set(
        Instance.objects.filter(series__study__study_instance_uid=study_uid).values_list("sop_instance_uid", flat=True)
    )


def test_send_one_series(eager_tasks, storescp, org_alpha, ingest):
    study_uid = pydicom.uid.generate_uid()
    patient = Patient(name="Li^Lei", patient_id="S-2", birth_date="19700101", sex="M")
    ingest(org_alpha, *ct_series(patient, slices=2, size=64, study_uid=study_uid))
    ingest(org_alpha, *ct_series(patient, slices=3, size=64, study_uid=study_uid))
    series_uid = Study.objects.get(study_instance_uid=study_uid).series.order_by("pk").last().series_instance_uid
    transfer = transfer_send_create(
        organization=org_alpha, user=None, remote=storescp.remote, study_uids=[study_uid], series_uid=series_uid
    )
    transfer.refresh_from_db()
    assert (transfer.status, transfer.completed) == (TransferStatus.DONE, 3)
    assert {pydicom.dcmread(path).SeriesInstanceUID for path in storescp.files()} == {series_uid}


def test_a_peer_that_does_not_answer_fails_the_job_with_a_clear_message(eager_tasks, org_alpha, ingest):
    study_uid = _ct_study(ingest, org_alpha, slices=1)
    silent = RemoteAE.objects.create(organization=org_alpha, ae_title="SILENT", host="127.0.0.1", port=free_port())
    transfer = transfer_send_create(organization=org_alpha, user=None, remote=silent, study_uids=[study_uid])
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.FAILED
    assert "Cannot connect to SILENT@127.0.0.1" in transfer.error_message
    assert "nothing answers" in transfer.error_message
    echo = remote_echo(silent)
    assert not echo.ok and "Cannot connect" in echo.message


def test_a_finished_transfer_is_not_run_again(eager_tasks, storescp, org_alpha, ingest):
    study_uid = _ct_study(ingest, org_alpha, slices=2)
    transfer = transfer_send_create(organization=org_alpha, user=None, remote=storescp.remote, study_uids=[study_uid])
    for path in storescp.files():
        path.unlink()
    transfer_run(transfer.pk)  # a second delivery of the task
    assert storescp.files() == []
    transfer.refresh_from_db()
    assert (transfer.status, transfer.completed) == (TransferStatus.DONE, 2)


def test_only_the_organizations_studies_and_aes_can_be_used(storescp, org_alpha, org_beta, ingest):
    beta_study = _ct_study(ingest, org_beta, slices=1)
    with pytest.raises(NetworkError, match="No such study"):
        transfer_send_create(organization=org_alpha, user=None, remote=storescp.remote, study_uids=[beta_study])
    with pytest.raises(NetworkError, match="known AEs"):
        transfer_send_create(organization=org_beta, user=None, remote=storescp.remote, study_uids=[beta_study])
    assert not Transfer.objects.exists()


def test_query_then_retrieve_a_study_into_our_archive(eager_tasks, remote_pacs, org_alpha, alpha_http):
    studies = remote_query_studies(remote_pacs.remote, StudyQuery(patient_id="RQ-1001"))
    assert [study.study_uid for study in studies] == [remote_pacs.ct_study_uid]
    assert studies[0].patient_name == CHINESE_NAME
    assert (studies[0].accession_number, studies[0].study_date) == ("RQCT1", "2024-11-05")
    series = remote_query_series(remote_pacs.remote, remote_pacs.ct_study_uid)
    assert sorted(item.series_uid for item in series) == sorted(remote_pacs.ct_series_uids)
    assert alpha_http.get(f"/dicomweb/studies?StudyInstanceUID={remote_pacs.ct_study_uid}").json() == []

    transfer = transfer_retrieve_create(
        organization=org_alpha, user=None, remote=remote_pacs.remote, study_uid=remote_pacs.ct_study_uid
    )
    transfer.refresh_from_db()
    assert transfer.kind == TransferKind.RETRIEVE
    assert transfer.status == TransferStatus.DONE, transfer.error_message
    assert (transfer.total, transfer.completed, transfer.failed) == (5, 5, 0)
    found = alpha_http.get(f"/dicomweb/studies?StudyInstanceUID={remote_pacs.ct_study_uid}")
    assert found.status_code == 200
    (study,) = found.json()
    assert study["00201208"]["Value"] == [5]  # NumberOfStudyRelatedInstances
    assert study["00100010"]["Value"][0]["Ideographic"] == "王小明"


def test_retrieve_one_series(eager_tasks, remote_pacs, org_alpha):
    series_uid = remote_pacs.ct_series_uids[0]
    transfer = transfer_retrieve_create(
        organization=org_alpha,
        user=None,
        remote=remote_pacs.remote,
        study_uid=remote_pacs.ct_study_uid,
        series_uids=[series_uid],
    )
    transfer.refresh_from_db()
    assert (transfer.status, transfer.completed) == (TransferStatus.DONE, 3)
    assert set(Instance.objects.values_list("series__series_instance_uid", flat=True)) == {series_uid}


def test_retrieve_of_what_the_peer_does_not_have_fails(eager_tasks, remote_pacs, org_alpha):
    transfer = transfer_retrieve_create(
        organization=org_alpha, user=None, remote=remote_pacs.remote, study_uid=pydicom.uid.generate_uid()
    )
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.FAILED
    assert "REMOTEQR" in transfer.error_message
    assert not Instance.objects.exists()


def test_retrieve_needs_the_peer_to_be_allowed_to_store(remote_pacs, org_alpha):
    RemoteAE.objects.filter(pk=remote_pacs.remote.pk).update(allow_store=False)
    remote_pacs.remote.refresh_from_db()
    with pytest.raises(NetworkError, match="may not store"):
        transfer_retrieve_create(
            organization=org_alpha, user=None, remote=remote_pacs.remote, study_uid=remote_pacs.ct_study_uid
        )


def test_retrieve_to_an_ae_title_the_peer_does_not_know_says_so(eager_tasks, remote_pacs, org_alpha, settings):
    settings.DIMSE_AE_TITLE = "STRANGER"  # dcmqrscp's host table knows only PACS as a destination
    transfer = transfer_retrieve_create(
        organization=org_alpha, user=None, remote=remote_pacs.remote, study_uid=remote_pacs.ct_study_uid
    )
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.FAILED
    assert "move destination unknown" in transfer.error_message
    assert "does not know our AE title STRANGER" in transfer.error_message
    assert not Instance.objects.exists()
