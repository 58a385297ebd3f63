"""The exam state machine, shared by the desk, the API and (later) MPPS from the modalities.

scheduled -> arrived -> in progress -> completed -> reported -> approved, with cancelled and no-show as
exits. In progress and completed follow MPPS IN PROGRESS and COMPLETED (PS3.4 F.7.2); an exam
discontinued at the modality is cancelled. A no-show can be rescheduled.
"""

from __future__ import annotations

from ris.models import ExamStatus

S = ExamStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.ARRIVED, S.CANCELLED, S.NO_SHOW}),
    S.ARRIVED: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.REPORTED}),
    S.REPORTED: frozenset({S.APPROVED}),
    S.APPROVED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset({S.SCHEDULED}),
}

# Before the patient is in the room, orders may still be merged, re-booked and edited.
OPEN_AT_DESK: frozenset[str] = frozenset({S.SCHEDULED, S.ARRIVED})


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS[from_status]


def next_statuses(status: str) -> list[str]:
    """The moves allowed from ``status``, in the order of ExamStatus (for buttons and the API)."""
    return [value for value in ExamStatus.values if value in TRANSITIONS[status]]
