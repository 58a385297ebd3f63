"""The error type of the reporting services, in words for the radiologist.

The API answers it as 400, or 409 for ``conflict`` errors (a forbidden move, a lock held by someone else,
quality problems not yet fixed or overridden); pages show the message above the editor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.functional import Promise

if TYPE_CHECKING:
    from reporting.quality import QualityProblem


class ReportingError(Exception):
    conflict = False

    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = str(message)


class ReportConflictError(ReportingError):
    """The request is well formed but the report's state forbids it."""

    conflict = True


class ReportLockedError(ReportConflictError):
    """Someone else holds the edit lock."""


class QualityCheckError(ReportConflictError):
    """Submitting was refused: the problems found that the author neither fixed nor overrode."""

    def __init__(self, message: str | Promise, *, problems: Sequence[QualityProblem]) -> None:
        super().__init__(message)
        self.problems = list(problems)
