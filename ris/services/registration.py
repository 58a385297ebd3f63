"""The desk's single registration: a patient (new or known), one order, and the check-in, all or nothing."""

from __future__ import annotations

from django.db import transaction

from pacs.models import Organization, User
from ris.models import Exam, ExamStatus, OrderSource, Patient
from ris.services.exams import OrderData, exams_check_in, order_create
from ris.services.patients import PatientData, patient_register


def registration_walk_in(
    *,
    organization: Organization,
    patient: Patient | None,
    patient_data: PatientData | None,
    allow_same_name_and_birth: bool,
    order: OrderData,
    check_in: bool,
    by: User | None,
) -> Exam:
    """Register ``patient_data`` as a new patient unless ``patient`` is given, order, and check in.

    One transaction: an order the services refuse leaves no half-registered patient behind.
    """
    with transaction.atomic():
        if patient is None:
            assert patient_data is not None
            patient = patient_register(
                organization=organization,
                data=patient_data,
                by=by,
                allow_same_name_and_birth=allow_same_name_and_birth,
            )
        created = order_create(organization=organization, patient=patient, data=order, source=OrderSource.DESK, by=by)
        if check_in and created.exam.status == ExamStatus.SCHEDULED:
            exams_check_in(organization=organization, exam_ids=[created.exam_id], by=by, source="desk")
    return created.exam
