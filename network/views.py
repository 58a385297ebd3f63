"""Pages for the archive as a DIMSE service user: remote PACS (echo, query, retrieve), send, transfers.

Views parse the request, call one service, and render or redirect; everything is scoped to the user's
organization (only its AEs, only its studies, only its transfers).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from network import services
from network.forms import RemoteQueryForm, SendForm
from pacs.models import Organization, Study

TRANSFERS_SHOWN = 100


def _organization(request: HttpRequest) -> Organization:
    organization = getattr(request.user, "organization", None)
    if organization is None:
        raise PermissionDenied(_("Your account does not belong to an organization."))
    return organization


@login_required
def remote(request: HttpRequest) -> HttpResponse:
    """Choose a known AE, echo it, search its studies, expand one into series, retrieve."""
    organization = _organization(request)
    remote_aes = list(services.remote_aes_of(organization))
    source = request.POST if request.method == "POST" else request.GET
    chosen = None
    error = ""
    if source.get("ae"):
        try:
            chosen = services.remote_ae_get(organization, source.get("ae"))
        except services.NetworkError as exc:
            error = str(exc)
    elif len(remote_aes) == 1:
        chosen = remote_aes[0]
    echo = None
    if request.method == "POST" and chosen is not None and request.POST.get("action") == "echo":
        echo = services.remote_echo(chosen)
    form = RemoteQueryForm(request.GET if "search" in request.GET else None)
    studies: list[services.RemoteStudy] | None = None
    expanded = request.GET.get("study", "")
    if chosen is not None and form.is_bound and form.is_valid():
        try:
            studies = services.remote_query_studies(chosen, form.query())
            for study in studies:
                if study.study_uid == expanded:
                    study.series = services.remote_query_series(chosen, expanded)
        except services.NetworkError as exc:
            error = str(exc)
    query_string = request.GET.copy()
    query_string.pop("study", None)
    return render(
        request,
        "network/remote.html",
        {
            "remote_aes": remote_aes,
            "chosen": chosen,
            "echo": echo,
            "form": form,
            "studies": studies,
            "expanded": expanded,
            "error": error,
            "query_string": query_string.urlencode(),
            "section": "remote",
        },
    )


@login_required
@require_POST
def retrieve(request: HttpRequest) -> HttpResponse:
    """Queue a C-MOVE of the posted study or series from the chosen AE, then show the transfers."""
    organization = _organization(request)
    try:
        chosen = services.remote_ae_get(organization, request.POST.get("ae"))
        transfer = services.transfer_retrieve_create(
            organization=organization,
            user=request.user,
            remote=chosen,
            study_uid=request.POST.get("study_uid", ""),
            series_uids=request.POST.getlist("series_uid"),
            description=request.POST.get("description", ""),
            query={key: value for key, value in request.POST.items() if key.startswith("q_") and value},
        )
    except services.NetworkError as exc:
        return render(request, "network/error.html", {"error": str(exc), "section": "remote"}, status=400)
    return redirect(f"{reverse('network:transfers')}?{urlencode({'highlight': transfer.pk})}")


def _uids(text: str) -> list[str]:
    return [uid for uid in (part.strip() for part in text.replace(" ", ",").split(",")) if uid]


@login_required
def send(request: HttpRequest) -> HttpResponse:
    """Send studies (``?StudyInstanceUIDs=a,b``) or a series (``&SeriesInstanceUID=``) to a chosen AE."""
    organization = _organization(request)
    remote_aes = list(services.remote_aes_of(organization))
    if request.method == "POST":
        form = SendForm(request.POST, remote_aes=remote_aes)
        study_uids = _uids(request.POST.get("study_uids", ""))
        series_uid = request.POST.get("series_uid", "").strip()
    else:
        study_uids = _uids(",".join(request.GET.getlist("StudyInstanceUIDs")))
        series_uid = request.GET.get("SeriesInstanceUID", "").strip()
        form = SendForm(initial={"study_uids": ",".join(study_uids), "series_uid": series_uid}, remote_aes=remote_aes)
    studies = list(
        Study.objects.filter(organization=organization, study_instance_uid__in=study_uids)
        .select_related("patient")
        .order_by("-study_date")
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            chosen = services.remote_ae_get(organization, form.cleaned_data["destination"])
            transfer = services.transfer_send_create(
                organization=organization,
                user=request.user,
                remote=chosen,
                study_uids=study_uids,
                series_uid=series_uid or None,
            )
        except services.NetworkError as exc:
            error = str(exc)
        else:
            return redirect(f"{reverse('network:transfers')}?{urlencode({'highlight': transfer.pk})}")
    missing = sorted(set(study_uids) - {study.study_instance_uid for study in studies})
    return render(
        request,
        "network/send.html",
        {
            "form": form,
            "studies": studies,
            "series_uid": series_uid,
            "missing": missing,
            "remote_aes": remote_aes,
            "error": error,
            "section": "send",
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def transfers(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    rows = list(services.transfers_of(organization).select_related("user")[:TRANSFERS_SHOWN])
    return render(
        request,
        "network/transfers.html",
        {"transfers": rows, "highlight": request.GET.get("highlight", ""), "section": "transfers"},
    )


@login_required
@require_GET
def transfers_json(request: HttpRequest) -> JsonResponse:
    """The progress of the organization's latest transfers, polled by the transfers page."""
    organization = _organization(request)
    rows = services.transfers_of(organization)[:TRANSFERS_SHOWN]
    return JsonResponse({"transfers": [services.transfer_json(row) for row in rows]})
