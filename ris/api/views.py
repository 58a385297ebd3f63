"""RIS API views: parse the request, call one selector or service, shape the answer."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pacs.auth import organization_of
from pacs.models import Organization
from ris import selectors
from ris.api import serializers as s
from ris.errors import DuplicatePatientError, RegistrationError
from ris.models import Appointment, Exam, OrderSource, Patient, Room
from ris.services.appointments import appointment_book, appointment_cancel, appointment_move
from ris.services.exams import OrderData, exam_transition, exams_check_in, exams_merge, order_create
from ris.services.patients import PatientData, patient_merge, patient_register, patient_update

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid request"),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found in your organization"),
    409: OpenApiResponse(s.ErrorSerializer, description="Conflicts with what is stored"),
}


class RisApiMixin:
    """Scopes every request to the caller's organization and answers service errors as 400 or 409."""

    request: Request
    # Any path segment reaches the view, which answers 404 in JSON; the router's default regex would leave
    # an id such as "1.5" to Django's HTML 404 page.
    lookup_value_regex = "[^/]+"

    @property
    def organization(self) -> Organization:
        return organization_of(self.request.user)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DuplicatePatientError):
            body = {"detail": exc.message, "duplicates": s.PatientListSerializer(exc.duplicates, many=True).data}
            return Response(body, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, RegistrationError):
            body = {"detail": exc.message, **({"field": exc.field} if exc.field else {})}
            return Response(body, status=status.HTTP_409_CONFLICT if exc.conflict else status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)  # type: ignore[misc]


def _query(serializer_class: type[s.serializers.Serializer], request: Request) -> dict:
    # As a plain dict: from a QueryDict DRF reads "?date=" as "not given", as it does for HTML forms, where
    # the API should refuse it.
    return _valid(serializer_class, request.query_params.dict())


def _valid(serializer_class: type[s.serializers.Serializer], data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PatientViewSet(RisApiMixin, viewsets.GenericViewSet):
    """Patients of your organization: search, register (with duplicate check), correct, merge."""

    serializer_class = s.PatientDetailSerializer
    queryset = Patient.objects.none()  # the model tells the schema the type of {id}; get_queryset scopes

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Patient.objects.filter(organization=self.organization, merged_into__isnull=True)

    @extend_schema(parameters=[s.PatientQuerySerializer], responses={200: s.PatientListSerializer(many=True), **ERRORS})
    def list(self, request: Request) -> Response:
        query = _query(s.PatientQuerySerializer, request)["q"]
        patients = selectors.patient_search(organization=self.organization, query=query)
        return Response(s.PatientListSerializer(patients, many=True).data)

    @extend_schema(
        request=s.PatientCreateSerializer,
        responses={201: s.PatientDetailSerializer, 400: ERRORS[400], 409: s.DuplicatePatientsSerializer},
    )
    def create(self, request: Request) -> Response:
        data = _valid(s.PatientCreateSerializer, request.data)
        allow = data.pop("allow_same_name_and_birth")
        patient = patient_register(
            organization=self.organization, data=PatientData(**data), by=request.user, allow_same_name_and_birth=allow
        )
        return Response(s.PatientDetailSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.PatientDetailSerializer, 404: ERRORS[404]})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.PatientDetailSerializer(self.get_object()).data)

    @extend_schema(request=s.PatientWriteSerializer, responses={200: s.PatientDetailSerializer, **ERRORS})
    def update(self, request: Request, pk: str) -> Response:
        patient = self.get_object()
        data = _valid(s.PatientWriteSerializer, request.data)
        patient = patient_update(patient=patient, data=PatientData(**data), by=request.user, source="api")
        return Response(s.PatientDetailSerializer(patient).data)

    @extend_schema(request=s.PatientMergeSerializer, responses={200: s.PatientDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        """Merge the patient ``source`` into this one: its orders and exams move here, it is retired."""
        target = self.get_object()
        source_pk = _valid(s.PatientMergeSerializer, request.data)["source"]
        source = self.get_queryset().filter(pk=source_pk).first()
        if source is None:
            raise RegistrationError("No such patient to merge.", field="source")
        return Response(s.PatientDetailSerializer(patient_merge(source=source, target=target, by=request.user)).data)


class OrderViewSet(RisApiMixin, viewsets.GenericViewSet):
    """Orders from the HIS: each becomes an exam with an accession number and a Study Instance UID."""

    serializer_class = s.ExamSerializer

    @extend_schema(request=s.OrderCreateSerializer, responses={201: s.ExamSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        data = _valid(s.OrderCreateSerializer, request.data)
        organization = self.organization
        patient = Patient.objects.filter(organization=organization, pk=data.pop("patient")).first()
        if patient is None:
            raise RegistrationError("No such patient.", field="patient")
        procedure = (
            selectors.procedures_active(organization=organization).filter(code=data.pop("procedure_code")).first()
        )
        if procedure is None:
            raise RegistrationError("No such procedure in the catalogue.", field="procedure_code")
        order = order_create(
            organization=organization,
            patient=patient,
            data=OrderData(procedure=procedure, **data),
            source=OrderSource.HIS,
            by=request.user,
        )
        exam = selectors.exams_of_organization(organization=organization).get(pk=order.exam_id)
        return Response(s.ExamSerializer(exam).data, status=status.HTTP_201_CREATED)


@extend_schema_view(retrieve=extend_schema(responses={200: s.ExamSerializer, 404: ERRORS[404]}))
class ExamViewSet(RisApiMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Exams: the desk's list of the day, status changes, batch check-in, merging orders into one exam."""

    serializer_class = s.ExamSerializer
    queryset = Exam.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.exams_of_organization(organization=self.organization)

    @extend_schema(parameters=[s.ExamListQuerySerializer], responses={200: s.ExamSerializer(many=True), **ERRORS})
    def list(self, request: Request) -> Response:
        query = _query(s.ExamListQuerySerializer, request)
        exams = selectors.exam_day_list(
            organization=self.organization,
            day=query.get("date") or timezone.localdate(),
            status=query.get("status", ""),
            modality=query.get("modality", ""),
        )
        return Response(s.ExamSerializer(exams, many=True).data)

    @extend_schema(request=s.ExamTransitionSerializer, responses={200: s.ExamSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        """Move the exam to another status of the state machine (see ``next_statuses``)."""
        data = _valid(s.ExamTransitionSerializer, request.data)
        exam = exam_transition(
            exam=self.get_object(), to_status=data["status"], note=data["note"], by=request.user, source="api"
        )
        return Response(s.ExamSerializer(self.get_queryset().get(pk=exam.pk)).data)

    @extend_schema(request=s.ExamIdsSerializer, responses={200: s.ExamSerializer(many=True), **ERRORS})
    @action(detail=False, methods=["post"], url_path="check-in")
    def check_in(self, request: Request) -> Response:
        """Check the patient in for all the given exams at once (all or none)."""
        ids = _valid(s.ExamIdsSerializer, request.data)["exam_ids"]
        exams_check_in(organization=self.organization, exam_ids=ids, by=request.user, source="api")
        return Response(s.ExamSerializer(self.get_queryset().filter(pk__in=ids).order_by("pk"), many=True).data)

    @extend_schema(request=s.ExamIdsSerializer, responses={200: s.ExamSerializer, **ERRORS})
    @action(detail=False, methods=["post"])
    def merge(self, request: Request) -> Response:
        """Perform the orders of several exams as one exam, under the first exam's accession number."""
        ids = _valid(s.ExamIdsSerializer, request.data)["exam_ids"]
        exam = exams_merge(organization=self.organization, exam_ids=ids, by=request.user, source="api")
        return Response(s.ExamSerializer(self.get_queryset().get(pk=exam.pk)).data)


class ProcedureViewSet(RisApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The procedure catalogue (edited in the admin)."""

    serializer_class = s.ProcedureSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.procedures_active(organization=self.organization)


class RoomViewSet(RisApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Exam rooms with their opening hours and slots."""

    serializer_class = s.RoomSerializer
    queryset = Room.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.rooms_active(organization=self.organization)

    @extend_schema(parameters=[s.DateQuerySerializer], responses={200: s.SlotSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"])
    def slots(self, request: Request, pk: str) -> Response:
        """The room's day: every slot with its free places and booked exams."""
        day = _query(s.DateQuerySerializer, request).get("date") or timezone.localdate()
        return Response(s.SlotSerializer(selectors.room_day_slots(room=self.get_object(), day=day), many=True).data)


@extend_schema_view(retrieve=extend_schema(responses={200: s.AppointmentSerializer, 404: ERRORS[404]}))
class AppointmentViewSet(RisApiMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Book, move and cancel appointments."""

    serializer_class = s.AppointmentSerializer
    queryset = Appointment.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Appointment.objects.filter(organization=self.organization).select_related("room")

    def _room(self, pk: int) -> Room:
        room = selectors.rooms_active(organization=self.organization).filter(pk=pk).first()
        if room is None:
            raise RegistrationError("No such room.", field="room")
        return room

    @extend_schema(request=s.AppointmentBookSerializer, responses={201: s.AppointmentSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        data = _valid(s.AppointmentBookSerializer, request.data)
        exam = selectors.exams_of_organization(organization=self.organization).filter(pk=data["exam"]).first()
        if exam is None:
            raise RegistrationError("No such exam.", field="exam")
        appointment = appointment_book(
            exam=exam, room=self._room(data["room"]), starts_at=data["starts_at"], by=request.user
        )
        return Response(s.AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AppointmentMoveSerializer, responses={200: s.AppointmentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        data = _valid(s.AppointmentMoveSerializer, request.data)
        appointment = appointment_move(
            appointment=self.get_object(), room=self._room(data["room"]), starts_at=data["starts_at"], by=request.user
        )
        return Response(s.AppointmentSerializer(appointment).data)

    @extend_schema(request=None, responses={200: s.AppointmentSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        appointment = appointment_cancel(appointment=self.get_object(), by=request.user)
        return Response(s.AppointmentSerializer(appointment).data)


class LookupView(RisApiMixin, APIView):
    """What a scanned barcode or QR code (patient card, HIS slip, registration slip) names."""

    @extend_schema(parameters=[s.LookupQuerySerializer], responses={200: s.LookupSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        code = _query(s.LookupQuerySerializer, request)["code"]
        found = selectors.registration_lookup(organization=self.organization, code=code)
        return Response(s.LookupSerializer({"patient": found.patient, "exam": found.exam}).data)
