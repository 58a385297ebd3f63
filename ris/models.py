"""RIS data: patients as the front desk knows them, the procedure catalogue, orders, exams, rooms, appointments.

An *order* is one requested procedure (from the HIS or entered at the desk). An *exam* is what the
modality performs and the archive stores as one study: it carries the accession number, the Study
Instance UID assigned at registration and the status. Orders merged at registration share one exam,
so "the status of an order" is the status of its exam. Writes live in ``ris.services``, reads in
``ris.selectors``.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pacs.models import Organization


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")
    OTHER = "O", _("other")


class Modality(models.TextChoices):
    """DICOM modality codes (PS3.3 C.7.3.1.1.1) the front desk schedules."""

    CT = "CT", "CT"
    MR = "MR", "MR"
    DX = "DX", "DR"
    CR = "CR", "CR"
    MG = "MG", _("mammography")
    RF = "RF", _("fluoroscopy")
    XA = "XA", "DSA"
    US = "US", _("ultrasound")
    NM = "NM", _("nuclear medicine")
    PT = "PT", "PET"
    ES = "ES", _("endoscopy")


class Priority(models.IntegerChoices):
    """Lower sorts first: emergencies head every list."""

    EMERGENCY = 1, _("emergency")
    URGENT = 2, _("urgent")
    ROUTINE = 3, _("routine")


class ExamStatus(models.TextChoices):
    """The one state machine of an exam; the allowed moves are in ``ris.states``."""

    SCHEDULED = "scheduled", _("scheduled")
    ARRIVED = "arrived", _("arrived")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETED = "completed", _("completed")
    REPORTED = "reported", _("reported")
    APPROVED = "approved", _("approved")
    CANCELLED = "cancelled", _("cancelled")
    NO_SHOW = "no_show", _("no-show")


class OrderSource(models.TextChoices):
    HIS = "his", _("HIS")
    DESK = "desk", _("walk-in")


class RegistrationSettings(models.Model):
    """Per-organization numbering; an organization without a row uses the defaults below.

    Patterns are text with fields in braces: ``{modality}``, ``{yyyy}``, ``{yy}``, ``{mm}``, ``{dd}``,
    ``{org}`` and ``{seq:N}`` (a counter of N digits). The counter restarts whenever the text around it
    changes, so ``{yyyy}{mm}{dd}`` in a pattern gives a daily sequence.
    """

    DEFAULT_ACCESSION_PATTERN = "{modality}{yy}{mm}{dd}{seq:4}"
    DEFAULT_PATIENT_ID_PATTERN = "P{yy}{mm}{seq:6}"

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="ris_settings")
    accession_pattern = models.CharField(
        _("accession number pattern"), max_length=64, default=DEFAULT_ACCESSION_PATTERN
    )
    patient_id_pattern = models.CharField(_("patient ID pattern"), max_length=64, default=DEFAULT_PATIENT_ID_PATTERN)

    class Meta:
        verbose_name = _("registration settings")
        verbose_name_plural = _("registration settings")

    def __str__(self) -> str:
        return str(self.organization)


class Counter(models.Model):
    """A named sequence, incremented under a row lock by ``ris.services.numbering``."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=128)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "scope"], name="ris_unique_counter_scope")]

    def __str__(self) -> str:
        return f"{self.scope} = {self.value}"


class Patient(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="ris_patients")
    patient_id = models.CharField(_("patient ID"), max_length=64)
    name = models.CharField(_("name"), max_length=64)
    # Upper case, no separators, as pacs.names makes them: 张三 -> ZHANGSAN / ZS.
    name_pinyin = models.CharField(max_length=256, blank=True, db_index=True)
    name_initials = models.CharField(max_length=64, blank=True, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    id_card = models.CharField(_("ID card number"), max_length=18, blank=True)
    outpatient_no = models.CharField(_("outpatient number"), max_length=64, blank=True)
    inpatient_no = models.CharField(_("inpatient number"), max_length=64, blank=True)
    admission_no = models.CharField(_("admission number"), max_length=64, blank=True)
    # Set when this record was merged into another; such a record is kept for the audit trail only.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(null=True, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(fields=["organization", "patient_id"], name="ris_unique_patient_id"),
            models.UniqueConstraint(
                fields=["organization", "id_card"],
                condition=~models.Q(id_card="") & models.Q(merged_into__isnull=True),
                name="ris_unique_id_card",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "name", "birth_date"]),
            models.Index(fields=["organization", "outpatient_no"]),
            models.Index(fields=["organization", "inpatient_no"]),
            models.Index(fields=["organization", "admission_no"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.patient_id})"

    @property
    def age(self) -> int | None:
        """Full years today, in the server's time zone."""
        return self.age_on(timezone.localdate())

    def age_on(self, day: date) -> int | None:
        """Full years on ``day``, or None without a birth date."""
        if self.birth_date is None:
            return None
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)


class PatientChange(models.Model):
    """One correction of a patient's demographics at the desk or through the API: who, when, before, after.

    ``old`` and ``new`` hold only the fields that changed, as text; an ID card number is kept masked.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    # "desk" or "api"
    source = models.CharField(max_length=16)
    old = models.JSONField(default=dict)
    new = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("patient change")
        verbose_name_plural = _("patient changes")
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.patient_id} @ {self.changed_at:%Y-%m-%d %H:%M}"


class Procedure(models.Model):
    """An entry of the configurable catalogue (admin): what can be ordered, on which modality."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ris_procedures")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=128)
    modality = models.CharField(_("modality"), max_length=2, choices=Modality.choices)
    body_part = models.CharField(_("body part"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["modality", "code"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="ris_unique_procedure_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Exam(models.Model):
    """One study to perform: accession number, Study Instance UID, status, and the orders it fulfils."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="ris_exams")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="exams")
    accession_number = models.CharField(_("accession number"), max_length=16)
    study_instance_uid = models.CharField(_("Study Instance UID"), max_length=64, unique=True)
    modality = models.CharField(_("modality"), max_length=2, choices=Modality.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.ROUTINE)
    status = models.CharField(_("status"), max_length=16, choices=ExamStatus.choices, default=ExamStatus.SCHEDULED)
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exam")
        verbose_name_plural = _("exams")
        constraints = [
            models.UniqueConstraint(fields=["organization", "accession_number"], name="ris_unique_accession")
        ]
        indexes = [models.Index(fields=["organization", "status", "priority"])]

    def __str__(self) -> str:
        return self.accession_number


class Order(models.Model):
    """A requested procedure; several may be merged into one exam."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="ris_orders")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="orders")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="orders")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    body_part = models.CharField(_("body part"), max_length=64, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.ROUTINE)
    requesting_department = models.CharField(_("requesting department"), max_length=64, blank=True)
    requesting_physician = models.CharField(_("requesting physician"), max_length=64, blank=True)
    clinical_info = models.TextField(_("clinical information"), blank=True)
    source = models.CharField(_("source"), max_length=8, choices=OrderSource.choices, default=OrderSource.DESK)
    # The HIS's placer order number: an order sent twice is found again, not duplicated.
    his_order_no = models.CharField(_("HIS order number"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "his_order_no"],
                condition=~models.Q(his_order_no=""),
                name="ris_unique_his_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.procedure.name} ({self.exam.accession_number})"


class ExamStatusChange(models.Model):
    """One step of an exam's history: from, to, when, and who (a user, or the system that reported it)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=ExamStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ExamStatus.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "desk", "api", "mpps", ...: who reported the change when no user did.
    source = models.CharField(max_length=16)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.exam_id}: {self.from_status or '-'} -> {self.to_status}"


class Room(models.Model):
    """An exam room with its device: where appointments are booked, in slots within opening hours."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ris_rooms")
    name = models.CharField(_("name"), max_length=64)
    modality = models.CharField(_("modality"), max_length=2, choices=Modality.choices)
    device = models.CharField(_("device"), max_length=64, blank=True)
    # Scheduled Station AE Title for the modality worklist.
    station_ae_title = models.CharField(_("station AE title"), max_length=16, blank=True)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=15)
    patients_per_slot = models.PositiveSmallIntegerField(_("patients per slot"), default=1)
    # ISO weekdays the room is open, Monday = 1: "12345" is Monday to Friday.
    open_weekdays = models.CharField(_("open weekdays"), max_length=7, default="1234567")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["modality", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="ris_room_hours"),
            models.CheckConstraint(condition=models.Q(slot_minutes__gte=1), name="ris_room_slot_length"),
            models.CheckConstraint(condition=models.Q(patients_per_slot__gte=1), name="ris_room_capacity"),
        ]

    def __str__(self) -> str:
        return self.name


class Appointment(models.Model):
    """A booked slot for an exam. Moving keeps the row; cancelling keeps it with ``cancelled_at`` set."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ris_appointments")
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="appointments")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["exam"], condition=models.Q(cancelled_at__isnull=True), name="ris_one_active_appointment"
            )
        ]
        indexes = [models.Index(fields=["room", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.exam} @ {self.room} {self.starts_at:%Y-%m-%d %H:%M}"
