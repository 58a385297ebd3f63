"""The report workspace: the images (the viewer, in a frame) beside the editor; priors and phrases alongside.

Views only load what the page shows and call one service; the editor talks to ``reporting.api``.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from pacs.isolation import isolate
from pacs.models import Organization
from reporting import selectors
from reporting.api.serializers import PhraseSerializer, ReportSerializer, TemplateSerializer
from reporting.models import CriticalCategory, Report, ReportVersion
from reporting.services.reports import lock_message, report_get_or_create
from ris.models import Exam


def _organization(request: HttpRequest) -> Organization:
    organization = getattr(request.user, "organization", None)
    if organization is None:
        raise PermissionDenied
    return organization


def _text() -> dict[str, str]:
    """The editor's words, translated here so the front end carries no catalogue of its own."""
    return {
        "saving": _("Saving…"),
        "saved": _("Saved %(time)s"),
        "saveFailed": _("Not saved: %(error)s"),
        "readOnly": _("This report is final: it can only change by amendment."),
        "takeOver": _("Take over editing"),
        "reason": _("Reason"),
        "overrideTitle": _("Quality problems: fix the text, or give a reason to submit anyway."),
        "overrideSubmit": _("Submit with these reasons"),
        "overrideMissing": _("Give a reason for every problem you do not fix."),
        "amendTitle": _("Reason for the amendment"),
        "returnTitle": _("Reason for returning the report"),
        "criticalClearTitle": _("Reason for removing the critical flag"),
        "cancel": _("Cancel"),
        "confirm": _("OK"),
        "remove": _("Remove"),
        "noKeyImages": _("No key images yet. Mark one in the viewer or with “Add key image”."),
        "keyImageAdded": _("Key image added."),
        "keyImageFailed": _("No image to capture: wait until the viewer shows an image."),
        "insertMeasurements": _("Insert measurements into the text"),
        "outOfRange": _("outside the normal range"),
        "openPrior": _("Open"),
        "closePrior": _("Close"),
        "compareImages": _("Compare images"),
        "priorReport": _("Prior report"),
        "notSigned": _("not signed yet"),
        "version": _("version"),
        "noReport": _("No report."),
        "templateSwitched": _("Template changed; your text was kept."),
    }


@login_required
def workspace(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = get_object_or_404(Exam.objects.select_related("patient"), pk=exam_id, organization=_organization(request))
    report = report_get_or_create(exam=exam, by=request.user)
    report = Report.objects.select_related("template", "locked_by").get(pk=report.pk)
    viewer = reverse("viewer")
    viewer_url = viewer + "?" + urlencode({"StudyInstanceUIDs": exam.study_instance_uid, "report": report.pk})
    history = selectors.exam_history(exam=exam)
    for prior in history:
        prior["viewer_url"] = viewer + "?" + urlencode({"StudyInstanceUIDs": prior["study_instance_uid"]})
        prior["workspace_url"] = reverse("reporting:workspace", args=[prior["exam"]]) if prior["exam"] else ""
        if prior["report"]:
            for image in prior["report"]["key_images"]:
                image["url"] = reverse("reporting-report-key-image-png", args=[prior["report"]["id"], image["id"]])
    config = {
        "report": ReportSerializer(report).data,
        "statusLabel": str(report.get_status_display()),
        "sections": selectors.report_sections(report=report),
        "templates": TemplateSerializer(
            selectors.templates_for_organization(organization_id=exam.organization_id, modality=exam.modality),
            many=True,
        ).data,
        "phrases": PhraseSerializer(
            selectors.phrases_visible(user=request.user, modality=exam.modality), many=True
        ).data,
        "measurements": [
            {
                "key": r.key,
                "label": r.label,
                "unit": r.unit,
                "range": r.normal_range,
                "low": None if r.low is None else float(r.low),
                "high": None if r.high is None else float(r.high),
                "value": "" if r.value is None else str(r.value),
            }
            for r in selectors.report_measurements(report=report)
        ],
        "api": reverse("reporting-report-detail", args=[report.pk]),
        "canApprove": request.user.has_perm("reporting.approve_report"),
        "canTakeOver": request.user.has_perm("reporting.take_over_report"),
        "lockMessage": lock_message(report) if report.locked_by_id not in (None, request.user.pk) else "",
        "tab": {"url": request.path, "title": f"{exam.patient.name} {exam.accession_number}"},
        "history": history,
        "chinese": (get_language() or "").lower().startswith("zh"),
        "text": _text(),
    }
    # Isolated like the viewer it frames, so that the viewer may share memory with its workers there too.
    return isolate(
        render(
            request,
            "reporting/workspace.html",
            {
                "exam": exam,
                "report": report,
                "viewer_url": viewer_url,
                "history": history,
                "critical_categories": CriticalCategory.choices,
                "config": config,
            },
        )
    )


@login_required
def workspace_for_study(request: HttpRequest, study_uid: str) -> HttpResponse:
    """From the study browser or the viewer, which know studies by their UID."""
    exam = get_object_or_404(Exam, study_instance_uid=study_uid, organization=_organization(request))
    return redirect("reporting:workspace", exam_id=exam.pk)


@login_required
def version(request: HttpRequest, report_id: int, number: int) -> HttpResponse:
    """A signed version as it was approved, read-only, with its PDF."""
    found = get_object_or_404(
        ReportVersion.objects.select_related("report__exam__patient", "approved_by"),
        report_id=report_id,
        number=number,
        report__organization=_organization(request),
    )
    sections = [
        {**section, "html": found.sections.get(str(section["key"]), "")}
        for section in selectors.report_sections(report=found.report)
    ]
    key_images = [
        {"image": image, "url": reverse("reporting-report-key-image-png", args=[found.report_id, image.pk])}
        for image in selectors.key_images_by_ids(ids=found.key_image_ids)
    ]
    return render(request, "reporting/version.html", {"version": found, "sections": sections, "key_images": key_images})
