"""Who is calling, and which organization they act for: bearer tokens and the organization scope.

DICOMweb accepts the browser session and ``Authorization: Bearer <token>`` (tokens issued per user in the
admin or with ``manage.py issue_token``). A user without an organization can see nothing.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from pacs.models import ApiToken, Organization

# A viewer fetches hundreds of frames a second with one token: each web process remembers a valid
# token for a few seconds instead of asking the database every time. Revoking a token or changing its
# user clears this process's memory at once (signals, see PacsConfig.ready); other web processes
# follow within TOKEN_MEMORY_SECONDS.
TOKEN_MEMORY_SECONDS = 10
_TOKEN_MEMORY_LIMIT = 10_000
_recent_tokens: dict[str, tuple[float, ApiToken]] = {}


def _remember(key_hash: str, token: ApiToken, now: datetime) -> None:
    seconds = TOKEN_MEMORY_SECONDS
    if token.expires_at is not None:
        seconds = min(seconds, (token.expires_at - now).total_seconds())
    if len(_recent_tokens) >= _TOKEN_MEMORY_LIMIT:
        _recent_tokens.clear()
    _recent_tokens[key_hash] = (time.monotonic() + seconds, token)


def tokens_forget(**kwargs: object) -> None:
    """Forget every remembered token (connected to token and user changes in ``PacsConfig.ready``)."""
    _recent_tokens.clear()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):  # type: ignore[no-untyped-def]
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Bearer <token>'")
        key_hash = ApiToken.hash_key(header[1].decode(errors="replace"))
        remembered = _recent_tokens.get(key_hash)
        if remembered is not None and remembered[0] > time.monotonic():
            return remembered[1].user, remembered[1]
        token = ApiToken.objects.select_related("user__organization").filter(key_hash=key_hash).first()
        if token is None or token.is_expired() or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or expired token")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        _remember(key_hash, token, now)
        return token.user, token

    def authenticate_header(self, request):  # type: ignore[no-untyped-def]
        # Makes DRF answer 401 (not 403) to an unauthenticated request.
        return 'Bearer realm="pacs"'


class IsOrganizationMember(permissions.BasePermission):
    message = "Your account does not belong to an organization."

    def has_permission(self, request, view):  # type: ignore[no-untyped-def]
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return user.organization_id is not None


def organization_of(user) -> Organization:  # type: ignore[no-untyped-def]
    organization = getattr(user, "organization", None)
    if organization is None:
        raise exceptions.PermissionDenied(IsOrganizationMember.message)
    return organization


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes ``Authorization: Bearer <token>`` in the OpenAPI schema."""

    target_class = "pacs.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "http", "scheme": "bearer"}
