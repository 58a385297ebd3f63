"""The worklist API through its OpenAPI schema, fuzzed with schemathesis in process: no generated input
may produce a server error, with a stored study, an order and a patient for small ids to reach."""

from __future__ import annotations

import json
from datetime import date

import pytest
import schemathesis
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pacs.models import ApiToken, Organization, User
from pacs.synthetic import Patient as SyntheticPatient
from pacs.synthetic import ct_series
from ris.models import Procedure
from ris.services.exams import OrderData, order_create
from ris.services.patients import PatientData, patient_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(org_alpha: Organization) -> User:
    return User.objects.create_user(username="clerk", password="secret-pass-123", organization=org_alpha)


@pytest.fixture
def fuzz_records(org_alpha, ingest):  # type: ignore[no-untyped-def]
    procedure = Procedure.objects.create(organization=org_alpha, code="CT-HEAD", name="CT 头颅", modality="CT")
    patient = patient_register(
        organization=org_alpha, data=PatientData(name="张三", sex="M", birth_date=date(1968, 3, 12)), by=None
    )
    order_create(organization=org_alpha, patient=patient, data=OrderData(procedure=procedure), source="his", by=None)
    wrong = SyntheticPatient("Sun^Ba", "P999", "19700101", "M")
    ingest(org_alpha, *ct_series(wrong, slices=2, size=16, accession="WRONG1"))
    ingest(org_alpha, *ct_series(wrong, slices=2, size=16, accession="WRONG2"))


@pytest.fixture
def in_process_requests():  # type: ignore[no-untyped-def]
    """Keep the test's connection (and transaction) open across WSGI requests, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _worklist_schema() -> schemathesis.schemas.BaseSchema:
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(document, cls=DjangoJSONEncoder)))
    loaded.app = get_wsgi_application()
    return loaded.include(path_regex="^/api/worklist/")


schema = _worklist_schema()


def test_the_schema_describes_every_worklist_operation():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert {
        "/api/worklist/studies",
        "/api/worklist/studies/{id}",
        "/api/worklist/studies/{id}/reassociate",
        "/api/worklist/studies/{id}/unbind",
        "/api/worklist/studies/{id}/history",
        "/api/worklist/series/{id}/reassociate",
        "/api/worklist/reassociations",
        "/api/worklist/reassociations/{id}/undo",
        "/api/worklist/targets",
    } <= set(paths)


@schema.parametrize()
@settings(max_examples=15, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_schema_no_server_errors(case, clerk, fuzz_records, in_process_requests):  # type: ignore[no-untyped-def]
    _token, key = ApiToken.issue(user=clerk, name="fuzz")
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, excluded_checks=[positive_data_acceptance])
