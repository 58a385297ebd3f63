"""QIDO-RS (PS3.18 10.6): search for studies, series and instances; a thin layer over ``pacs.query``.

Responses are DICOM JSON arrays (PS3.18 F.2) with ``application/dicom+json`` (or ``application/json``
when that is what the client asks for). A search without matches answers 200 with ``[]``: PS3.18's
"204 No Content" contradicts RFC 9110, CP-2473 corrects it to 200, and dicomweb-client and OHIF both
read an empty array. Paging follows PS3.18 8.3.4.4: ``limit`` and ``offset``, capped by
``settings.QIDO_MAX_RESULTS``, with a Warning header when that cap cut the results short.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from dicomweb import media
from dicomweb.views.base import dicomweb_root_url, request_organization
from pacs.models import Series, Study
from pacs.query.attributes import Level, tag_hex
from pacs.query.engine import Query, QueryError, query_execute, query_from_qido

logger = logging.getLogger(__name__)

DEFAULT_MAX_RESULTS = 1000
RETRIEVE_URL = tag_hex("RetrieveURL")
_STUDY_UID, _SERIES_UID, _SOP_UID = tag_hex("StudyInstanceUID"), tag_hex("SeriesInstanceUID"), tag_hex("SOPInstanceUID")
_JSON_MEDIA_TYPES = (media.DICOM_JSON, "application/json")


def search_studies(request: HttpRequest) -> HttpResponse:
    """``GET /studies`` (PS3.18 10.6.1, Table 10.6.1-2)."""
    return _search(request, Level.STUDY)


def search_series(request: HttpRequest, study: str | None = None) -> HttpResponse:
    """``GET /series`` and ``GET /studies/{study}/series``."""
    return _search(request, Level.SERIES, study_uid=study)


def search_instances(request: HttpRequest, study: str | None = None, series: str | None = None) -> HttpResponse:
    """``GET /instances``, ``GET /studies/{study}/instances`` and ``.../series/{series}/instances``."""
    return _search(request, Level.IMAGE, study_uid=study, series_uid=series)


def _search(
    request: HttpRequest, level: Level, *, study_uid: str | None = None, series_uid: str | None = None
) -> HttpResponse:
    media_type = _media_type(request)
    if media_type is None:
        return _error(406, f"Search results are available as {' or '.join(_JSON_MEDIA_TYPES)} only")
    maximum = getattr(settings, "QIDO_MAX_RESULTS", DEFAULT_MAX_RESULTS)
    try:
        query = query_from_qido(request.GET, level, study_uid=study_uid, series_uid=series_uid)
        requested_limit = _count_parameter(request, "limit", minimum=1)
        offset = _count_parameter(request, "offset", minimum=0) or 0
    except QueryError as exc:
        return _error(400, str(exc))
    limit = min(requested_limit, maximum) if requested_limit is not None else maximum
    organization = request_organization(request)
    results, more = query_execute(query, organization=organization, limit=limit, offset=offset)
    if not results and _parent_missing(organization, study_uid, series_uid):
        return _error(404, "No such study or series")
    _add_retrieve_urls(results, query, dicomweb_root_url(request))
    response = HttpResponse(json.dumps(results, ensure_ascii=False, separators=(",", ":")), content_type=media_type)
    if more and limit == maximum and (requested_limit is None or requested_limit > maximum):
        response["Warning"] = (
            f'299 {request.get_host()}: "The number of results exceeded the maximum supported by the server. '
            'Additional results can be requested."'
        )
    return response


def _media_type(request: HttpRequest) -> str | None:
    """The JSON media type the client accepts first (PS3.18 10.6.2 Accept); None when it accepts neither."""
    for media_range in media.accept_parse(request.META.get("HTTP_ACCEPT")):
        if media_range.media_type in _JSON_MEDIA_TYPES:
            return media_range.media_type
        if media_range.media_type in ("application/*", "*/*"):
            return media.DICOM_JSON
    return None


def _count_parameter(request: HttpRequest, name: str, *, minimum: int) -> int | None:
    values = request.GET.getlist(name)
    if not values:
        return None
    if len(values) > 1 or not values[0].isdigit() or int(values[0]) < minimum:
        raise QueryError(f"{name} must be a whole number of at least {minimum}")
    return int(values[0])


def _parent_missing(organization: Any, study_uid: str | None, series_uid: str | None) -> bool:
    """Whether the study (and series) named in the path is unknown to the organization: 404, not 200 [].

    Only asked when a search under a study or series found nothing, so a search with results stays one
    database query.
    """
    if study_uid is None:
        return False
    if series_uid is None:
        return not Study.objects.filter(organization=organization, study_instance_uid=study_uid).exists()
    return not Series.objects.filter(
        study__organization=organization, study__study_instance_uid=study_uid, series_instance_uid=series_uid
    ).exists()


def _add_retrieve_urls(results: list[dict[str, Any]], query: Query, root: str) -> None:
    """Retrieve URL (0008,1190) of each result, the WADO-RS resource of its study, series or instance."""
    for index, result in enumerate(results):
        path = f"{root}/studies/{_first(result, _STUDY_UID)}"
        if query.level in (Level.SERIES, Level.IMAGE):
            path += f"/series/{_first(result, _SERIES_UID)}"
        if query.level is Level.IMAGE:
            path += f"/instances/{_first(result, _SOP_UID)}"
        result[RETRIEVE_URL] = {"vr": "UR", "Value": [path]}
        results[index] = dict(sorted(result.items()))


def _first(result: dict[str, Any], tag: str) -> str:
    return str((result.get(tag, {}).get("Value") or [""])[0])


def _error(http_status: int, reason: str) -> HttpResponse:
    logger.info("QIDO request answered %d: %s", http_status, reason)
    response = JsonResponse({"error": reason}, status=http_status)
    response["Warning"] = f'299 pacs: "{reason[:200]}"'
    return response
