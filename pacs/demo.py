"""The first-start experience: a demo organization, an admin login, and a few studies to look at."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pydicom
from django.conf import settings
from django.db import transaction

from pacs import synthetic
from pacs.ingest import DicomStatusError, IngestOrigin, instance_ingest
from pacs.models import Organization, Study, User

logger = logging.getLogger(__name__)

DEMO_PATIENTS = [
    synthetic.Patient("Zhang^San=张三", "DEMO001", "19680312", "M", "GB18030"),
    synthetic.Patient("Li^Si=李四", "DEMO002", "19750808", "F", "ISO_IR 192"),
    synthetic.Patient("Wang^Wu=王五", "DEMO003", "19901123", "M", "\\ISO 2022 IR 58"),
]
# Files that ship with pydicom: compressed transfer syntaxes and colour, for a varied first look.
PYDICOM_SAMPLES = ["CT_small.dcm", "MR_small_jp2klossless.dcm", "SC_rgb_rle_2frame.dcm", "examples_ybr_color.dcm"]


@dataclass(frozen=True)
class DemoSetup:
    organization: Organization
    username: str
    password: str | None  # None when the user already existed (its password is left alone)
    studies_loaded: int


def demo_setup(*, username: str, password: str, load_studies: bool = True) -> DemoSetup:
    """Create the default organization and the admin; load demo studies once. Safe to run again."""
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(
            slug=settings.PACS_DEFAULT_ORGANIZATION, defaults={"name": "Demo Hospital"}
        )
        user = User.objects.filter(username=username).first()
        created_password: str | None = None
        if user is None:
            User.objects.create_superuser(username=username, password=password, organization=organization)
            created_password = password
    loaded = 0
    if load_studies and not Study.objects.filter(organization=organization).exists():
        loaded = _load_demo_studies(organization)
    return DemoSetup(organization, username, created_password, loaded)


def _load_demo_studies(organization: Organization) -> int:
    origin = IngestOrigin(kind="import", organization=organization, description="demo data")
    zhang, li, wang = DEMO_PATIENTS
    sources: list[bytes] = [
        # Every slice crosses the head, so the first image a new user sees is not empty air.
        *synthetic.ct_series(zhang, slices=60, size=256, extent=0.7),
        *synthetic.mr_series(li, slices=20),
        synthetic.chest_radiograph(wang),
    ]
    sample_dir = Path(pydicom.__file__).parent / "data" / "test_files"
    sources += [(sample_dir / name).read_bytes() for name in PYDICOM_SAMPLES if (sample_dir / name).exists()]
    for source in sources:
        try:
            instance_ingest(source=source, origin=origin)
        except DicomStatusError as exc:
            logger.warning("Demo instance refused: %s", exc)
    return Study.objects.filter(organization=organization).count()
