"""The study browser's search, sort, pages and tabs, and the viewer's deep links, through the real views."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pydicom
import pytest

from pacs.models import User
from tests.dicomweb.helpers import make_instance

pytestmark = pytest.mark.django_db

PAGE_SIZE = 25  # viewer.views.PAGE_SIZE, written out so the test states what a user sees


def _with_description(data: bytes, description: str) -> bytes:
    dataset = pydicom.dcmread(BytesIO(data))
    dataset.StudyDescription = description
    out = BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _accessions(html: str) -> list[str]:
    """The accession numbers of the listed studies, in the order shown (their own cells, not the form's)."""
    return re.findall(r"<td>(ACC-[A-Z0-9-]+)</td>", html)


@pytest.fixture
def reader(client, org_alpha):  # type: ignore[no-untyped-def]
    user = User.objects.create_user("dr-zhao", password="pw-123456789", organization=org_alpha)
    client.force_login(user)
    return client


@pytest.fixture
def three_studies(org_alpha, ingest):  # type: ignore[no-untyped-def]
    ingest(
        org_alpha,
        _with_description(
            make_instance(patient_id="PID-1", accession="ACC-CT", modality="CT", study_date="20240105"), "CT HEAD"
        ),
    )
    ingest(
        org_alpha,
        _with_description(
            make_instance(patient_id="PID-2", accession="ACC-MR", modality="MR", study_date="20240210"), "MR KNEE"
        ),
    )
    ingest(
        org_alpha,
        _with_description(
            make_instance(patient_id="PID-2", accession="ACC-US", modality="US", study_date="20240320"), "US ABDOMEN"
        ),
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"patient_id": "PID-2"}, {"ACC-MR", "ACC-US"}),
        ({"accession_number": "ACC-MR"}, {"ACC-MR"}),
        ({"date_from": "2024-02-01", "date_to": "2024-02-28"}, {"ACC-MR"}),
        ({"modality": "US"}, {"ACC-US"}),
        ({"description": "knee"}, {"ACC-MR"}),
        ({"patient_id": "PID-2", "modality": "CT"}, set()),
    ],
)
def test_each_search_field_narrows_the_list(reader, three_studies, query, expected):  # type: ignore[no-untyped-def]
    page = reader.get("/", query)
    assert page.status_code == 200
    assert set(_accessions(page.content.decode())) == expected


def test_sorted_by_a_column_either_way_newest_first_by_default(reader, three_studies):  # type: ignore[no-untyped-def]
    listing = reader.get("/").content.decode()
    assert _accessions(listing) == ["ACC-US", "ACC-MR", "ACC-CT"]
    # Each row shows its modalities, its image count and a thumbnail rendered by DICOMweb.
    assert "<td>MR</td>" in listing and '<td class="num">1</td>' in listing
    assert len(re.findall(r'<img class="thumb" src="/dicomweb/studies/[0-9.]+/thumbnail', listing)) == 3
    assert _accessions(reader.get("/", {"sort": "accession"}).content.decode()) == ["ACC-CT", "ACC-MR", "ACC-US"]
    assert _accessions(reader.get("/", {"sort": "-accession"}).content.decode()) == ["ACC-US", "ACC-MR", "ACC-CT"]


def test_long_lists_come_in_pages(reader, org_alpha, ingest):  # type: ignore[no-untyped-def]
    for day in range(1, PAGE_SIZE + 2):
        ingest(org_alpha, make_instance(accession=f"ACC-P{day:02d}", study_date=f"202401{day:02d}"))
    first = reader.get("/").content.decode()
    second = reader.get("/", {"page": 2}).content.decode()
    assert len(_accessions(first)) == PAGE_SIZE
    assert _accessions(second) == ["ACC-P01"]  # the oldest, after the 25 newer ones
    assert "Page 1 of 2 (26 studies)" in first


def test_favourites_and_recent_are_each_users_own(reader, client, three_studies, org_alpha):  # type: ignore[no-untyped-def]
    from pacs.models import Study

    mr = Study.objects.get(accession_number="ACC-MR").study_instance_uid
    us = Study.objects.get(accession_number="ACC-US").study_instance_uid
    answer = reader.post(f"/studies/{mr}/favourite", HTTP_ACCEPT="application/json")
    assert answer.json() == {"favourite": True}
    assert _accessions(reader.get("/", {"tab": "favourites"}).content.decode()) == ["ACC-MR"]
    assert reader.get("/viewer", {"StudyInstanceUIDs": us}).status_code == 200
    assert _accessions(reader.get("/", {"tab": "recent"}).content.decode()) == ["ACC-US"]
    # Another reader of the same hospital has neither.
    client.force_login(User.objects.create_user("dr-qian", password="pw-123456789", organization=org_alpha))
    assert _accessions(client.get("/", {"tab": "favourites"}).content.decode()) == []
    assert _accessions(client.get("/", {"tab": "recent"}).content.decode()) == []


def _viewer_studies(html: str) -> list[str]:
    config = re.search(r'<script id="viewer-config" type="application/json">(.*?)</script>', html, re.S)
    assert config is not None
    return json.loads(config.group(1))["studyInstanceUIDs"]


@pytest.mark.parametrize(
    ("link", "expected"),
    [("AccessionNumber=ACC-MR", ["ACC-MR"]), ("PatientID=PID-2", ["ACC-US", "ACC-MR"])],
)
def test_deep_links_by_accession_and_patient_land_after_login(client, org_alpha, three_studies, link, expected):  # type: ignore[no-untyped-def]
    from pacs.models import Study

    User.objects.create_user("dr-sun", password="pw-123456789", organization=org_alpha)
    login_page = client.get(f"/viewer?{link}")
    assert login_page.status_code == 302 and "/accounts/login/" in login_page["Location"]
    landed = client.post(
        login_page["Location"],
        {"username": "dr-sun", "password": "pw-123456789", "next": f"/viewer?{link}"},
    )
    assert landed.status_code == 302 and landed["Location"] == f"/viewer?{link}"
    viewer = client.get(landed["Location"])
    by_uid = dict(Study.objects.values_list("study_instance_uid", "accession_number"))
    assert [by_uid[uid] for uid in _viewer_studies(viewer.content.decode())] == expected


def test_the_browser_speaks_chinese_to_a_chinese_reader(reader, three_studies):  # type: ignore[no-untyped-def]
    page = reader.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    html = page.content.decode()
    assert page.status_code == 200
    assert page.headers["Content-Language"] == "zh-hans"
    for label in ("全部检查", "最近", "收藏", "设备类型"):
        assert label in html, label
    assert "All studies" not in html
    assert sorted(_accessions(html)) == ["ACC-CT", "ACC-MR", "ACC-US"]
