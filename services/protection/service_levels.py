"""Service levels: how long a case may go without action, and the ids of its breaches. Pure.

A called or open case's clock starts at its last action (``case.CaseFold.last_action``); once the partition
clock (the latest tick or event time in the view's input, never a machine's wall clock) is past that action's
time plus the level of the case's urgency, the case is overdue: one breach. A breach is named by what
started it, so its id is the same whenever and wherever it is found (live, in a replay, after a restart,
in any chunking): ``uuid5(NAMESPACE, "<case id>|<started_by>|<deadline>|<recurrence>")``, the deadline as
``yyyy-mm-ddThh:mm:ss.mmmZ``, ``recurrence`` the number of earlier breaches of the case with the same
``started_by`` and deadline (0 but for a case that late arrivals moved back to an action it had already
been overdue after: a new breach, so a new id, that consumers must not drop as a re-send). Its clearing's
id is ``uuid5(NAMESPACE, "cleared|<overdue id>")``: one per breach.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.contracts.protection import Urgency

__all__ = ["DEFAULT_LEVELS", "NAMESPACE", "Breach", "Running", "ServiceLevels", "cleared_id", "overdue_id"]

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:id.go.kemlu.bus:protection:overdue")
"""The UUID namespace of breach ids (a constant: changing it would give every breach a second id)."""


def _hours(hours: int) -> timedelta:
    return timedelta(hours=hours)


@dataclass(frozen=True)
class ServiceLevels:
    """How long a case of each urgency may go without action before it is overdue."""

    levels: dict[Urgency, timedelta] = field(
        default_factory=lambda: {
            Urgency.CRITICAL: _hours(2),
            Urgency.HIGH: _hours(8),
            Urgency.MEDIUM: _hours(24),
            Urgency.LOW: _hours(72),
        }
    )

    def __post_init__(self) -> None:
        if set(self.levels) != set(Urgency) or min(self.levels.values()) <= timedelta(0):
            raise ValueError("every urgency needs a positive service level")

    def allowed(self, urgency: Urgency) -> timedelta:
        """How long a case of ``urgency`` may go without action."""
        return self.levels[urgency]


DEFAULT_LEVELS = ServiceLevels()


@dataclass(frozen=True, slots=True)
class Running:
    """A case's service-level clock: started by action ``started_by`` at ``since``, due at ``deadline``."""

    started_by: str
    since: datetime
    deadline: datetime


@dataclass(slots=True)
class Breach:
    """One breach of a case, and its clearing once the case moved."""

    overdue_id: str
    started_by: str
    deadline: datetime
    recurrence: int
    detected_at: datetime
    cleared_id: str | None = None
    cleared_by: str | None = None
    cleared_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Whether the case is still overdue for this breach."""
        return self.cleared_id is None

    def matches(self, running: Running) -> bool:
        """Whether ``running`` is the clock this breach exceeded."""
        return self.started_by == running.started_by and self.deadline == running.deadline


def _millis(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def overdue_id(case_id: str, running: Running, recurrence: int) -> str:
    """The id of the breach of ``running`` (the ``recurrence``-th of that clock on the case)."""
    name = f"{case_id}|{running.started_by}|{_millis(running.deadline)}|{recurrence}"
    return str(uuid.uuid5(NAMESPACE, name))


def cleared_id(overdue: str) -> str:
    """The id of the clearing of breach ``overdue``."""
    return str(uuid.uuid5(NAMESPACE, f"cleared|{overdue}"))
