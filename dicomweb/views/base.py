"""The HTTP frame every DICOMweb resource shares: authentication, the organization scope, errors.

DRF authenticates (session, bearer token) and answers 401/403; its content negotiation and body parsing
are switched off because DICOMweb negotiates media types of its own (see ``dicomweb.media``).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from pacs.auth import BearerTokenAuthentication, IsOrganizationMember, organization_of
from pacs.models import Organization


class _KeepAcceptAsIs(BaseContentNegotiation):
    """DICOMweb views pick their own media type from the Accept header; DRF only renders its errors."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return None

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class DicomWebView(APIView):
    renderer_classes = [JSONRenderer]
    parser_classes: list = []
    content_negotiation_class = _KeepAcceptAsIs
    permission_classes = [IsOrganizationMember]

    def get_authenticators(self):  # type: ignore[no-untyped-def]
        from rest_framework.authentication import BasicAuthentication, SessionAuthentication

        return [BearerTokenAuthentication(), SessionAuthentication(), BasicAuthentication()]


def request_organization(request: HttpRequest) -> Organization:
    return organization_of(request.user)


def dicomweb_root_url(request: HttpRequest) -> str:
    """The absolute URL of the DICOMweb root, for BulkDataURIs and Content-Location.

    ``PACS_PUBLIC_URL`` wins when set; otherwise the request's own host, which honours X-Forwarded-Host
    and -Proto when ``USE_X_FORWARDED_HOST`` is on (and ``SECURE_PROXY_SSL_HEADER`` is configured).
    """
    path = request.path
    root_path = path[: path.index("/studies")] if "/studies" in path else path.rstrip("/")
    if settings.PACS_PUBLIC_URL:
        script_prefix = request.META.get("SCRIPT_NAME", "")
        return settings.PACS_PUBLIC_URL.rstrip("/") + root_path.removeprefix(script_prefix)
    return request.build_absolute_uri(root_path)
