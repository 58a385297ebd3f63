"""The SCU functions against DCMTK peers: echo, store into storescp, find and move from dcmqrscp."""

from __future__ import annotations

import pydicom
import pytest

from pacs.dimse import scu
from pacs.models import Instance, RemoteAE
from pacs.retrieve.instances import instances_select
from pacs.synthetic import Patient, ct_series
from tests.conftest import PYDICOM_TEST_FILES
from tests.network.conftest import CHINESE_NAME

pytestmark = pytest.mark.django_db(transaction=True)


def test_echo_answers_and_a_silent_peer_is_a_clear_error(storescp, org_alpha):
    result = scu.echo(storescp.remote)
    assert result.ok and result.status == 0x0000
    silent = RemoteAE(organization=org_alpha, ae_title="NOBODY", host="127.0.0.1", port=free_port_closed())
    with pytest.raises(scu.ScuError, match="Cannot connect to NOBODY@127.0.0.1"):
        scu.echo(silent)


def free_port_closed() -> int:
    from tests.dimse.conftest import free_port

    return free_port()


def test_store_sends_each_instance_with_progress_and_transcodes_what_the_peer_cannot_take(storescp, org_alpha, ingest):
    study_uid = pydicom.uid.generate_uid()
    patient = Patient(name=CHINESE_NAME, patient_id="S-1", birth_date="19700101", sex="M")
    ingest(org_alpha, *ct_series(patient, slices=4, size=64, study_uid=study_uid))
    # storescp takes only uncompressed syntaxes: this JPEG 2000 file must be decoded to be sent.
    j2k = ingest(org_alpha, PYDICOM_TEST_FILES / "MR_small_jp2klossless.dcm")[0]
    instances = instances_select(organization=org_alpha, study_uid=study_uid)
    instances += instances_select(organization=org_alpha, study_uid=j2k.study_instance_uid)
    seen: list[int] = []
    result = scu.store(storescp.remote, instances, progress=lambda state: seen.append(state.done))
    assert (result.total, result.completed, result.failed, result.warning) == (5, 5, 0, 0)
    assert seen[:5] == [1, 2, 3, 4, 5]
    received = {pydicom.dcmread(path).SOPInstanceUID: pydicom.dcmread(path) for path in storescp.files()}
    assert set(received) == {instance.sop_uid for instance in instances}
    sent_j2k = received[j2k.sop_instance_uid]
    assert sent_j2k.file_meta.TransferSyntaxUID in (
        pydicom.uid.ExplicitVRLittleEndian,
        pydicom.uid.ImplicitVRLittleEndian,
    )
    original = pydicom.dcmread(PYDICOM_TEST_FILES / "MR_small_jp2klossless.dcm")
    assert (sent_j2k.pixel_array == original.pixel_array).all()


def test_find_at_study_and_series_level_decodes_chinese_names(remote_pacs):
    studies = scu.find(remote_pacs.remote, level="STUDY", keys={})
    by_uid = {str(ds.StudyInstanceUID): ds for ds in studies}
    assert set(by_uid) == {remote_pacs.ct_study_uid, remote_pacs.mr_study_uid}
    assert str(by_uid[remote_pacs.ct_study_uid].PatientName) == CHINESE_NAME
    only_ct = scu.find(remote_pacs.remote, level="STUDY", keys={"PatientID": "RQ-1001"})
    assert [str(ds.StudyInstanceUID) for ds in only_ct] == [remote_pacs.ct_study_uid]
    series = scu.find(remote_pacs.remote, level="SERIES", keys={"StudyInstanceUID": remote_pacs.ct_study_uid})
    assert sorted(str(ds.SeriesInstanceUID) for ds in series) == sorted(remote_pacs.ct_series_uids)
    assert {str(ds.Modality) for ds in series} == {"CT"}


def test_find_stops_at_the_limit(remote_pacs):
    assert len(scu.find(remote_pacs.remote, level="STUDY", keys={}, limit=1)) == 1


def test_move_to_ourselves_stores_the_study_in_our_archive(remote_pacs, org_alpha):
    states: list[scu.MoveProgress] = []
    result = scu.move(
        remote_pacs.remote,
        study_uid=remote_pacs.ct_study_uid,
        progress=lambda state: states.append(
            scu.MoveProgress(**{**state.__dict__, "failed_sop_uids": list(state.failed_sop_uids)})
        ),
    )
    assert result.status == 0x0000
    assert (result.completed, result.failed, result.warning) == (5, 0, 0)
    assert any(state.remaining and state.remaining > 0 for state in states)
    stored = set(
        Instance.objects.filter(series__study__organization=org_alpha).values_list("sop_instance_uid", flat=True)
    )
    assert stored == set(remote_pacs.ct_sop_uids)


def test_move_of_one_series(remote_pacs, org_alpha):
    series_uid = remote_pacs.ct_series_uids[1]
    result = scu.move(remote_pacs.remote, study_uid=remote_pacs.ct_study_uid, series_uids=[series_uid])
    assert (result.status, result.completed) == (0x0000, 2)
    assert set(
        Instance.objects.filter(series__study__organization=org_alpha).values_list(
            "series__series_instance_uid", flat=True
        )
    ) == {series_uid}


def test_a_peer_that_refuses_us_is_a_clear_error(archive, org_alpha):
    # Our own archive, which knows no AE called PACS: it rejects the association at once.
    peer = RemoteAE(organization=org_alpha, ae_title=archive.ae_title, host=archive.host, port=archive.port)
    with pytest.raises(scu.ScuError, match=r"refused the association \(Calling AE title not recognised\)"):
        scu.echo(peer)


def test_store_to_a_peer_that_refuses_or_is_silent_is_a_clear_error(archive, org_alpha, ingest):
    instances = instances_select(
        organization=org_alpha, study_uid=ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm")[0].study_instance_uid
    )
    refusing = RemoteAE(organization=org_alpha, ae_title=archive.ae_title, host=archive.host, port=archive.port)
    with pytest.raises(scu.ScuError, match=r"refused the association \(Calling AE title not recognised\)"):
        scu.store(refusing, instances)
    silent = RemoteAE(organization=org_alpha, ae_title="NOBODY", host="127.0.0.1", port=free_port_closed())
    with pytest.raises(scu.ScuError, match="Cannot connect to NOBODY@127.0.0.1"):
        scu.store(silent, instances)
