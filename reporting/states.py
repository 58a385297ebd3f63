"""The sign-off state machine of a report.

draft -> submitted (preliminary) -> approved (final). With two-level sign-off a first approver moves a
submitted report to reviewed and a second, different one approves it. An approver may return a submitted
or reviewed report to draft. A final report changes only by amendment: approved or amended -> amending
(the next version, editable) -> submitted -> ... -> amended.
"""

from __future__ import annotations

from reporting.models import ReportStatus

S = ReportStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.REVIEWED, S.APPROVED, S.AMENDED, S.DRAFT, S.AMENDING}),
    S.REVIEWED: frozenset({S.APPROVED, S.AMENDED, S.DRAFT, S.AMENDING}),
    S.APPROVED: frozenset({S.AMENDING}),
    S.AMENDING: frozenset({S.SUBMITTED}),
    S.AMENDED: frozenset({S.AMENDING}),
}

# The text may change in these states (by whoever holds the edit lock); never once final.
EDITABLE: frozenset[str] = frozenset({S.DRAFT, S.AMENDING, S.SUBMITTED, S.REVIEWED})
FINAL: frozenset[str] = frozenset({S.APPROVED, S.AMENDED})
# Submitted and waiting for an approver: only approvers take the edit lock.
AWAITING_APPROVAL: frozenset[str] = frozenset({S.SUBMITTED, S.REVIEWED})


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS[from_status]
