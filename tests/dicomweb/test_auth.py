"""Who may call DICOMweb: session, Basic and bearer tokens; 401 without; tokens issued by the API."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from pacs.models import ApiToken, User


def test_unauthenticated_dicomweb_is_401_with_a_challenge(anonymous_http):
    response = anonymous_http.get("/dicomweb/studies")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_token_and_basic_auth_are_accepted(alpha_http, anonymous_http, org_alpha):
    assert alpha_http.get("/dicomweb/studies").status_code in (200, 204)
    User.objects.create_user("dora", password="dora-pass-123", organization=org_alpha)
    assert anonymous_http.get("/dicomweb/studies", auth=("dora", "dora-pass-123")).status_code in (200, 204)
    assert anonymous_http.get("/dicomweb/studies", auth=("dora", "wrong")).status_code == 401


def test_expired_token_is_refused(anonymous_http, org_alpha):
    user = User.objects.create_user("erin", password="x-123456789", organization=org_alpha)
    token, key = ApiToken.issue(user=user, name="old")
    token.expires_at = timezone.now() - timedelta(minutes=1)
    token.save()
    anonymous_http.headers["Authorization"] = f"Bearer {key}"
    assert anonymous_http.get("/dicomweb/studies").status_code == 401


def test_user_without_organization_is_403(anonymous_http, db):
    User.objects.create_user("frank", password="frank-pass-123")
    response = anonymous_http.get("/dicomweb/studies", auth=("frank", "frank-pass-123"))
    assert response.status_code == 403
    assert "organization" in response.json()["detail"]


def test_tokens_are_issued_listed_and_revoked_through_the_api(anonymous_http, org_alpha):
    User.objects.create_user("gina", password="gina-pass-123", organization=org_alpha)
    anonymous_http.auth = ("gina", "gina-pass-123")
    issued = anonymous_http.post("/api/tokens", json={"name": "weasis", "valid_days": 30})
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    assert key.startswith("pacs_")
    listed = anonymous_http.get("/api/tokens").json()
    assert [t["name"] for t in listed] == ["weasis"] and "key" not in listed[0]

    with type(anonymous_http)(anonymous_http.root, key) as bearer:
        assert bearer.get("/dicomweb/studies").status_code in (200, 204)
        assert anonymous_http.delete(f"/api/tokens/{listed[0]['id']}").status_code == 204
        assert bearer.get("/dicomweb/studies").status_code == 401


def test_cors_preflight_for_a_configured_viewer_origin(anonymous_http, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://viewer.example"]
    response = anonymous_http.options(
        "/dicomweb/studies",
        headers={
            "Origin": "http://viewer.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://viewer.example"
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    other = anonymous_http.options(
        "/dicomweb/studies", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_openapi_schema_describes_the_token_api(anonymous_http):
    response = anonymous_http.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert "/api/tokens" in response.text


def test_a_token_is_remembered_briefly_and_forgotten_when_it_changes(anonymous_http, org_alpha, monkeypatch):
    from pacs import auth

    monkeypatch.setattr(auth, "TOKEN_MEMORY_SECONDS", 3.0)
    user = User.objects.create_user("hana", password="x-123456789", organization=org_alpha)
    token, key = ApiToken.issue(user=user, name="viewer")
    anonymous_http.headers["Authorization"] = f"Bearer {key}"
    assert anonymous_http.get("/dicomweb/studies").status_code in (200, 204)

    # A change this process does not hear of (another web process's, say) is seen once the memory expires.
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert anonymous_http.get("/dicomweb/studies").status_code in (200, 204)
    time.sleep(3.2)
    assert anonymous_http.get("/dicomweb/studies").status_code == 401

    # A change this process makes is seen at once.
    other, other_key = ApiToken.issue(user=user, name="viewer 2")
    anonymous_http.headers["Authorization"] = f"Bearer {other_key}"
    assert anonymous_http.get("/dicomweb/studies").status_code in (200, 204)
    other.delete()
    assert anonymous_http.get("/dicomweb/studies").status_code == 401
