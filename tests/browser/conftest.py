"""Browser tests: Playwright driving Debian's Chromium (headless, software WebGL) against the live server.

The front end must be built (``make test`` builds it); a missing build fails these tests with the
command to run rather than skipping them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pacs.models import Organization, User
from pacs.synthetic import Patient, ct_series
from tests.conftest import ARTIFACTS
from viewer.assets import FrontendNotBuilt, entry_assets

SCREENSHOTS = ARTIFACTS / "browser"
PASSWORD = "secret-pass-123"
PHANTOM_SLICES = 60
PHANTOM_SIZE = 256
WANG = Patient(name="Wang^Xiaoming=王小明", patient_id="P-1001", birth_date="19700101", sex="M")


@pytest.fixture(autouse=True, scope="session")
def _frontend_built() -> None:
    try:
        entry_assets("src/viewer/main.ts")
    except FrontendNotBuilt as exc:
        pytest.fail(f"{exc}")


@pytest.fixture
def radiologist(transactional_db, org_alpha: Organization) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user(username="dr-wang", password=PASSWORD, organization=org_alpha)


@pytest.fixture
def ct_study(ingest, org_alpha: Organization) -> str:  # type: ignore[no-untyped-def]
    """A synthetic head CT (60 axial slices of 256², 0.859 mm pixels) for 王小明; its Study Instance UID."""
    stored = ingest(org_alpha, *ct_series(WANG, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-1"))
    return stored[0].study_instance_uid


@pytest.fixture
def ct_study_unsigned(ingest, org_alpha: Organization) -> str:  # type: ignore[no-untyped-def]
    """The same head CT stored as 12-bit unsigned values, as many scanners store CT."""
    patient = Patient(name="Li^Na=李娜", patient_id="P-1002", birth_date="19750505", sex="F")
    slices = ct_series(patient, slices=PHANTOM_SLICES, size=PHANTOM_SIZE, accession="ACC-CT-2", unsigned=True)
    return ingest(org_alpha, *slices)[0].study_instance_uid


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
