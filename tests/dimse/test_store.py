"""C-STORE SCP with real senders: DCMTK storescu and pynetdicom; statuses; nothing half-stored."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pydicom
import pytest
from django.conf import settings
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from pynetdicom import AE, _config
from pynetdicom.dsutils import encode_file_meta

from pacs.models import Instance, RemoteAE, Series
from pacs.synthetic import Patient, ct_series
from tests.conftest import PYDICOM_TEST_FILES
from tests.dicomweb.helpers import make_instance
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE, Archive, free_port, stored_files

# storescu proposes uncompressed syntaxes only, unless told which compressed one to offer as well.
STORESCU_PROPOSAL = {
    "1.2.840.10008.1.2.1.99": "-xd",
    "1.2.840.10008.1.2.2": "-xb",
    "1.2.840.10008.1.2.4.50": "-xy",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.81": "-xu",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.5": "-xr",
}


def storescu_outcomes(output: str) -> dict[str, str]:
    """File path → the response storescu reported for it ("Success", "Error: ...")."""
    outcomes: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if match := re.match(r"I: Sending file: (.*)", line):
            current = match.group(1)
        elif current and (match := re.match(r"I: Received Store Response \((.*)\)", line)):
            outcomes[current] = match.group(1)
    return outcomes


def test_storescu_with_every_pydicom_test_file(archive, modality):
    groups: dict[str, list[Path]] = defaultdict(list)
    syntax_of: dict[str, str] = {}
    for path in sorted(PYDICOM_TEST_FILES.rglob("*")):
        if not path.is_file():
            continue
        try:
            syntax = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.get("TransferSyntaxUID", ""))
        except Exception:  # noqa: BLE001 - not DICOM: storescu skips it as well
            syntax = ""
        syntax_of[str(path)] = syntax
        groups[STORESCU_PROPOSAL.get(syntax, "-x=")].append(path)

    outcomes: dict[str, str] = {}
    for proposal, paths in groups.items():
        result = archive.dcmtk("storescu", "-v", "-R", "-nh", proposal, files=paths)
        outcomes.update(storescu_outcomes(result.stdout + result.stderr))

    succeeded = {name for name, outcome in outcomes.items() if outcome == "Success"}
    failed = {name: outcome for name, outcome in outcomes.items() if outcome != "Success"}
    assert len(succeeded) > 80, outcomes
    # Only files whose data set lacks identifying UIDs are refused, with the precise status.
    for name, outcome in failed.items():
        dataset = pydicom.dcmread(name, stop_before_pixels=True)
        assert outcome == "Error: DataSetDoesNotMatchSOPClass", (name, outcome)
        assert not all(dataset.get(k) for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")), name

    # Compressed syntaxes are stored as offered: no conversion on the way in. (Some test files share a
    # SOP Instance UID, the last one sent replacing the others: those are left out.)
    sent: dict[str, list[str]] = defaultdict(list)
    for name in succeeded:
        sent[str(pydicom.dcmread(name, stop_before_pixels=True, force=True).SOPInstanceUID)].append(name)
    stored = dict(Instance.objects.values_list("sop_instance_uid", "transfer_syntax_uid"))
    checked = 0
    for sop_uid, names in sent.items():
        syntax = syntax_of[names[0]]
        if len(names) == 1 and syntax in STORESCU_PROPOSAL:
            assert stored[sop_uid] == syntax, names[0]
            checked += 1
    assert checked >= 15


def _ct_files(directory: Path, count: int, *, size: int = 64) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    patient = Patient(name="Zhang^San", patient_id=f"P{count}", birth_date="19800101", sex="M")
    for index, data in enumerate(ct_series(patient, slices=count, size=size)):
        path = directory / f"{index:04d}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_a_500_instance_series_through_the_real_command(dimse_process, modality, tmp_path):
    archive = dimse_process()
    paths = _ct_files(tmp_path / "series", 500)
    started = time.monotonic()
    result = archive.dcmtk("storescu", "+sd", files=[tmp_path / "series"], timeout=600)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    series = Series.objects.get()
    assert series.number_of_instances == 500
    assert Instance.objects.count() == 500
    assert len(stored_files()) == 500
    print(f"500 instances over one DCMTK association in {elapsed:.1f} s ({500 / elapsed:.0f}/s)")
    assert len(paths) == 500


def test_several_associations_at_once(archive, modality, tmp_path):
    directories = []
    for sender in range(4):
        _ct_files(tmp_path / f"sender{sender}", 25, size=32)
        directories.append(tmp_path / f"sender{sender}")
    senders = [
        subprocess.Popen(
            ["storescu", "-aet", MODALITY_AE, "-aec", ARCHIVE_AE, "+sd", archive.host, str(archive.port), str(d)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for d in directories
    ]
    for sender in senders:
        output, _ = sender.communicate(timeout=300)
        assert sender.returncode == 0, output
    assert Instance.objects.count() == 100
    assert sorted(Series.objects.values_list("number_of_instances", flat=True)) == [25, 25, 25, 25]


def _send_raw(archive: Archive, *, sop_class: str, sop_instance: str, body: bytes, tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """C-STORE ``body`` as the data set bytes, exactly as given (pynetdicom's chunked send)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / f"{sop_instance}.dcm"
    path.write_bytes(b"\x00" * 128 + b"DICM" + encode_file_meta(meta) + body)
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    try:
        return association.send_c_store(path)
    finally:
        association.release()


def _body_of(part10: bytes) -> bytes:
    """The data set bytes of a Part 10 file (after the File Meta Information)."""
    dataset = pydicom.dcmread(io.BytesIO(part10), stop_before_pixels=True)
    meta_length = 132 + 12 + int(dataset.file_meta.FileMetaInformationGroupLength)
    return part10[meta_length:]


def test_sop_class_other_than_the_context_is_0xA900(archive, modality, tmp_path, monkeypatch):
    instance = make_instance()  # Secondary Capture, sent on a CT Image Storage context
    sop_uid = pydicom.dcmread(io.BytesIO(instance)).SOPInstanceUID
    status = _send_raw(
        archive,
        sop_class=CTImageStorage,
        sop_instance=sop_uid,
        body=_body_of(instance),
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert status.Status == 0xA900
    assert "differs from the negotiated" in status.ErrorComment
    assert not Instance.objects.exists()
    assert stored_files() == []


def test_unparseable_data_set_is_0xC000_with_a_comment(archive, modality, tmp_path, monkeypatch):
    instance = make_instance()
    truncated = _body_of(instance)[:-40]
    status = _send_raw(
        archive,
        sop_class=SecondaryCaptureImageStorage,
        sop_instance=generate_uid(),
        body=truncated,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert status.Status == 0xC000
    assert status.ErrorComment
    assert stored_files() == []


def test_data_set_without_sop_instance_uid_is_0xA900(archive, modality, tmp_path, monkeypatch):
    dataset = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    del dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    status = _send_raw(
        archive,
        sop_class=CTImageStorage,
        sop_instance=generate_uid(),
        body=_body_of(buffer.getvalue()),
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert status.Status == 0xA900
    assert status.ErrorComment == "Missing SOPInstanceUID"


def test_a_peer_that_may_not_store_is_refused_0x0124(archive, modality):
    RemoteAE.objects.filter(pk=modality.pk).update(allow_store=False)
    result = archive.dcmtk("storescu", "-v", files=[PYDICOM_TEST_FILES / "CT_small.dcm"])
    # DCMTK names only the statuses of PS3.4 B.2.3; 0x0124 is the general "Refused: Not Authorized" (PS3.7 C.5.1).
    assert "Received Store Response (Unknown Status: 0x124)" in result.stdout + result.stderr, result.stderr
    assert not Instance.objects.exists()


def test_the_calling_ae_decides_the_organization(archive, org_alpha, org_beta):
    RemoteAE.objects.create(organization=org_beta, ae_title="BETA_CT", host="127.0.0.1", port=free_port())
    result = archive.dcmtk("storescu", files=[PYDICOM_TEST_FILES / "CT_small.dcm"], calling="BETA_CT")
    assert result.returncode == 0, result.stderr
    assert Instance.objects.get().series.study.organization == org_beta


@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="locks the SQLite test database file"
)
def test_database_unavailable_is_0xA700_and_nothing_is_stored(dimse_process, modality, tmp_path):
    """The real command; the database stops taking writes (another process holds its write lock)."""
    archive = dimse_process(settings_module="tests.dimse.short_lock_settings")
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    dataset = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    locker = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")
        status = association.send_c_store(dataset)
        assert status.Status == 0xA700
        assert status.ErrorComment == "Database unavailable"
        assert stored_files() == []
        locker.execute("ROLLBACK")
        # The same association recovers once the database does.
        assert association.send_c_store(dataset).Status == 0x0000
    finally:
        association.release()
        locker.close()
    assert Instance.objects.filter(sop_instance_uid=dataset.SOPInstanceUID).exists()
    assert len(stored_files()) == 1


def test_database_unreachable_at_association_is_a_transient_rejection(dimse_process, tmp_path):
    """The real command pointed at a PostgreSQL server that does not answer: the modality must retry later."""
    archive = dimse_process(
        storage_root=tmp_path / "storage",
        extra_env={"DATABASE_URL": f"postgres://pacs@127.0.0.1:{free_port()}/pacs"},
    )
    result = archive.dcmtk("storescu", "-v", files=[PYDICOM_TEST_FILES / "CT_small.dcm"])
    assert result.returncode != 0
    assert "Rejected Transient" in result.stdout + result.stderr
    assert stored_files(tmp_path / "storage") == []


def test_stored_over_dimse_is_served_over_dicomweb(archive, modality, alpha_http):
    result = archive.dcmtk("storescu", files=[PYDICOM_TEST_FILES / "CT_small.dcm"])
    assert result.returncode == 0, result.stderr
    dataset = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    found = alpha_http.get("/dicomweb/studies", params={"StudyInstanceUID": dataset.StudyInstanceUID})
    assert found.status_code == 200, found.text
    assert found.json()[0]["0020000D"]["Value"] == [dataset.StudyInstanceUID]
    series_url = f"/dicomweb/studies/{dataset.StudyInstanceUID}/series/{dataset.SeriesInstanceUID}"
    url = f"{series_url}/instances/{dataset.SOPInstanceUID}"
    response = alpha_http.get(url, headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
    assert response.status_code == 200, response.text
    assert dataset.SOPInstanceUID.encode() in response.content
