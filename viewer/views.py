"""The study browser, the viewer page with its runtime configuration, and the viewer's small JSON API."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods, require_POST

from pacs.auth import organization_of
from pacs.isolation import isolate
from pacs.models import Study
from viewer import services
from viewer.forms import StudySearchForm
from viewer.i18n import viewer_translations
from viewer.studies import SORT_FIELDS, sort_key_clean, studies_search, study_uids_for_link

PAGE_SIZE = 25
# Frames in flight while a series prefetches frame by frame.
PREFETCH_CONCURRENCY = 4
# Studies whose metadata the page preloads: those the viewer opens at once (a study and a prior or two).
MAX_PRELOADS = 4
TABS = ("all", "recent", "favourites")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The study browser: search, sort, page; thumbnails come from DICOMweb like the viewer's images."""
    organization = organization_of(request.user)
    form = StudySearchForm(request.GET or None)
    tab = request.GET.get("tab", "all")
    tab = tab if tab in TABS else "all"
    sort = sort_key_clean(request.GET.get("sort", ""))
    studies = studies_search(
        organization=organization,
        user=request.user,
        criteria=form.criteria(favourites_only=tab == "favourites", recent_only=tab == "recent"),
        sort=sort,
    )
    page = Paginator(studies, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {key: value for key, value in request.GET.items() if key not in ("page", "sort") and value}
    columns = [
        {
            "key": key,
            "sorted": sort.lstrip("-") == key,
            "descending": sort.startswith("-"),
            "query": urlencode({**kept, "sort": f"-{key}" if sort == key else key}),
        }
        for key in SORT_FIELDS
    ]
    return render(
        request,
        "viewer/home.html",
        {
            "form": form,
            "page": page,
            "tab": tab,
            "tabs_query": urlencode({key: value for key, value in kept.items() if key != "tab"}),
            "page_query": urlencode({**kept, "sort": sort}),
            "columns": {column["key"]: column for column in columns},
        },
    )


@login_required
def viewer(request: HttpRequest) -> HttpResponse:
    """``/viewer?StudyInstanceUIDs=<uid>[,<uid>]``, ``?AccessionNumber=<acc>`` or ``?PatientID=<id>``."""
    organization = organization_of(request.user)
    requested = [uid.strip() for uid in request.GET.get("StudyInstanceUIDs", "").split(",") if uid.strip()]
    study_uids = study_uids_for_link(
        organization=organization,
        study_uids=requested,
        accession_number=request.GET.get("AccessionNumber", "").strip(),
        patient_id=request.GET.get("PatientID", "").strip(),
    )
    if study_uids:
        services.recent_studies_record(user=request.user, study_uids=study_uids, organization=organization)
    user_settings = services.viewer_settings_get(user=request.user)
    config = {
        "dicomwebRoot": "/dicomweb",
        "studyInstanceUIDs": study_uids,
        "language": get_language(),
        "i18n": viewer_translations(),
        "settings": {
            "thumbnailsPosition": user_settings.thumbnails_position,
            "toolbarPosition": user_settings.toolbar_position,
        },
        "settingsUrl": reverse("viewer-settings"),
        "measurementsUrl": reverse("viewer-measurements"),
        "browserUrl": reverse("home"),
        "csrfToken": get_token(request),
        # The reporting API's key images; the viewer shows its button only when opened with &report=<id>.
        "keyImagesUrl": f"{get_script_prefix()}api/reporting/reports/{{report}}/key-images",
        "prefetchConcurrency": PREFETCH_CONCURRENCY,
        "cacheSizeMb": settings.VIEWER_CACHE_SIZE_MB,
    }
    # A small script in the page's head asks for each study's metadata and parses it while the viewer's
    # script (megabytes of Cornerstone3D) still loads and compiles; the viewer then takes it from there.
    metadata_preloads = [f"{config['dicomwebRoot']}/studies/{uid}/metadata" for uid in study_uids[:MAX_PRELOADS]]
    return isolate(render(request, "viewer/viewer.html", {"config": config, "metadata_preloads": metadata_preloads}))


def _json_body(request: HttpRequest) -> dict[str, Any]:
    value = json.loads(request.body or b"{}")
    if not isinstance(value, dict):
        raise ValueError("Expected a JSON object")
    return value


@login_required
@require_http_methods(["PUT"])
def settings_update(request: HttpRequest) -> HttpResponse:
    try:
        body = _json_body(request)
        saved = services.viewer_settings_update(
            user=request.user,
            thumbnails_position=str(body.get("thumbnailsPosition", "")),
            toolbar_position=str(body.get("toolbarPosition", "")),
        )
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    return JsonResponse({"thumbnailsPosition": saved.thumbnails_position, "toolbarPosition": saved.toolbar_position})


@login_required
@require_http_methods(["GET"])
def measurements(request: HttpRequest) -> HttpResponse:
    found = services.measurements_select(
        user=request.user, organization=organization_of(request.user), study_uids=request.GET.getlist("study")
    )
    return JsonResponse(
        [
            {
                "uid": item.annotation_uid,
                "studyInstanceUID": item.study.study_instance_uid,
                "annotation": item.annotation,
            }
            for item in found
        ],
        safe=False,
    )


@login_required
@require_http_methods(["PUT", "DELETE"])
def measurement(request: HttpRequest, uid: str) -> HttpResponse:
    if request.method == "DELETE":
        services.measurement_delete(user=request.user, annotation_uid=uid)
        return HttpResponse(status=204)
    try:
        body = _json_body(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    annotation = body.get("annotation")
    if not isinstance(annotation, dict):
        return HttpResponseBadRequest("annotation must be an object")
    study = get_object_or_404(
        Study, organization=organization_of(request.user), study_instance_uid=str(body.get("studyInstanceUID", ""))
    )
    services.measurement_save(user=request.user, study=study, annotation_uid=uid, annotation=annotation)
    return HttpResponse(status=204)


@login_required
@require_POST
def favourite(request: HttpRequest, study_uid: str) -> HttpResponse:
    study = get_object_or_404(Study, organization=organization_of(request.user), study_instance_uid=study_uid)
    is_favourite = services.favourite_toggle(user=request.user, study=study)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"favourite": is_favourite})
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else reverse("home"))
