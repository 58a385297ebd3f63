"""The RIS REST API: the HIS flow end to end, organization scoping, and the OpenAPI schema fuzzed with
schemathesis (in process, through Django's WSGI application): no input may produce a server error."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pacs.models import ApiToken, User
from ris.models import Exam
from tests.ris.conftest import id_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(clerk) -> APIClient:
    client = APIClient()
    client.force_authenticate(clerk)
    return client


def test_his_registers_a_patient_sends_an_order_books_and_follows_the_status(api, catalogue, ct_room):
    number = id_card(date(1966, 2, 3), sequence=5)
    response = api.post(
        "/api/ris/patients", {"name": "王小明", "id_card": number, "inpatient_no": "ZY-1"}, format="json"
    )
    assert response.status_code == 201, response.content
    patient = response.json()
    assert patient["birth_date"] == "1966-02-03" and patient["sex"] == "M" and patient["name_pinyin"] == "WANGXIAOMING"

    again = api.post("/api/ris/patients", {"name": "王小明", "id_card": number}, format="json")
    assert again.status_code == 409 and again.json()["duplicates"][0]["id"] == patient["id"]
    assert again.json()["duplicates"][0]["id_card_masked"] == number[:6] + "********" + number[-4:]

    order = {"patient": patient["id"], "procedure_code": "CT-HEAD", "priority": 1, "his_order_no": "H-1"}
    response = api.post("/api/ris/orders", order, format="json")
    assert response.status_code == 201, response.content
    exam = response.json()
    assert exam["status"] == "scheduled" and exam["accession_number"] and exam["study_instance_uid"].count(".") > 3
    assert exam["orders"][0]["source"] == "his" and exam["next_statuses"] == ["arrived", "cancelled", "no_show"]
    assert api.post("/api/ris/orders", order, format="json").json()["id"] == exam["id"]

    day = timezone.localdate() + timedelta(days=1)
    starts = datetime.combine(day, time(10, 0), tzinfo=timezone.get_current_timezone())
    booked = api.post(
        "/api/ris/appointments",
        {"exam": exam["id"], "room": ct_room.pk, "starts_at": starts.isoformat()},
        format="json",
    )
    assert booked.status_code == 201, booked.content
    slots = api.get(f"/api/ris/rooms/{ct_room.pk}/slots", {"date": day.isoformat()}).json()
    assert [s["free"] for s in slots if s["exam_ids"]] == [1]

    assert api.get("/api/ris/lookup", {"code": exam["accession_number"]}).json()["exam"]["id"] == exam["id"]
    checked = api.post("/api/ris/exams/check-in", {"exam_ids": [exam["id"]]}, format="json")
    assert checked.status_code == 200 and checked.json()[0]["status"] == "arrived"
    refused = api.post(f"/api/ris/exams/{exam['id']}/transition", {"status": "approved"}, format="json")
    assert refused.status_code == 409 and "cannot go from" in refused.json()["detail"]
    listed = api.get("/api/ris/exams", {"date": day.isoformat()}).json()
    assert [e["accession_number"] for e in listed] == [exam["accession_number"]]


def test_another_organization_sees_nothing(api, org_beta, catalogue):
    patient = api.post("/api/ris/patients", {"name": "赵六", "sex": "F"}, format="json").json()
    exam = api.post("/api/ris/orders", {"patient": patient["id"], "procedure_code": "DX-CHEST"}, format="json").json()
    stranger = APIClient()
    stranger.force_authenticate(User.objects.create_user("eve", password="x-123456789", organization=org_beta))
    assert stranger.get(f"/api/ris/patients/{patient['id']}").status_code == 404
    assert stranger.get(f"/api/ris/exams/{exam['id']}").status_code == 404
    assert stranger.get("/api/ris/patients", {"q": "zl"}).json() == []
    response = stranger.post("/api/ris/orders", {"patient": patient["id"], "procedure_code": "DX-CHEST"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "patient"
    assert APIClient().get("/api/ris/exams").status_code == 401


def test_invalid_id_card_is_a_field_error(api):
    response = api.post("/api/ris/patients", {"name": "错号", "id_card": "110105194912310021"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "id_card" and "check digit" in response.json()["detail"]


# --- Schema fuzzing --------------------------------------------------------------------------------


@pytest.fixture
def fuzz_records(clerk, catalogue, ct_room):  # type: ignore[no-untyped-def]
    """A few records, so that small generated ids reach real patients, exams and rooms."""
    from ris.services.exams import OrderData, order_create
    from ris.services.patients import PatientData, patient_register

    data = PatientData(name="测试", sex="F", id_card=id_card(date(1990, 1, 2), sequence=2))
    patient = patient_register(organization=clerk.organization, data=data, by=clerk)
    for code in ("CT-HEAD", "CT-CHEST"):
        order_create(
            organization=clerk.organization,
            patient=patient,
            data=OrderData(procedure=catalogue[code]),
            source="his",
            by=clerk,
        )
    assert Exam.objects.count() == 2


@pytest.fixture
def in_process_requests():  # type: ignore[no-untyped-def]
    """Keep the test's connection (and transaction) open across WSGI requests, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _ris_schema() -> schemathesis.schemas.BaseSchema:
    """The project's OpenAPI schema (as /api/schema/ serves it), RIS operations only, called in process."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(document, cls=DjangoJSONEncoder)))
    loaded.app = get_wsgi_application()
    return loaded.include(path_regex="^/api/ris/")


schema = _ris_schema()
EXCLUDED_CHECKS = [
    # A request can match the schema and still break a rule no schema states (an ID card's check digit, a
    # slot's start, a record of another organization): it is refused with 400, which is right.
    positive_data_acceptance,
]


@schema.parametrize()
@settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_schema_no_server_errors(case, clerk, fuzz_records, in_process_requests):  # type: ignore[no-untyped-def]
    _token, key = ApiToken.issue(user=clerk, name="fuzz")
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, excluded_checks=EXCLUDED_CHECKS)
