"""Resident identity card numbers of the People's Republic of China (GB 11643-1999).

Eighteen characters: a six-digit region code, the birth date as YYYYMMDD, a three-digit sequence whose
last digit is odd for men and even for women, and a check character computed with ISO 7064 MOD 11-2
(``X`` stands for 10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

_FORMAT = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    sex: str  # "M" or "F", as ris.models.Sex


def check_character(first_17: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits: weight of position i is 2^(17-i) mod 11."""
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(first_17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def normalize(number: str) -> str:
    """Upper case without spaces: scanners and clerks type ``x`` and spaces."""
    return re.sub(r"\s", "", number).upper()


def parse(number: str, *, today: date) -> ResidentId:
    """Validate a number and read the birth date and sex from it; ValueError says what is wrong."""
    number = normalize(number)
    if not _FORMAT.match(number):
        raise ValueError(_("An ID card number has 17 digits followed by a digit or X."))
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(_("The birth date inside the ID card number is not a date.")) from None
    if birth_date > today or birth_date.year < 1880:
        raise ValueError(_("The birth date inside the ID card number is not plausible."))
    if check_character(number[:17]) != number[17]:
        raise ValueError(_("The check digit of the ID card number is wrong."))
    return ResidentId(number=number, birth_date=birth_date, sex="M" if int(number[16]) % 2 else "F")


def mask(number: str) -> str:
    """What lists show: the region and the last four characters, the birth date hidden."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
