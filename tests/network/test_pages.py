"""The network pages through Django's test client, against real DCMTK peers (tasks run eagerly here)."""

from __future__ import annotations

import pydicom
import pytest
from django.urls import reverse

from network.models import Transfer, TransferStatus
from pacs.models import Instance, User
from pacs.synthetic import Patient, ct_series
from tests.network.conftest import CHINESE_NAME

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alpha_user(org_alpha) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user(username="tech", password="secret-pass-123", organization=org_alpha)


@pytest.fixture
def alpha_client(client, alpha_user):  # type: ignore[no-untyped-def]
    client.force_login(alpha_user)
    return client


def test_echo_query_expand_and_retrieve_a_series(eager_tasks, alpha_client, remote_pacs):
    ae = remote_pacs.remote.pk
    page = alpha_client.post(reverse("network:remote"), {"ae": ae, "action": "echo"})
    assert page.status_code == 200
    assert "REMOTEQR@127.0.0.1" in page.content.decode() and "answered C-ECHO in" in page.content.decode()

    page = alpha_client.get(reverse("network:remote"), {"ae": ae, "search": "1", "patient_name": "Wang"})
    html = page.content.decode()
    assert "1 study found" in html
    assert CHINESE_NAME in html and remote_pacs.ct_study_uid in html
    assert remote_pacs.mr_study_uid not in html

    page = alpha_client.get(
        reverse("network:remote"), {"ae": ae, "search": "1", "patient_name": "Wang", "study": remote_pacs.ct_study_uid}
    )
    html = page.content.decode()
    assert all(f'data-series-uid="{uid}"' in html for uid in remote_pacs.ct_series_uids)

    series_uid = remote_pacs.ct_series_uids[1]
    response = alpha_client.post(
        reverse("network:retrieve"),
        {"ae": ae, "study_uid": remote_pacs.ct_study_uid, "series_uid": series_uid, "description": "CT"},
    )
    transfer = Transfer.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?highlight={transfer.pk}")
    assert (transfer.status, transfer.completed) == (TransferStatus.DONE, 2)
    assert set(Instance.objects.values_list("series__series_instance_uid", flat=True)) == {series_uid}
    listing = alpha_client.get(response["Location"]).content.decode()
    assert f'data-transfer="{transfer.pk}" class="highlight"' in listing
    assert 'value="100"' in listing


def test_query_errors_are_shown(alpha_client, remote_pacs):
    page = alpha_client.get(
        reverse("network:remote"),
        {"ae": remote_pacs.remote.pk, "search": "1", "date_from": "2024-12-01", "date_to": "2024-01-01"},
    )
    assert "The start date is after the end date." in page.content.decode()


def test_send_page_sends_the_study(eager_tasks, alpha_client, storescp, org_alpha, ingest):
    study_uid = pydicom.uid.generate_uid()
    ingest(org_alpha, *ct_series(Patient("Li^Lei", "S-3", "19700101", "M"), slices=3, size=64, study_uid=study_uid))
    page = alpha_client.get(reverse("network:send"), {"StudyInstanceUIDs": study_uid})
    assert "Li^Lei" in page.content.decode() and "STORESCP" in page.content.decode()
    response = alpha_client.post(
        reverse("network:send"), {"destination": storescp.remote.pk, "study_uids": study_uid, "series_uid": ""}
    )
    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.completed, transfer.total) == (TransferStatus.DONE, 3, 3)
    assert len(storescp.files()) == 3
    progress = alpha_client.get(reverse("network:transfers-json")).json()["transfers"]
    assert [(row["id"], row["percent"], row["status"]) for row in progress] == [(transfer.pk, 100, "done")]


def test_other_organizations_see_nothing(client, storescp, org_alpha, org_beta, ingest):
    study_uid = pydicom.uid.generate_uid()
    ingest(org_alpha, *ct_series(Patient("Li^Lei", "S-4", "19700101", "M"), slices=1, size=64, study_uid=study_uid))
    Transfer.objects.create(organization=org_alpha, kind="send", remote_ae=storescp.remote, remote_ae_title="STORESCP")
    bob = User.objects.create_user(username="bob", password="secret-pass-123", organization=org_beta)
    client.force_login(bob)
    assert "STORESCP" not in client.get(reverse("network:remote")).content.decode()
    assert client.get(reverse("network:transfers-json")).json() == {"transfers": []}
    page = client.get(reverse("network:send"), {"StudyInstanceUIDs": study_uid}).content.decode()
    assert "Not found in your organization" in page and "Li^Lei" not in page
    response = client.post(
        reverse("network:send"), {"destination": storescp.remote.pk, "study_uids": study_uid, "series_uid": ""}
    )
    assert response.status_code == 200  # the form refuses another organization's AE as a choice
    response = client.post(reverse("network:retrieve"), {"ae": storescp.remote.pk, "study_uid": study_uid})
    assert response.status_code == 400
    assert Transfer.objects.count() == 1


def test_pages_need_a_login(client):
    response = client.get(reverse("network:transfers"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_pages_speak_chinese(alpha_client, storescp):
    page = alpha_client.get(reverse("network:remote"), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "远程 PACS" in page and "测试连接（C-ECHO）" in page
    page = alpha_client.get(reverse("network:transfers"), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "暂无传输任务" in page
