"""The first pages a new user sees: login, and the study list scoped to their organization, in two languages."""

from __future__ import annotations

import re

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


def test_the_viewer_page_is_cross_origin_isolated_and_its_scripts_allow_it(client, org_alpha):
    """The viewer shares its frames' memory with its workers (pacs/isolation.py), which a browser
    allows only on a cross-origin isolated page: the page's response says so, and so does every static
    script, since a worker's script must too."""
    from django.templatetags.static import static

    from viewer.assets import entry_assets

    client.force_login(User.objects.create_user("dr-li", password="pw-123456789", organization=org_alpha))
    page = client.get("/viewer")
    assert page.status_code == 200
    assert page["Cross-Origin-Opener-Policy"] == "same-origin"
    assert page["Cross-Origin-Embedder-Policy"] == "require-corp"
    script = client.get(static(entry_assets("src/viewer/main.ts").script))
    assert script.status_code == 200
    assert script["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert b"".join(script.streaming_content)  # read to the end, which closes the file as a server would
    # Pages that show no images are left as they were.
    assert "Cross-Origin-Embedder-Policy" not in client.get("/")


def test_cross_origin_isolation_can_be_switched_off(client, org_alpha, settings):
    """For a proxy that serves /static/ without the header: the viewer then works with unshared memory."""
    settings.VIEWER_CROSS_ORIGIN_ISOLATION = False
    client.force_login(User.objects.create_user("dr-li", password="pw-123456789", organization=org_alpha))
    page = client.get("/viewer")
    assert page.status_code == 200
    assert "Cross-Origin-Embedder-Policy" not in page


def test_pages_name_the_icon_and_it_is_served(client, org_alpha):  # type: ignore[no-untyped-def]
    """Without an icon named in the page, browsers ask for /favicon.ico, which logged a 404 per visit."""
    user = User.objects.create_user("dora", password="pw-123456789", organization=org_alpha)
    client.force_login(user)
    for path in ("/accounts/login/", "/", "/viewer?StudyInstanceUIDs=1.2.3"):
        html = client.get(path).content.decode()
        found = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', html)
        assert found, path
        icon = client.get(found[1])
        assert icon.status_code == 200
        assert icon["Content-Type"] == "image/svg+xml"
        # Read to its end, which closes the file (the test client's wrapper does; close() itself would
        # also close the test's database connection).
        assert b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])
