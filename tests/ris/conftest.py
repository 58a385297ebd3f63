"""RIS fixtures: a clerk of Alpha Hospital, a small catalogue, a CT room, valid ID card numbers."""

from __future__ import annotations

from datetime import date, time

import pytest

from pacs.models import Organization, User
from ris.idcard import check_character
from ris.models import Procedure, Room

PASSWORD = "secret-pass-123"


def id_card(born: date, *, sequence: int = 1, region: str = "110105") -> str:
    """A valid resident ID card number; an odd ``sequence`` makes a man, an even one a woman."""
    first = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first + check_character(first)


@pytest.fixture
def clerk(org_alpha: Organization) -> User:
    return User.objects.create_user(username="clerk", password=PASSWORD, organization=org_alpha)


@pytest.fixture
def catalogue(org_alpha: Organization) -> dict[str, Procedure]:
    rows = [
        ("CT-HEAD", "CT 头颅平扫", "CT", "HEAD"),
        ("CT-CHEST", "CT 胸部平扫", "CT", "CHEST"),
        ("DX-CHEST", "DR 胸部正位", "DX", "CHEST"),
    ]
    return {
        code: Procedure.objects.create(organization=org_alpha, code=code, name=name, modality=modality, body_part=part)
        for code, name, modality, part in rows
    }


@pytest.fixture
def ct_room(org_alpha: Organization) -> Room:
    return Room.objects.create(
        organization=org_alpha,
        name="CT 1",
        modality="CT",
        device="Revolution",
        station_ae_title="CT1",
        opens_at=time(8, 0),
        closes_at=time(12, 0),
        slot_minutes=30,
        patients_per_slot=2,
    )
