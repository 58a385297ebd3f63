"""Appointments: book, move and cancel slots of a room, within its opening hours and capacity."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacs.models import User
from ris import states
from ris.errors import ConflictError, RegistrationError
from ris.models import Appointment, Exam, Room
from ris.selectors import room_slot_bounds
from ris.signals import appointment_changed


def _announce(appointment: Appointment, action: str) -> None:
    transaction.on_commit(
        lambda: appointment_changed.send(
            sender=Appointment,
            appointment_id=appointment.pk,
            exam_id=appointment.exam_id,
            organization_id=appointment.organization_id,
            action=action,
        )
    )


def _claim_slot(*, exam: Exam, room: Room, starts_at: datetime, ignore: Appointment | None = None) -> datetime:
    """Check ``starts_at`` against the room and lock the room row; returns the slot's end.

    Holding the room's row lock until commit serialises bookings of one room, so two clerks cannot both
    take the last place of a slot.
    """
    if room.organization_id != exam.organization_id or not room.active:
        raise RegistrationError(_("Choose an open room of your organization."), field="room")
    if room.modality != exam.modality:
        raise RegistrationError(
            _("This room does not perform %(modality)s exams.") % {"modality": exam.modality}, field="room"
        )
    if exam.status not in states.OPEN_AT_DESK:
        raise ConflictError(_("Only exams not yet started can be booked."))
    if timezone.is_naive(starts_at):
        raise RegistrationError(_("The time needs a time zone."), field="starts_at")
    local = starts_at.astimezone(timezone.get_current_timezone())
    bounds = dict(room_slot_bounds(room=room, day=local.date()))
    if local not in bounds:
        raise RegistrationError(
            _("This time is not the start of a slot within the room's opening hours."), field="starts_at"
        )
    Room.objects.select_for_update().get(pk=room.pk)
    taken = Appointment.objects.filter(room=room, starts_at=starts_at, cancelled_at__isnull=True)
    if ignore is not None:
        taken = taken.exclude(pk=ignore.pk)
    if taken.count() >= room.patients_per_slot:
        raise ConflictError(_("This slot is full."), field="starts_at")
    return bounds[local]


def appointment_book(*, exam: Exam, room: Room, starts_at: datetime, by: User | None) -> Appointment:
    """Book ``exam`` into the slot of ``room`` that starts at ``starts_at``."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam.pk)
        if exam.appointments.filter(cancelled_at__isnull=True).exists():
            raise ConflictError(_("This exam already has an appointment: move it instead."))
        ends_at = _claim_slot(exam=exam, room=room, starts_at=starts_at)
        appointment = Appointment.objects.create(
            organization_id=exam.organization_id,
            exam=exam,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            booked_by=by,
        )
        _announce(appointment, "booked")
    return appointment


def appointment_move(*, appointment: Appointment, room: Room, starts_at: datetime, by: User | None) -> Appointment:
    """Move an active appointment to another slot (of the same or another room of the modality)."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().select_related("exam").get(pk=appointment.pk)
        if appointment.cancelled_at is not None:
            raise ConflictError(_("This appointment was cancelled."))
        appointment.ends_at = _claim_slot(exam=appointment.exam, room=room, starts_at=starts_at, ignore=appointment)
        appointment.room, appointment.starts_at, appointment.booked_by = room, starts_at, by
        appointment.save(update_fields=["room", "starts_at", "ends_at", "booked_by"])
        _announce(appointment, "moved")
    return appointment


def exam_appointment_set(*, exam: Exam, room: Room, starts_at: datetime, by: User | None) -> Appointment:
    """Book ``exam`` into the slot, or move its active appointment there if it has one."""
    active = exam.appointments.filter(cancelled_at__isnull=True).first()
    if active is None:
        return appointment_book(exam=exam, room=room, starts_at=starts_at, by=by)
    return appointment_move(appointment=active, room=room, starts_at=starts_at, by=by)


def appointment_cancel(*, appointment: Appointment, by: User | None) -> Appointment:
    """Free the slot; the exam stays scheduled and can be booked again."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if appointment.cancelled_at is not None:
            raise ConflictError(_("This appointment was cancelled."))
        appointment.cancelled_at, appointment.cancelled_by = timezone.now(), by
        appointment.save(update_fields=["cancelled_at", "cancelled_by"])
        _announce(appointment, "cancelled")
    return appointment
