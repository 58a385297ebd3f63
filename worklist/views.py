"""The desk's pages for images that match no order: the unmatched list, one study with its series and
history (re-associate, move a series, unbind, undo), and the history of all re-associations.

Views only parse the request (forms), call one selector or service, and render or redirect.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pacs.corrections import CorrectionError
from pacs.models import Organization, Series, Study
from ris import selectors as ris_selectors
from ris.models import Exam
from ris.models import Patient as RisPatient
from worklist import selectors
from worklist.forms import ReassociateForm, StudyFilterForm, UnbindForm
from worklist.models import Reassociation
from worklist.services.reassociation import (
    ReassociationError,
    reassociation_undo,
    series_reassociate,
    study_reassociate,
    study_unbind,
)

LIST_LIMIT = 200


def _organization(request: HttpRequest) -> Organization:
    organization = getattr(request.user, "organization", None)
    if organization is None:
        raise PermissionDenied(_("Your account does not belong to an organization."))
    return organization


def _exams_by_id(organization: Organization, ids: set[int]) -> dict[int, Exam]:
    exams = ris_selectors.exams_of_organization(organization=organization).filter(pk__in=ids)
    return {exam.pk: exam for exam in exams}


def _with_undoable(records: list[Reassociation]) -> list[Reassociation]:
    for record in records:
        record.undoable = selectors.reassociation_undoable(reassociation=record)  # type: ignore[attr-defined]
    return records


@login_required
def unmatched(request: HttpRequest) -> HttpResponse:
    """Stored studies that link to no order (or all studies), with filters."""
    organization = _organization(request)
    filters = StudyFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    studies = list(
        selectors.studies_for_review(
            organization=organization,
            unmatched_only=values.get("show", "") != "all",
            query=values.get("q", ""),
            modality=values.get("modality", ""),
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
        )[:LIST_LIMIT]
    )
    exams = _exams_by_id(organization, {s.link_exam_id for s in studies if s.link_exam_id})
    for study in studies:
        study.exam = exams.get(study.link_exam_id)  # type: ignore[attr-defined]
    context = {"studies": studies, "filters": filters, "limit": LIST_LIMIT}
    return render(request, "worklist/unmatched.html", context)


def _target(organization: Organization, value: str) -> dict:
    kind, _sep, pk = value.partition(":")
    if kind == "exam":
        return {"exam": get_object_or_404(Exam, organization=organization, pk=int(pk))}
    return {"patient": get_object_or_404(RisPatient, organization=organization, pk=int(pk), merged_into=None)}


@login_required
def study_review(request: HttpRequest, pk: int) -> HttpResponse:
    """One study: what it is, what it is linked to, the target search, the actions and its history."""
    organization = _organization(request)
    study = get_object_or_404(Study.objects.select_related("patient"), organization=organization, pk=pk)
    series = list(selectors.study_series(study=study))
    query = request.GET.get("q", "").strip()[:100]
    form = ReassociateForm(request.POST if request.POST.get("action") == "reassociate" else None)
    unbind_form = UnbindForm(request.POST if request.POST.get("action") == "unbind" else None)
    if request.method == "POST":
        try:
            if form.is_bound and form.is_valid():
                return _reassociate(request, study, series, form)
            if unbind_form.is_bound and unbind_form.is_valid():
                study_unbind(study=study, reason=unbind_form.cleaned_data["reason"], by=request.user)
                messages.success(request, _("The study was taken off its order: it is on the unmatched list."))
                return redirect("worklist:study", pk=study.pk)
        except (ReassociationError, CorrectionError) as error:
            messages.error(request, str(error))
        query = request.POST.get("q", query)[:100]
    context = {
        "study": study,
        "series": series,
        "exam": selectors.study_link_exam(study=study),
        "query": query,
        "targets": selectors.exam_targets(organization=organization, query=query) if query else [],
        "patients": list(ris_selectors.patient_search(organization=organization, query=query, limit=10))
        if query
        else [],
        "form": form,
        "unbind_form": unbind_form,
        "history": _with_undoable(list(selectors.reassociations_of_study(study=study))),
        "chosen_series": form.data.get("series", "") if form.is_bound else request.GET.get("series", ""),
    }
    return render(request, "worklist/study.html", context)


def _reassociate(request: HttpRequest, study: Study, series: list[Series], form: ReassociateForm) -> HttpResponse:
    target = _target(study.organization, form.cleaned_data["target"])
    reason = form.cleaned_data["reason"]
    series_id = form.cleaned_data["series"]
    if series_id:
        moving = next((s for s in series if s.pk == series_id), None)
        if moving is None:
            raise ReassociationError(_("This series is not part of the study."))
        record = series_reassociate(series=moving, reason=reason, by=request.user, **target)
        messages.success(request, _("The series was moved."))
        return redirect("worklist:study", pk=record.study_after_id or study.pk)
    study_reassociate(study=study, reason=reason, by=request.user, **target)
    messages.success(request, _("The study was re-associated."))
    return redirect("worklist:study", pk=study.pk)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Every re-association of the organization, newest first."""
    records = _with_undoable(list(selectors.reassociations_recent(organization=_organization(request))))
    return render(request, "worklist/history.html", {"history": records, "show_study": True})


@login_required
@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(Reassociation, organization=_organization(request), pk=pk)
    try:
        reassociation_undo(reassociation=record, by=request.user)
    except (ReassociationError, CorrectionError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Undone."))
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("worklist:study", pk=record.study_id)
