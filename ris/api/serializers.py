"""Shapes of the RIS API: what comes in (validated types) and what goes out. No decisions are made here."""

from __future__ import annotations

from datetime import date, datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ris import idcard, states
from ris.models import Appointment, Exam, ExamStatus, Modality, Order, Patient, Priority, Procedure, Room, Sex
from ris.selectors import Slot

MAX_ID = 2**63 - 1
# Dates the desk can meaningfully handle; beyond them date arithmetic (a day's end, a slot) overflows.
EARLIEST, LATEST = date(1880, 1, 1), date(2999, 12, 31)


class PatientListSerializer(serializers.ModelSerializer):
    """A patient as lists show it: the ID card number masked."""

    age = serializers.IntegerField(read_only=True, allow_null=True)
    id_card_masked = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id", "patient_id", "name", "name_pinyin", "name_initials", "sex", "birth_date", "age", "phone",
            "id_card_masked", "outpatient_no", "inpatient_no", "admission_no",
        ]  # fmt: skip

    def get_id_card_masked(self, patient: Patient) -> str:
        return idcard.mask(patient.id_card)


class PatientDetailSerializer(PatientListSerializer):
    class Meta(PatientListSerializer.Meta):
        fields = [*PatientListSerializer.Meta.fields, "id_card", "created_at", "updated_at"]


class PatientWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_blank=True, default="")
    birth_date = serializers.DateField(required=False, allow_null=True, default=None)
    patient_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    id_card = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    outpatient_no = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    inpatient_no = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    admission_no = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class PatientCreateSerializer(PatientWriteSerializer):
    allow_same_name_and_birth = serializers.BooleanField(
        default=False, help_text="Register although a patient with the same name and birth date exists."
    )


class DuplicatePatientsSerializer(serializers.Serializer):
    """409 answer to a registration that looks like a duplicate."""

    detail = serializers.CharField()
    duplicates = PatientListSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    """A refusal: ``detail`` (and the ``field`` it concerns), or DRF's ``{"<field>": ["<message>", ...]}``."""

    detail = serializers.CharField(required=False)
    field = serializers.CharField(required=False)


class PatientMergeSerializer(serializers.Serializer):
    source = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Patient merged into this one.")


class ProcedureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Procedure
        fields = ["id", "code", "name", "modality", "body_part"]


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "08:00"})
class ClockTimeField(serializers.TimeField):
    """A local wall-clock time, "HH:MM": JSON Schema's "time" format would demand a UTC offset."""

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(format="%H:%M", **kwargs)


class RoomSerializer(serializers.ModelSerializer):
    opens_at = ClockTimeField(read_only=True)
    closes_at = ClockTimeField(read_only=True)

    class Meta:
        model = Room
        fields = [
            "id", "name", "modality", "device", "station_ae_title", "opens_at", "closes_at", "slot_minutes",
            "patients_per_slot", "open_weekdays",
        ]  # fmt: skip


class OrderSerializer(serializers.ModelSerializer):
    procedure = ProcedureSerializer()

    class Meta:
        model = Order
        fields = [
            "id", "procedure", "body_part", "priority", "requesting_department", "requesting_physician",
            "clinical_info", "source", "his_order_no", "created_at",
        ]  # fmt: skip


class AppointmentSerializer(serializers.ModelSerializer):
    room_name = serializers.CharField(source="room.name", read_only=True)

    class Meta:
        model = Appointment
        fields = ["id", "exam", "room", "room_name", "starts_at", "ends_at", "cancelled_at"]


class ExamSerializer(serializers.ModelSerializer):
    """An exam with its patient, orders, active appointment and the moves the state machine allows."""

    patient = PatientListSerializer()
    orders = OrderSerializer(many=True)
    appointment = serializers.SerializerMethodField()
    next_statuses = serializers.SerializerMethodField()

    class Meta:
        model = Exam
        fields = [
            "id", "accession_number", "study_instance_uid", "modality", "priority", "status", "status_changed_at",
            "patient", "orders", "appointment", "next_statuses",
        ]  # fmt: skip

    @extend_schema_field(AppointmentSerializer(allow_null=True))
    def get_appointment(self, exam: Exam) -> dict | None:
        active = getattr(exam, "active_appointments", [])
        return AppointmentSerializer(active[0]).data if active else None

    # Plain strings: an enum here would duplicate the status enum under a second name in the schema.
    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text="Statuses allowed next."))
    def get_next_statuses(self, exam: Exam) -> list[str]:
        return states.next_statuses(exam.status)


class OrderCreateSerializer(serializers.Serializer):
    """An order from the HIS (or a desk client): for a registered patient, a procedure of the catalogue."""

    patient = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Database id of a RIS patient.")
    procedure_code = serializers.CharField(max_length=32)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    body_part = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    requesting_department = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    requesting_physician = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    clinical_info = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    his_order_no = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="Placer order number; resending it is safe.",
    )


class ExamTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ExamStatus.choices)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ExamIdsSerializer(serializers.Serializer):
    exam_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=100
    )


class AppointmentBookSerializer(serializers.Serializer):
    exam = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    room = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    starts_at = serializers.DateTimeField(help_text="Start of a slot of the room.")

    def validate_starts_at(self, value: datetime) -> datetime:
        if not EARLIEST <= value.date() <= LATEST:
            raise serializers.ValidationError("Out of range.")
        return value


class AppointmentMoveSerializer(AppointmentBookSerializer):
    exam = None  # type: ignore[assignment]


class SlotSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    free = serializers.IntegerField()
    exam_ids = serializers.SerializerMethodField()

    def get_exam_ids(self, slot: Slot) -> list[int]:
        return [a.exam_id for a in slot.appointments]


class DateQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="Day (default today).")

    def validate_date(self, value: date) -> date:
        if not EARLIEST <= value <= LATEST:
            raise serializers.ValidationError("Out of range.")
        return value


class ExamListQuerySerializer(DateQuerySerializer):
    status = serializers.ChoiceField(choices=ExamStatus.choices, required=False)
    modality = serializers.ChoiceField(choices=Modality.choices, required=False)


class LookupQuerySerializer(serializers.Serializer):
    # A scanned code is taken as it is: trimming would let a value over the limit through.
    code = serializers.CharField(
        max_length=500, trim_whitespace=False, help_text="Scanned barcode or QR code text, or a typed number."
    )


class PatientQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class LookupSerializer(serializers.Serializer):
    patient = PatientListSerializer(allow_null=True)
    exam = ExamSerializer(allow_null=True)
