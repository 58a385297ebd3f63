"""The one error type of the RIS services: a request the desk cannot carry out, in words for the clerk.

Views put the message next to the field it names (or above the form); the API answers it as 400, or 409
for ``conflict`` errors (a duplicate patient, a full slot, a move the state machine forbids).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.functional import Promise

if TYPE_CHECKING:
    from ris.models import Patient


class RegistrationError(Exception):
    conflict = False

    def __init__(self, message: str | Promise, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class ConflictError(RegistrationError):
    """The request is well formed but clashes with what is stored."""

    conflict = True


class DuplicatePatientError(ConflictError):
    """Registering would create a second record of someone already known; the candidates are attached."""

    def __init__(self, message: str | Promise, *, duplicates: Sequence[Patient], field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.duplicates = list(duplicates)
