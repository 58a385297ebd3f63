"""Reporting API views: parse the request, call one selector or service, shape the answer."""

from __future__ import annotations

import base64
import binascii

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pacs.auth import organization_of
from reporting import selectors
from reporting.api import serializers as s
from reporting.errors import QualityCheckError, ReportingError
from reporting.files import file_read
from reporting.models import KeyImage, Report, ReportVersion
from reporting.services import reports, signoff
from ris.models import Exam


def _valid(serializer_class: type[s.serializers.Serializer], data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ReportingApiMixin:
    """Scopes every request to the caller's organization and answers service errors as 400 or 409."""

    request: Request

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, QualityCheckError):
            body = {"detail": exc.message, "problems": s.ProblemSerializer(exc.problems, many=True).data}
            return Response(body, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, ReportingError):
            return Response(
                {"detail": exc.message},
                status=status.HTTP_409_CONFLICT if exc.conflict else status.HTTP_400_BAD_REQUEST,
            )
        if isinstance(exc, ObjectDoesNotExist):
            # The report went away between the look-up and the locked read (deleted, or a late autosave).
            return Response({"detail": "No such report."}, status=status.HTTP_404_NOT_FOUND)
        return super().handle_exception(exc)  # type: ignore[misc]


class ExamReportView(ReportingApiMixin, APIView):
    """The report of an exam, created (as a draft with the best template) on first use."""

    @extend_schema(request=None, responses=s.ReportSerializer)
    def post(self, request: Request, exam_id: int) -> Response:
        exam = get_object_or_404(Exam, pk=exam_id, organization=organization_of(request.user))
        report = reports.report_get_or_create(exam=exam, by=request.user)
        return Response(s.ReportSerializer(report).data)


class ReportViewSet(ReportingApiMixin, viewsets.GenericViewSet):
    serializer_class = s.ReportSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.reports_for_organization(organization_id=organization_of(self.request.user).pk)

    def _answer(self, report: Report) -> Response:
        return Response(s.ReportSerializer(Report.objects.get(pk=report.pk)).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._answer(self.get_object())

    @extend_schema(request=s.SaveSerializer, responses=s.ReportSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        data = _valid(s.SaveSerializer, request.data)
        return self._answer(reports.report_save(report=self.get_object(), by=request.user, **data))

    @extend_schema(request=s.LockSerializer, responses=s.ReportSerializer)
    @action(detail=True, methods=["post", "delete"])
    def lock(self, request: Request, pk: str) -> Response:
        if request.method == "DELETE":
            return self._answer(reports.report_lock_release(report=self.get_object(), by=request.user))
        data = _valid(s.LockSerializer, request.data)
        return self._answer(reports.report_lock_acquire(report=self.get_object(), by=request.user, **data))

    @extend_schema(request=s.TemplateChoiceSerializer, responses=s.ReportSerializer)
    @action(detail=True, methods=["post"])
    def template(self, request: Request, pk: str) -> Response:
        data = _valid(s.TemplateChoiceSerializer, request.data)
        return self._answer(
            reports.report_template_apply(report=self.get_object(), template=data["template"], by=request.user)
        )

    @extend_schema(request=None, responses=s.ProblemSerializer(many=True))
    @action(detail=True, methods=["get"])
    def quality(self, request: Request, pk: str) -> Response:
        return Response(
            s.ProblemSerializer(selectors.report_quality_problems(report=self.get_object()), many=True).data
        )

    @extend_schema(request=s.SubmitSerializer, responses=s.ReportSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        data = _valid(s.SubmitSerializer, request.data)
        return self._answer(signoff.report_submit(report=self.get_object(), by=request.user, **data))

    @extend_schema(request=None, responses=s.ReportSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._answer(signoff.report_approve(report=self.get_object(), by=request.user))

    @extend_schema(request=s.ReasonSerializer, responses=s.ReportSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request: Request, pk: str) -> Response:
        data = _valid(s.ReasonSerializer, request.data)
        return self._answer(signoff.report_return(report=self.get_object(), by=request.user, **data))

    @extend_schema(request=s.ReasonSerializer, responses=s.ReportSerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request: Request, pk: str) -> Response:
        data = _valid(s.ReasonSerializer, request.data)
        return self._answer(signoff.report_amend(report=self.get_object(), by=request.user, **data))

    @extend_schema(request=s.CriticalSerializer, responses=s.ReportSerializer)
    @action(detail=True, methods=["post", "delete"])
    def critical(self, request: Request, pk: str) -> Response:
        if request.method == "DELETE":
            data = _valid(s.ReasonSerializer, request.data)
            return self._answer(reports.report_critical_clear(report=self.get_object(), by=request.user, **data))
        data = _valid(s.CriticalSerializer, request.data)
        return self._answer(reports.report_critical_set(report=self.get_object(), by=request.user, **data))

    @extend_schema(request=s.KeyImageCreateSerializer, responses=s.KeyImageSerializer)
    @action(detail=True, methods=["post"], url_path="key-images")
    def key_images(self, request: Request, pk: str) -> Response:
        data = _valid(s.KeyImageCreateSerializer, request.data)
        encoded = data.pop("png").split(",", 1)[-1]
        try:
            png = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ReportingError("png: not base64") from None
        image = reports.key_image_add(report=self.get_object(), by=request.user, png=png, **data)
        return Response(s.KeyImageSerializer(image).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"key-images/(?P<image_id>\d+)")
    def key_image(self, request: Request, pk: str, image_id: str) -> Response:
        image = get_object_or_404(KeyImage, pk=image_id, report=self.get_object())
        reports.key_image_remove(image=image, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "image/png"): bytes})
    @action(detail=True, methods=["get"], url_path=r"key-images/(?P<image_id>\d+)/png")
    def key_image_png(self, request: Request, pk: str, image_id: str) -> HttpResponse:
        # Removed images stay readable: an approved version may show them.
        image = get_object_or_404(KeyImage, pk=image_id, report=self.get_object())
        response = HttpResponse(file_read(image.png_path), content_type="image/png")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)/pdf")
    def pdf(self, request: Request, pk: str, number: str) -> HttpResponse:
        version = get_object_or_404(ReportVersion, report=self.get_object(), number=number)
        if not version.pdf_path:
            raise Http404
        response = HttpResponse(file_read(version.pdf_path), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="report-{version.report.exam.accession_number}-v{number}.pdf"'
        )
        return response


class TemplateListView(APIView):
    @extend_schema(responses=s.TemplateSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = selectors.templates_for_organization(
            organization_id=organization_of(request.user).pk, modality=request.query_params.get("modality", "")
        )
        return Response(s.TemplateSerializer(rows, many=True).data)


class PhraseTreeView(APIView):
    @extend_schema(responses=s.PhraseSerializer(many=True))
    def get(self, request: Request) -> Response:
        organization_of(request.user)
        roots = selectors.phrases_visible(user=request.user, modality=request.query_params.get("modality", ""))
        return Response(s.PhraseSerializer(roots, many=True).data)
