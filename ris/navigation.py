"""Links that other apps add to the front desk's navigation bar, and where the desk goes after a registration.

The RIS does not import the apps built on it (the worklist imports the RIS, not the other way round), so
an app that has desk pages of its own registers its link here when it starts (``AppConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class NavLink:
    url_name: str
    label: str | Promise
    # A key of ris/static/ris/keys.js ("Alt+u"), or "" for none.
    shortcut: str = ""


_links: list[NavLink] = []


def nav_link_register(link: NavLink) -> None:
    """Add ``link`` to the desk's navigation once (registering the same URL name again replaces it)."""
    _links[:] = [existing for existing in _links if existing.url_name != link.url_name] + [link]


def nav_links() -> list[NavLink]:
    return list(_links)


# Where the desk goes after a registration, asked of the apps that register a follow-up (reporting
# sends ultrasound and endoscopy straight to their report page: the images are captured while
# reporting). The first that answers a URL wins; none, and the desk shows the exam.
_registration_followups: list[Callable[[Any], str | None]] = []


def registration_followup_register(followup: Callable[[Any], str | None]) -> None:
    if followup not in _registration_followups:
        _registration_followups.append(followup)


def registration_followup_url(exam: Any) -> str | None:
    for followup in _registration_followups:
        url = followup(exam)
        if url:
            return url
    return None
