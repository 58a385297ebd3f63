"""Worklist API: the unmatched list, re-association of studies and series, unbinding, history and undo.

Views parse, call one selector or service, and shape the answer; errors answer 400 (bad input), 404 (not
in your organization) or 409 (the archive refuses the change, e.g. a later action must be undone first).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pacs.auth import organization_of
from pacs.corrections import CorrectionError
from pacs.models import Organization, Series, Study
from ris.api.serializers import ErrorSerializer
from ris.models import Exam
from ris.models import Patient as RisPatient
from worklist import selectors
from worklist.api import serializers as s
from worklist.models import Reassociation
from worklist.services.reassociation import (
    ReassociationError,
    reassociation_undo,
    series_reassociate,
    study_reassociate,
    study_unbind,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid request"),
    404: OpenApiResponse(ErrorSerializer, description="Not found in your organization"),
    409: OpenApiResponse(ErrorSerializer, description="The change cannot be made now"),
}


def _valid(serializer_class: type[s.serializers.Serializer], data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WorklistApiMixin:
    request: Request
    lookup_value_regex = "[^/]+"

    @property
    def organization(self) -> Organization:
        return organization_of(self.request.user)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ReassociationError | CorrectionError):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)  # type: ignore[misc]

    def _target(self, data: dict) -> dict:
        """The exam or patient of the request, of the caller's organization, as keyword arguments."""
        if data["exam"] is not None:
            exam = Exam.objects.filter(organization=self.organization, pk=data["exam"]).first()
            if exam is None:
                raise ValidationError({"exam": ["No such exam."]})
            return {"exam": exam}
        patient = RisPatient.objects.filter(
            organization=self.organization, pk=data["patient"], merged_into__isnull=True
        ).first()
        if patient is None:
            raise ValidationError({"patient": ["No such patient."]})
        return {"patient": patient}


def _pk(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) < 2**63 else None


class StudyViewSet(WorklistApiMixin, viewsets.GenericViewSet):
    """Stored studies and the exams they are linked to; the unmatched list."""

    serializer_class = s.StudySerializer
    queryset = Study.objects.none()

    def _study(self, pk: str) -> Study:
        return get_object_or_404(
            selectors.studies_for_review(organization=self.organization, unmatched_only=False), pk=_pk(pk)
        )

    @extend_schema(parameters=[s.StudyQuerySerializer], responses={200: s.StudySerializer(many=True), **ERRORS})
    def list(self, request: Request) -> Response:
        query = _valid(s.StudyQuerySerializer, request.query_params.dict())
        studies = selectors.studies_for_review(
            organization=self.organization,
            unmatched_only=query["unmatched"],
            query=query["q"],
            modality=query["modality"],
            date_from=query["date_from"],
            date_to=query["date_to"],
        )
        return Response(s.StudySerializer(studies[: query["limit"]], many=True).data)

    @extend_schema(responses={200: s.StudyDetailSerializer, 404: ERRORS[404]})
    def retrieve(self, request: Request, pk: str) -> Response:
        study = self._study(pk)
        study.series_list = list(selectors.study_series(study=study))
        return Response(s.StudyDetailSerializer(study).data)

    @extend_schema(request=s.ReassociateSerializer, responses={200: s.ReassociationSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def reassociate(self, request: Request, pk: str) -> Response:
        """Give the study to an exam (its patient and accession number) or to a patient without an order."""
        study = self._study(pk)
        data = _valid(s.ReassociateSerializer, request.data)
        target = self._target(data)
        record = study_reassociate(study=study, reason=data["reason"], by=request.user, **target)
        return Response(s.ReassociationSerializer(record).data)

    @extend_schema(request=s.UnbindRequestSerializer, responses={200: s.ReassociationSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def unbind(self, request: Request, pk: str) -> Response:
        """Take the study off its exam: it goes on the unmatched list."""
        study = self._study(pk)
        data = _valid(s.UnbindRequestSerializer, request.data)
        record = study_unbind(study=study, reason=data["reason"], by=request.user)
        return Response(s.ReassociationSerializer(record).data)

    @extend_schema(responses={200: s.ReassociationSerializer(many=True), 404: ERRORS[404]})
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        """Every re-association, unbinding and series move that touched the study, newest first."""
        records = selectors.reassociations_of_study(study=self._study(pk))
        return Response(s.ReassociationSerializer(records, many=True).data)


class SeriesViewSet(WorklistApiMixin, viewsets.GenericViewSet):
    """One series of a stored study, moved to another order or patient."""

    serializer_class = s.SeriesBriefSerializer
    queryset = Series.objects.none()

    @extend_schema(request=s.ReassociateSerializer, responses={200: s.ReassociationSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def reassociate(self, request: Request, pk: str) -> Response:
        """Move the series to an exam (it joins the exam's study) or to a patient as a study of its own."""
        series = get_object_or_404(Series, study__organization=self.organization, pk=_pk(pk))
        data = _valid(s.ReassociateSerializer, request.data)
        target = self._target(data)
        record = series_reassociate(series=series, reason=data["reason"], by=request.user, **target)
        return Response(s.ReassociationSerializer(record).data)


class ReassociationViewSet(WorklistApiMixin, viewsets.GenericViewSet):
    """The audit trail of re-associations: who, when, old and new values, reason; undo."""

    serializer_class = s.ReassociationSerializer
    queryset = Reassociation.objects.none()

    @extend_schema(responses={200: s.ReassociationSerializer(many=True), **ERRORS})
    def list(self, request: Request) -> Response:
        records = selectors.reassociations_recent(organization=self.organization)
        return Response(s.ReassociationSerializer(records, many=True).data)

    @extend_schema(request=None, responses={200: s.ReassociationSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str) -> Response:
        """Undo the action (only the latest one on its studies); the undo is recorded as an action itself."""
        record = get_object_or_404(Reassociation, organization=self.organization, pk=_pk(pk))
        return Response(s.ReassociationSerializer(reassociation_undo(reassociation=record, by=request.user)).data)


class TargetView(WorklistApiMixin, APIView):
    """Exams a study or series may be given to, by accession number, patient ID, name, pinyin or initials."""

    @extend_schema(parameters=[s.TargetQuerySerializer], responses={200: s.ExamBriefSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        query = _valid(s.TargetQuerySerializer, request.query_params.dict())["q"]
        exams = selectors.exam_targets(organization=self.organization, query=query)
        return Response(s.ExamBriefSerializer(exams, many=True).data)
