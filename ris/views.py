"""The clerk's pages: the desk's day, registration, patients, exams, room days, scanning and the slip.

Views only parse the request (forms), call one selector or service, and render or redirect.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pacs.models import Organization
from ris import idcard, selectors, states
from ris.errors import DuplicatePatientError, RegistrationError
from ris.forms import (
    BookForm,
    DeskFilterForm,
    ExamSelectionForm,
    MergeForm,
    OrderForm,
    PatientEditForm,
    PatientForm,
    RoomDayForm,
    TransitionForm,
)
from ris.models import Appointment, Exam, ExamStatus, Patient
from ris.navigation import registration_followup_url
from ris.services.appointments import appointment_cancel, exam_appointment_set
from ris.services.exams import OrderData, exam_transition, exams_check_in, exams_merge
from ris.services.patients import PatientData, patient_merge, patient_update
from ris.services.registration import registration_walk_in
from ris.slip import exam_slip_pdf


def _organization(request: HttpRequest) -> Organization:
    organization = getattr(request.user, "organization", None)
    if organization is None:
        raise PermissionDenied(_("Your account does not belong to an organization."))
    return organization


def _exam(request: HttpRequest, pk: int) -> Exam:
    return get_object_or_404(selectors.exams_of_organization(organization=_organization(request)), pk=pk)


def _patient(request: HttpRequest, pk: int) -> Patient:
    try:
        return selectors.patient_get(organization=_organization(request), pk=pk)
    except Patient.DoesNotExist:
        raise Http404 from None


def _add_error(form, error: RegistrationError) -> None:  # type: ignore[no-untyped-def]
    form.add_error(error.field if error.field in form.fields else None, error.message)


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """The list of the day, with the scan field, filters and batch actions."""
    organization = _organization(request)
    filters = DeskFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    day = values.get("date") or timezone.localdate()
    exams = selectors.exam_day_list(
        organization=organization, day=day, status=values.get("status", ""), modality=values.get("modality", "")
    )
    return render(request, "ris/desk.html", {"exams": exams, "filters": filters, "day": day})


@login_required
def scan(request: HttpRequest) -> HttpResponse:
    """Open what a scanned or typed code names; an unknown ID card number starts a registration with it."""
    code = request.GET.get("code", "").strip()[:500]
    found = selectors.registration_lookup(organization=_organization(request), code=code)
    if found.exam is not None:
        return redirect("ris:exam", pk=found.exam.pk)
    if found.patient is not None:
        return redirect("ris:patient", pk=found.patient.pk)
    messages.warning(request, _("Nothing found for “%(code)s”.") % {"code": code})
    try:
        number = idcard.parse(code, today=timezone.localdate()).number
    except ValueError:
        return redirect("ris:desk")
    return redirect(reverse("ris:register") + "?" + urlencode({"id_card": number}))


@login_required
def register(request: HttpRequest) -> HttpResponse:
    """Single registration: a new (or chosen) patient and one order, checked in at once by default."""
    organization = _organization(request)
    patient = _patient(request, int(request.GET["patient"])) if request.GET.get("patient", "").isdigit() else None
    initial = {"id_card": request.GET.get("id_card", "")}
    patient_form = None if patient else PatientForm(request.POST or None, initial=initial)
    order_form = OrderForm(request.POST or None, organization=organization)
    duplicates: list[Patient] = []
    forms_valid = order_form.is_valid() and (patient_form is None or patient_form.is_valid())
    if request.method == "POST" and forms_valid:
        try:
            exam = registration_walk_in(
                organization=organization,
                patient=patient,
                patient_data=PatientData(**patient_form.patient_data()) if patient_form else None,
                allow_same_name_and_birth=bool(patient_form and patient_form.cleaned_data["allow_same_name_and_birth"]),
                order=OrderData(**order_form.order_data()),
                check_in=order_form.cleaned_data["check_in"],
                by=request.user,
            )
        except DuplicatePatientError as error:
            duplicates = error.duplicates
            _add_error(patient_form, error)
        except RegistrationError as error:
            _add_error(
                patient_form if error.field in (patient_form.fields if patient_form else {}) else order_form, error
            )
        else:
            messages.success(request, _("Registered %(accession)s.") % {"accession": exam.accession_number})
            return redirect(registration_followup_url(exam) or reverse("ris:exam", kwargs={"pk": exam.pk}))
    return render(
        request,
        "ris/register.html",
        {"patient": patient, "patient_form": patient_form, "order_form": order_form, "duplicates": duplicates},
    )


@login_required
def patients(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    found = selectors.patient_search(organization=_organization(request), query=query)
    return render(request, "ris/patients.html", {"patients": found, "query": query})


@login_required
def patient(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient with all their exams (batch check-in, merge) and the form to merge a duplicate in."""
    record = _patient(request, pk)
    if record.pk != pk:
        return redirect("ris:patient", pk=record.pk)
    merge_form = MergeForm(request.POST or None)
    if request.method == "POST" and merge_form.is_valid():
        source = Patient.objects.filter(
            organization=record.organization, patient_id=merge_form.cleaned_data["source_patient_id"].strip()
        ).first()
        try:
            if source is None:
                raise RegistrationError(_("No patient has this patient ID."), field="source_patient_id")
            patient_merge(source=source, target=record, by=request.user)
        except RegistrationError as error:
            _add_error(merge_form, error)
        else:
            messages.success(request, _("%(source)s was merged into this patient.") % {"source": source})
            return redirect("ris:patient", pk=record.pk)
    context = {
        "patient": record,
        "exams": selectors.exams_of_patient(patient=record),
        "merge_form": merge_form,
        "duplicates": selectors.patient_duplicates(
            organization=record.organization,
            name=record.name,
            birth_date=record.birth_date,
            id_card=record.id_card,
            exclude_id=record.pk,
        ),
    }
    return render(request, "ris/patient.html", context)


@login_required
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a patient's demographics; the changes made so far are listed below the form."""
    record = _patient(request, pk)
    if record.pk != pk:
        return redirect("ris:patient_edit", pk=record.pk)
    initial = {name: getattr(record, name) for name in PatientEditForm.base_fields if hasattr(record, name)}
    form = PatientEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            patient_update(patient=record, data=PatientData(**form.patient_data()), by=request.user, source="desk")
        except RegistrationError as error:
            _add_error(form, error)
        else:
            messages.success(request, _("The patient's record was saved."))
            return redirect("ris:patient", pk=record.pk)
    context = {"patient": record, "form": form, "changes": record.changes.select_related("changed_by")[:50]}
    return render(request, "ris/patient_edit.html", context)


@login_required
@require_POST
def exams_batch(request: HttpRequest) -> HttpResponse:
    """Check in, or merge, the exams ticked on the desk's list or a patient's page."""
    organization = _organization(request)
    form = ExamSelectionForm(request.POST, exam_ids=[int(v) for v in request.POST.getlist("exam") if v.isdigit()])
    back = request.POST.get("next", "")
    back = back if back.startswith("/") and not back.startswith("//") else reverse("ris:desk")
    if not form.is_valid():
        messages.error(request, _("Tick at least one exam first."))
        return redirect(back)
    ids = form.cleaned_data["exam"]
    try:
        if form.cleaned_data["action"] == "merge":
            exam = exams_merge(organization=organization, exam_ids=ids, by=request.user, source="desk")
            messages.success(request, _("Merged into %(accession)s.") % {"accession": exam.accession_number})
            return redirect("ris:exam", pk=exam.pk)
        exams = exams_check_in(organization=organization, exam_ids=ids, by=request.user, source="desk")
        messages.success(request, _("Checked in: %(list)s.") % {"list": ", ".join(e.accession_number for e in exams)})
    except RegistrationError as error:
        messages.error(request, error.message)
    return redirect(back)


@login_required
def exam(request: HttpRequest, pk: int) -> HttpResponse:
    record = _exam(request, pk)
    context = {
        "exam": record,
        "appointment": record.active_appointments[0] if record.active_appointments else None,
        "next_statuses": [ExamStatus(s) for s in states.next_statuses(record.status)],
        "bookable": record.status in states.OPEN_AT_DESK,
    }
    return render(request, "ris/exam.html", context)


@login_required
@require_POST
def exam_transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    record = _exam(request, pk)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            exam_transition(
                exam=record,
                to_status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                by=request.user,
                source="desk",
            )
        except RegistrationError as error:
            messages.error(request, error.message)
    return redirect("ris:exam", pk=record.pk)


@login_required
def exam_slip(request: HttpRequest, pk: int) -> HttpResponse:
    record = _exam(request, pk)
    response = HttpResponse(exam_slip_pdf(exam=record), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="slip-{record.accession_number}.pdf"'
    return response


@login_required
def room_day(request: HttpRequest) -> HttpResponse:
    """The day view of a room; with ``?exam=`` each free slot books (or moves) that exam's appointment."""
    organization = _organization(request)
    booking = _exam(request, int(request.GET["exam"])) if request.GET.get("exam", "").isdigit() else None
    form = RoomDayForm(request.GET or None, organization=organization, modality=booking.modality if booking else "")
    values = form.cleaned_data if form.is_valid() else {}
    room = values.get("room") or form.fields["room"].queryset.first()
    day = values.get("date") or timezone.localdate()
    context = {
        "form": form,
        "room": room,
        "day": day,
        "slots": selectors.room_day_slots(room=room, day=day) if room else [],
        "booking": booking,
        "now": timezone.now(),
    }
    return render(request, "ris/room_day.html", context)


@login_required
@require_POST
def exam_book(request: HttpRequest, pk: int) -> HttpResponse:
    """Book the exam into a slot, or move its appointment there if it has one."""
    record = _exam(request, pk)
    form = BookForm(request.POST, organization=_organization(request))
    if not form.is_valid():
        messages.error(request, _("Choose a slot."))
        return redirect("ris:exam", pk=record.pk)
    room, starts_at = form.cleaned_data["room"], form.cleaned_data["starts_at"]
    try:
        exam_appointment_set(exam=record, room=room, starts_at=starts_at, by=request.user)
    except RegistrationError as error:
        messages.error(request, error.message)
        return redirect(reverse("ris:room_day") + "?" + urlencode({"exam": record.pk, "room": room.pk}))
    messages.success(
        request,
        _("Booked %(room)s, %(time)s.")
        % {"room": room, "time": timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M")},
    )
    return redirect("ris:exam", pk=record.pk)


@login_required
@require_POST
def appointment_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_object_or_404(Appointment, organization=_organization(request), pk=pk)
    try:
        appointment_cancel(appointment=appointment, by=request.user)
    except RegistrationError as error:
        messages.error(request, error.message)
    return redirect("ris:exam", pk=appointment.exam_id)
