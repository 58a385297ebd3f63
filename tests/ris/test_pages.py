"""The clerk's pages without a browser: login, organization scope, and both languages."""

from __future__ import annotations

import pytest

from pacs.models import User
from ris.models import OrderSource
from ris.services.exams import OrderData, order_create
from ris.services.patients import PatientData, patient_register

pytestmark = pytest.mark.django_db


def test_desk_needs_login_and_speaks_chinese(client, clerk):
    assert client.get("/ris/").status_code == 302
    client.force_login(clerk)
    chinese = client.get("/ris/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "新登记" in chinese and "签到所选" in chinese
    assert "New registration" in client.get("/ris/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_pages_of_another_organization_answer_404(client, clerk, org_beta, catalogue):
    patient = patient_register(organization=clerk.organization, data=PatientData(name="孙七", sex="M"), by=clerk)
    order = order_create(
        organization=clerk.organization,
        patient=patient,
        data=OrderData(procedure=catalogue["CT-HEAD"]),
        source=OrderSource.DESK,
        by=clerk,
    )
    client.force_login(User.objects.create_user("eve", password="x-123456789", organization=org_beta))
    for url in (f"/ris/patients/{patient.pk}/", f"/ris/exams/{order.exam_id}/", f"/ris/exams/{order.exam_id}/slip.pdf"):
        assert client.get(url).status_code == 404
    scanned = client.get("/ris/scan/", {"code": order.exam.accession_number}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert scanned.redirect_chain == [("/ris/", 302)] and "Nothing found" in scanned.content.decode()


def test_ultrasound_registration_goes_straight_to_its_report_page(client, clerk, catalogue):
    """Ultrasound and endoscopy are reported as they are performed (the reporting app's follow-up)."""
    from ris.models import Exam, Procedure

    ultrasound = Procedure.objects.create(
        organization=clerk.organization, code="US-ABD", name="腹部超声", modality="US", body_part="ABDOMEN"
    )
    client.force_login(clerk)

    def register(procedure: Procedure, name: str) -> tuple[Exam, str]:
        answer = client.post(
            "/ris/register/", {"name": name, "sex": "F", "procedure": procedure.pk, "priority": 3, "check_in": "on"}
        )
        assert answer.status_code == 302, answer.content.decode()[:500]
        return Exam.objects.get(patient__name=name), answer["Location"]

    exam, location = register(ultrasound, "王芳")
    assert location == f"/reporting/exams/{exam.pk}"
    assert client.get(location).status_code == 200
    exam, location = register(catalogue["CT-HEAD"], "李娜")
    assert location == f"/ris/exams/{exam.pk}/"
