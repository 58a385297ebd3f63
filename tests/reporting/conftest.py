"""Reporting fixtures: radiologists (a resident, two seniors who may approve), a patient, exams, templates."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from PIL import Image, ImageDraw

from pacs.models import Organization, User
from pacs.synthetic import Patient as SyntheticPatient
from pacs.synthetic import ct_series
from reporting.models import ReportTemplate
from ris.models import Exam, ExamStatus, Patient, Procedure
from ris.services.exams import OrderData, order_create

PASSWORD = "secret-pass-123"


def _user(org: Organization, username: str, *perms: str, full_name: str = "") -> User:
    first, _, last = full_name.partition(" ")
    user = User.objects.create_user(
        username=username, password=PASSWORD, organization=org, first_name=first, last_name=last
    )
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="reporting", codename__in=perms))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def resident(org_alpha: Organization) -> User:
    return _user(org_alpha, "resident", full_name="李 明")


@pytest.fixture
def senior(org_alpha: Organization) -> User:
    return _user(org_alpha, "senior", "approve_report", "take_over_report", full_name="王 芳")


@pytest.fixture
def chief(org_alpha: Organization) -> User:
    return _user(org_alpha, "chief", "approve_report", "take_over_report", full_name="张 伟")


@pytest.fixture
def patient_male(org_alpha: Organization) -> Patient:
    return Patient.objects.create(organization=org_alpha, patient_id="P001", name="张三", sex="M")


@pytest.fixture
def make_exam(org_alpha: Organization, patient_male: Patient) -> Callable[..., Exam]:
    """``make_exam("MR 左膝关节平扫", "MR", "KNEE")``: a completed exam of one order."""

    def _make(name: str, modality: str, body_part: str, *, department: str = "骨科") -> Exam:
        procedure = Procedure.objects.create(
            organization=org_alpha,
            code=f"{modality}-{Procedure.objects.count()}",
            name=name,
            modality=modality,
            body_part=body_part,
        )
        order = order_create(
            organization=org_alpha,
            patient=patient_male,
            data=OrderData(procedure=procedure, body_part=body_part, requesting_department=department),
            source="desk",
            by=None,
        )
        Exam.objects.filter(pk=order.exam_id).update(status=ExamStatus.COMPLETED)
        return Exam.objects.get(pk=order.exam_id)

    return _make


@pytest.fixture
def echo_template(org_alpha: Organization) -> ReportTemplate:
    return ReportTemplate.objects.create(
        organization=org_alpha,
        name="心脏超声",
        modality="US",
        body_part="HEART",
        default_text={"findings": "<p>各房室腔大小正常。</p>"},
        measurement_fields=[
            {"key": "LVEDD", "label": "LVEDD", "unit": "mm", "low": 35, "high": 56},
            {"key": "LVESD", "label": "LVESD", "unit": "mm", "low": 20, "high": 40},
            {"key": "IVS", "label": "IVS", "unit": "mm", "low": 6, "high": 11},
            {"key": "LVPW", "label": "LVPW", "unit": "mm", "low": 6, "high": 11},
            {"key": "EF", "label": "EF", "unit": "%", "low": 50, "high": None},
        ],
    )


@pytest.fixture
def head_ct(make_exam, ingest, org_alpha):  # type: ignore[no-untyped-def]
    """A completed CT head exam whose study (8 slices, all through the head) is in the archive."""
    exam = make_exam("CT 头颅平扫", "CT", "HEAD", department="神经内科")
    patient = SyntheticPatient(name="Zhang^San=张三", patient_id="P001", birth_date="19700101", sex="M")
    ingest(
        org_alpha,
        *ct_series(
            patient, slices=8, size=128, study_uid=exam.study_instance_uid, accession=exam.accession_number, extent=0.5
        ),
    )
    return exam


def png_bytes(text: str = "key") -> bytes:
    """A small grey image with a red ellipse, as a key image rendered with an annotation would be."""
    image = Image.new("RGB", (256, 256), (40, 40, 40))
    draw = ImageDraw.Draw(image)
    draw.ellipse((80, 90, 170, 160), outline=(255, 0, 0), width=3)
    draw.text((10, 10), text, fill=(255, 255, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
