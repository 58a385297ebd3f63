"""Structured measurement fields a template declares (e.g. cardiac ultrasound LVEDD, EF): values checked
against their normal ranges and rendered as text for the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class MeasurementRow:
    key: str
    label: str
    value: Decimal | None
    unit: str
    low: Decimal | None
    high: Decimal | None
    flag: str  # "high", "low" or ""

    @property
    def normal_range(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low}–{self.high}"
        if self.low is not None:
            return f"≥{self.low}"
        if self.high is not None:
            return f"≤{self.high}"
        return ""

    @property
    def arrow(self) -> str:
        return {"high": "↑", "low": "↓"}.get(self.flag, "")


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def measurements_clean(*, fields: Sequence[Mapping[str, object]], values: Mapping[str, object]) -> dict[str, str]:
    """The values of declared fields only, as decimal strings; ValueError names a field that is not a number."""
    cleaned: dict[str, str] = {}
    for declared in fields:
        key = str(declared["key"])
        raw = values.get(key)
        if raw is None or raw == "":
            continue
        number = _decimal(raw)
        if number is None:
            raise ValueError(
                _("“%(value)s” is not a number (%(field)s).") % {"value": raw, "field": declared.get("label", key)}
            )
        cleaned[key] = str(number)
    return cleaned


def measurements_evaluate(
    *, fields: Sequence[Mapping[str, object]], values: Mapping[str, object]
) -> list[MeasurementRow]:
    """One row per declared field, flagged when the value lies outside its normal range."""
    rows = []
    for declared in fields:
        key = str(declared["key"])
        value = _decimal(values.get(key))
        low, high = _decimal(declared.get("low")), _decimal(declared.get("high"))
        flag = ""
        if value is not None and high is not None and value > high:
            flag = "high"
        elif value is not None and low is not None and value < low:
            flag = "low"
        rows.append(
            MeasurementRow(
                key=key,
                label=str(declared.get("label", key)),
                value=value,
                unit=str(declared.get("unit", "")),
                low=low,
                high=high,
                flag=flag,
            )
        )
    return rows


def measurements_text(*, rows: Sequence[MeasurementRow]) -> str:
    """The measured rows as one line of report text: ``LVEDD 60 mm↑, EF 62 %``."""
    return "，".join(
        f"{row.label} {row.value} {row.unit}{row.arrow}".replace("  ", " ").strip()
        for row in rows
        if row.value is not None
    )
