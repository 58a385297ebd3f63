"""Accession numbers and patient IDs from the organization's patterns (see RegistrationSettings)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from pacs.models import Organization
from ris.errors import RegistrationError
from ris.models import Counter, Exam, Patient, RegistrationSettings

_FIELD = re.compile(r"\{(\w+)(?::(\d+))?\}")
# DICOM Accession Number is SH (PS3.5 6.2): 16 characters at most.
ACCESSION_MAX_LENGTH = 16


def pattern_validate(*, pattern: str) -> None:
    """A pattern needs exactly one ``{seq:N}`` and only known fields; RegistrationError otherwise."""
    fields = _FIELD.findall(pattern)
    unknown = {name for name, _width in fields} - {"seq", "modality", "yyyy", "yy", "mm", "dd", "org"}
    if unknown:
        raise RegistrationError(_("Unknown field in pattern: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if [name for name, _width in fields].count("seq") != 1:
        raise RegistrationError(_("A pattern needs exactly one {seq:N} field."))


def _render(pattern: str, *, values: dict[str, str], seq: int | None) -> str:
    def field(match: re.Match[str]) -> str:
        name, width = match.group(1), int(match.group(2) or 1)
        if name == "seq":
            return "{seq}" if seq is None else str(seq).zfill(width)
        return values[name]

    return _FIELD.sub(field, pattern)


def _next_value(*, organization: Organization, scope: str) -> int:
    """Increment the counter of ``scope`` under its row lock; the caller holds the transaction."""
    counter, _created = Counter.objects.select_for_update().get_or_create(organization=organization, scope=scope)
    Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
    return counter.value + 1


def _generate(
    *, organization: Organization, pattern: str, kind: str, values: dict[str, str], taken: Callable[[str], bool]
) -> str:
    pattern_validate(pattern=pattern)
    scope = f"{kind}:{_render(pattern, values=values, seq=None)}"
    with transaction.atomic():
        # A number typed in by hand (or a counter reset) may already exist: skip it instead of failing.
        while True:
            number = _render(pattern, values=values, seq=_next_value(organization=organization, scope=scope))
            if not taken(number):
                return number


def _settings_of(organization: Organization) -> RegistrationSettings:
    return RegistrationSettings.objects.filter(organization=organization).first() or RegistrationSettings(
        organization=organization
    )


def _date_values(organization: Organization, on: date) -> dict[str, str]:
    return {
        "yyyy": f"{on:%Y}",
        "yy": f"{on:%y}",
        "mm": f"{on:%m}",
        "dd": f"{on:%d}",
        "org": organization.slug.upper(),
    }


def accession_number_generate(*, organization: Organization, modality: str, on: date) -> str:
    """The next accession number of ``organization``; unique there, at most 16 characters."""
    pattern = _settings_of(organization).accession_pattern
    number = _generate(
        organization=organization,
        pattern=pattern,
        kind="accession",
        values={**_date_values(organization, on), "modality": modality},
        taken=lambda n: Exam.objects.filter(organization=organization, accession_number=n).exists(),
    )
    if len(number) > ACCESSION_MAX_LENGTH:
        raise RegistrationError(_("The accession number pattern makes numbers longer than 16 characters."))
    return number


def patient_id_generate(*, organization: Organization, on: date) -> str:
    """The next patient ID of ``organization`` for a patient registered without one."""
    return _generate(
        organization=organization,
        pattern=_settings_of(organization).patient_id_pattern,
        kind="patient",
        values={**_date_values(organization, on), "modality": ""},
        taken=lambda n: Patient.objects.filter(organization=organization, patient_id=n).exists(),
    )
