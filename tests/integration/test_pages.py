"""The first pages a new user sees: login, and the study list scoped to their organization, in two languages."""

from __future__ import annotations

import pytest

from pacs.models import User
from tests.dicomweb.helpers import make_instance

pytestmark = pytest.mark.django_db


def test_home_requires_login_and_lists_only_the_users_organization(client, org_alpha, org_beta, ingest):
    ingest(org_alpha, make_instance(patient_name="Alpha^Patient", accession="ACC-ALPHA"))
    ingest(org_beta, make_instance(patient_name="Beta^Patient", accession="ACC-BETA"))
    assert client.get("/").status_code == 302
    user = User.objects.create_user("carol", password="pw-123456789", organization=org_alpha)
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "ACC-ALPHA" in page and "Alpha^Patient" in page
    assert "ACC-BETA" not in page


def test_login_page_in_chinese_and_english(client):
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "Log in" in english
    assert "登录" in chinese and "用户名" in chinese


def test_demo_login_from_bootstrap_works(client, settings):
    import io

    from django.core.management import call_command

    settings.PACS_DEFAULT_ORGANIZATION = "demo"
    output = io.StringIO()
    call_command("bootstrap", "--no-demo-studies", stdout=output)
    assert "admin / pacs-demo" in output.getvalue()
    response = client.post("/accounts/login/", {"username": "admin", "password": "pacs-demo"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
