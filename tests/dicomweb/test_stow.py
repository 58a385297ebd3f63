"""STOW-RS against the live server: statuses, failure reasons, and nothing half-stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from pacs import storage
from pacs.models import Instance, Study
from tests.conftest import PYDICOM_TEST_FILES
from tests.dicomweb.helpers import make_instance, multipart, uids_of

FAILED = "00081198"
REFERENCED = "00081199"
REASON = "00081197"
SOP_UID = "00081155"


def stow(http, parts: list[bytes], url: str = "/dicomweb/studies", **kwargs):  # type: ignore[no-untyped-def]
    body, content_type = multipart(parts, **kwargs)
    return http.post(url, data=body, headers={"Content-Type": content_type, "Accept": "application/dicom+json"})


def stored_files() -> list[Path]:
    return [p for p in storage.storage_root().rglob("*") if p.is_file()]


def test_store_with_dicomweb_client(alpha_client, org_alpha):
    import pydicom

    dataset = pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm")
    result = alpha_client.store_instances([dataset])
    assert result.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == dataset.SOPInstanceUID
    instance = Instance.objects.get(sop_instance_uid=dataset.SOPInstanceUID)
    assert instance.series.study.organization == org_alpha
    assert storage.absolute_path(instance.file_path).is_file()


def test_all_stored_is_200_with_retrieve_urls(alpha_http):
    study_uid = generate_uid()
    parts = [make_instance(study_uid=study_uid) for _ in range(3)]
    response = stow(alpha_http, parts)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/dicom+json")
    body = response.json()
    assert len(body[REFERENCED]["Value"]) == 3
    assert body["00081190"]["Value"][0].endswith(f"/dicomweb/studies/{study_uid}")
    assert FAILED not in body
    assert Study.objects.get(study_instance_uid=study_uid).number_of_instances == 3


def test_partial_failure_is_202_and_keeps_the_good_instances(alpha_http):
    good = make_instance()
    response = stow(alpha_http, [good, b"this is not DICOM at all", make_instance()[:300]])
    assert response.status_code == 202
    body = response.json()
    assert len(body[REFERENCED]["Value"]) == 1
    reasons = [item[REASON]["Value"][0] for item in body[FAILED]["Value"]]
    assert reasons == [0xC000, 0xC000]
    assert "Warning" in response.headers
    assert Instance.objects.filter(sop_instance_uid=uids_of(good)[2]).exists()
    assert len(stored_files()) == 1


def test_all_failed_is_409(alpha_http):
    response = stow(alpha_http, [b"junk", b"DICM" * 10])
    assert response.status_code == 409
    assert [i[REASON]["Value"][0] for i in response.json()[FAILED]["Value"]] == [0xC000, 0xC000]
    assert stored_files() == []
    assert not Instance.objects.exists()


def test_instance_of_another_study_is_refused_with_a900(alpha_http):
    target = generate_uid()
    matching = make_instance(study_uid=target)
    other = make_instance()
    response = stow(alpha_http, [matching, other], url=f"/dicomweb/studies/{target}")
    assert response.status_code == 202
    failed = response.json()[FAILED]["Value"]
    assert failed[0][REASON]["Value"] == [0xA900]
    assert failed[0][SOP_UID]["Value"] == [uids_of(other)[2]]
    assert not Instance.objects.filter(sop_instance_uid=uids_of(other)[2]).exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("no_meta.dcm", 0xC000),  # no preamble, no SOP UIDs
        ("meta_missing_tsyntax.dcm", 0xC000),
        ("MR_truncated.dcm", 0xC000),
        ("rtplan_truncated.dcm", 0xC000),
        ("nested_priv_SQ.dcm", 0xA900),  # no Study Instance UID
    ],
)
def test_broken_pydicom_files_are_refused_with_the_right_reason(alpha_http, name, reason):
    response = stow(alpha_http, [(PYDICOM_TEST_FILES / name).read_bytes()])
    assert response.status_code == 409, response.text
    assert response.json()[FAILED]["Value"][0][REASON]["Value"] == [reason]
    assert stored_files() == []


def test_duplicate_identical_instance_is_success_with_a_warning_reason(alpha_http):
    instance = make_instance()
    assert stow(alpha_http, [instance]).status_code == 200
    again = stow(alpha_http, [instance])
    assert again.status_code == 200
    assert again.json()[REFERENCED]["Value"][0]["00081196"]["Value"] == [0xB000]
    assert Instance.objects.count() == 1


def test_changed_instance_with_the_same_uid_replaces_the_stored_one(alpha_http):
    import io

    import pydicom

    original = make_instance(patient_name="Before^Name")
    ds = pydicom.dcmread(io.BytesIO(original))
    ds.PatientName = "After^Name"
    changed = io.BytesIO()
    ds.save_as(changed)
    assert stow(alpha_http, [original]).status_code == 200
    assert stow(alpha_http, [changed.getvalue()]).status_code == 200
    instance = Instance.objects.get()
    assert storage.absolute_path(instance.file_path).read_bytes() == changed.getvalue()
    assert instance.series.study.patient.patient_name == "After^Name"
    assert len(stored_files()) == 1


def test_wrong_content_types_are_415(alpha_http):
    response = alpha_http.post("/dicomweb/studies", data=make_instance(), headers={"Content-Type": "application/dicom"})
    assert response.status_code == 415
    assert "multipart/related" in response.json()["error"]
    body, content_type = multipart([b"{}"])
    response = alpha_http.post(
        "/dicomweb/studies",
        data=body,
        headers={"Content-Type": content_type.replace("application/dicom", "application/dicom+json")},
    )
    assert response.status_code == 415


def test_missing_boundary_and_empty_body_are_400(alpha_http):
    response = alpha_http.post(
        "/dicomweb/studies", data=b"x", headers={"Content-Type": 'multipart/related; type="application/dicom"'}
    )
    assert response.status_code == 400
    response = alpha_http.post(
        "/dicomweb/studies", data=b"no parts here", headers={"Content-Type": "multipart/related; boundary=abc"}
    )
    assert response.status_code == 400


def test_body_over_the_limit_is_413_and_nothing_is_stored(alpha_http, settings):
    settings.PACS_MAX_UPLOAD_BYTES = 2000
    response = stow(alpha_http, [make_instance(rows=64, columns=64)])
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert stored_files() == []


def test_unauthenticated_is_401_and_wrong_token_is_401(anonymous_http):
    assert stow(anonymous_http, [make_instance()]).status_code == 401
    anonymous_http.headers["Authorization"] = "Bearer pacs_not-a-real-token"
    assert stow(anonymous_http, [make_instance()]).status_code == 401
    assert not Instance.objects.exists()


def test_each_organization_stores_into_its_own(alpha_http, beta_http, org_alpha, org_beta):
    study_uid = generate_uid()
    assert stow(alpha_http, [make_instance(study_uid=study_uid)]).status_code == 200
    assert stow(beta_http, [make_instance(study_uid=study_uid)]).status_code == 200
    organizations = set(Study.objects.filter(study_instance_uid=study_uid).values_list("organization__slug", flat=True))
    assert organizations == {"alpha", "beta"}


def test_every_pydicom_test_file_is_stored_or_refused_with_a_reason(alpha_http):
    files = sorted(PYDICOM_TEST_FILES.glob("*.dcm"))
    stored = refused = 0
    for path in files:
        response = stow(alpha_http, [path.read_bytes()])
        assert response.status_code in (200, 409), (path.name, response.status_code, response.text)
        if response.status_code == 200:
            stored += 1
        else:
            refused += 1
            assert response.json()[FAILED]["Value"][0][REASON]["Value"][0] in (0xA900, 0xC000, 0xC122), path.name
    assert stored >= 60 and refused >= 5, (stored, refused)
