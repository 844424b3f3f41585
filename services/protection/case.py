"""One case, folded: its distinct events in (time, source, event id) order, each judged against the case as
it stood at that point by the transition table; legal ones applied, the others listed with their reason.

The fold is recomputed from the whole set of a case's events whenever one arrives, so arrival order and
duplicates cannot change the result, and a late arrival that makes an earlier-refused event legal (the
``CaseOpened`` that came after the update) applies it. ``TRANSITIONS`` is the table the README prints
(``tests/unit/protection/test_case.py`` holds the two equal).

Two choices the issue leaves open, and why:

- A hotline call begins a case (``CALLED``) without opening it: the desk's hotlines close some cases with
  advice on the phone (the simulator does so for a fifth of its calls), so a close after a call is legal,
  and a called case is under its service level like an open one (nobody may forget a critical call).
  Further calls on a case are linked to it, never refused, and are no action of the office (the clock
  does not restart on the citizen's call).
- Transfer, close and reopen are the holder's decisions (``OWNER_ONLY``): the ``office`` an event names must
  hold the case. Other offices may act on a case they do not hold (the directorate and PTRI ASEAN do), so
  updates, assignments and escalations are not held to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from services.contracts.common import Channel
from services.contracts.protection import CaseCategory, CaseOutcome, EscalationLevel, Urgency
from services.contracts.protection_items import CaseEventType
from services.contracts.protection_views import CaseState, RefusalReason
from services.protection.facts import CaseEvent, order
from services.protection.service_levels import Running, ServiceLevels

__all__ = ["OWNER_ONLY", "TRANSITIONS", "CaseFold", "Handover", "Refused", "fold", "judge"]

_E, _S, _R = CaseEventType, CaseState, RefusalReason
_TOUCH: Final[dict[CaseState, CaseState | RefusalReason]] = {
    _S.NOT_OPENED: _R.NEVER_OPENED,
    _S.CALLED: _R.NEVER_OPENED,
    _S.OPEN: _S.OPEN,
    _S.CLOSED: _R.CASE_CLOSED,
}
TRANSITIONS: Final[dict[CaseEventType, dict[CaseState, CaseState | RefusalReason]]] = {
    _E.HOTLINE_CALL_RECEIVED: {
        _S.NOT_OPENED: _S.CALLED,
        _S.CALLED: _S.CALLED,
        _S.OPEN: _S.OPEN,
        _S.CLOSED: _S.CLOSED,
    },
    _E.CASE_OPENED: {
        _S.NOT_OPENED: _S.OPEN,
        _S.CALLED: _S.OPEN,
        _S.OPEN: _R.ALREADY_OPEN,
        _S.CLOSED: _R.CASE_CLOSED,
    },
    _E.CASE_UPDATED: _TOUCH,
    _E.CASE_ASSIGNED: _TOUCH,
    _E.CASE_ESCALATED: _TOUCH,
    _E.CASE_TRANSFERRED: _TOUCH,
    _E.CASE_CLOSED: {
        _S.NOT_OPENED: _R.NEVER_OPENED,
        _S.CALLED: _S.CLOSED,
        _S.OPEN: _S.CLOSED,
        _S.CLOSED: _R.CASE_CLOSED,
    },
    _E.CASE_REOPENED: {
        _S.NOT_OPENED: _R.NEVER_OPENED,
        _S.CALLED: _R.NEVER_OPENED,
        _S.OPEN: _R.NOT_CLOSED,
        _S.CLOSED: _S.OPEN,
    },
}
"""Case state x event type -> the new state, or the reason the event is refused."""
OWNER_ONLY: Final = frozenset({_E.CASE_TRANSFERRED, _E.CASE_CLOSED, _E.CASE_REOPENED})
"""Where the table allows these, they are refused all the same (NOT_OWNER) unless the event's office holds
the case."""
_SUBJECT: Final = frozenset({_E.CASE_OPENED, _E.CASE_UPDATED})


@dataclass(frozen=True, slots=True)
class Handover:
    """One applied transfer."""

    event: CaseEvent
    from_office: str


@dataclass(frozen=True, slots=True)
class Refused:
    """One event not applied, and why."""

    event: CaseEvent
    reason: RefusalReason


@dataclass(slots=True)
class CaseFold:
    """The case as its events make it (no service-level breaches or citizen link: those depend on time and
    on the registry, not on the case's events alone).
    """

    case_id: str
    status: CaseState = CaseState.NOT_OPENED
    office: str | None = None
    category: CaseCategory | None = None
    urgency: Urgency | None = None
    country: str | None = None
    channel: Channel | None = None
    officer_id: str | None = None
    escalation: EscalationLevel | None = None
    opened_at: datetime | None = None
    opened_by: str | None = None
    closed_at: datetime | None = None
    outcome: CaseOutcome | None = None
    last_action: CaseEvent | None = None
    applied: list[CaseEvent] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    call_ids: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)
    subject: dict[str, str] = field(default_factory=dict)
    notes: list[tuple[CaseEvent, str]] = field(default_factory=list)

    def running(self, levels: ServiceLevels) -> Running | None:
        """The service-level clock of a called or open case: its last action plus its urgency's level."""
        last = self.last_action
        if self.status not in {CaseState.CALLED, CaseState.OPEN} or last is None or self.urgency is None:
            return None
        return Running(last.event_id, last.time, last.time + levels.allowed(self.urgency))


def judge(case: CaseFold, event: CaseEvent) -> CaseState | RefusalReason:
    """What ``event`` does to ``case`` as it stands: the state it leads to, or why it is refused."""
    outcome = TRANSITIONS[event.type][case.status]
    if isinstance(outcome, CaseState) and event.type in OWNER_ONLY and event.office != case.office:
        return RefusalReason.NOT_OWNER
    return outcome


def fold(case_id: str, events: Iterable[CaseEvent]) -> CaseFold:
    """The case made by ``events`` (distinct ids: the caller keeps one event per id)."""
    case = CaseFold(case_id)
    for event in sorted(events, key=order):
        outcome = judge(case, event)
        if isinstance(outcome, RefusalReason):
            case.refused.append(Refused(event, outcome))
        else:
            _apply(case, event, outcome)
    return case


def _apply(case: CaseFold, event: CaseEvent, status: CaseState) -> None:
    """Apply a legal ``event`` leading to ``status``; every applied event is an action but a call on a case
    already begun.
    """
    began = case.status is not CaseState.NOT_OPENED
    case.applied.append(event)
    if event.type is not _E.HOTLINE_CALL_RECEIVED or not began:
        case.last_action = event
    if event.call_id is not None:
        case.call_ids.add(event.call_id)
    if event.identifiers or event.personal:
        _learn(case, event)
    if event.type is not _E.HOTLINE_CALL_RECEIVED or not began:
        _EFFECTS[event.type](case, event)
    case.status = status


def _learn(case: CaseFold, event: CaseEvent) -> None:
    """What an applied event says about the person: the subject's identifiers and details (from an opening,
    an update or the subject's own call), and any event's note.
    """
    if event.type in _SUBJECT or (event.type is _E.HOTLINE_CALL_RECEIVED and event.caller_is_subject):
        case.identifiers |= event.identifiers
        case.subject.update((k, v) for k, v in event.personal.items() if k != "notes")
    note = event.personal.get("notes")
    if note is not None:
        case.notes.append((event, note))


def _begin(case: CaseFold, event: CaseEvent) -> None:
    """A first call: the case is the call's office's, as urgent as the call says."""
    case.office, case.officer_id = event.office, event.officer_id
    case.category, case.urgency, case.channel = event.category, event.urgency, event.channel


def _open(case: CaseFold, event: CaseEvent) -> None:
    """An opening: holder, category, urgency and country are the opening's (over a call's)."""
    _begin(case, event)
    case.opened_by, case.opened_at, case.country = event.office, event.time, event.country


def _assign(case: CaseFold, event: CaseEvent) -> None:
    case.officer_id = event.officer_id


def _escalate(case: CaseFold, event: CaseEvent) -> None:
    case.escalation = event.level


def _transfer(case: CaseFold, event: CaseEvent) -> None:
    """A hand-over: the new office holds the case and has yet to assign it."""
    case.handovers.append(Handover(event, event.office))
    case.office, case.officer_id = event.to_office, None


def _close(case: CaseFold, event: CaseEvent) -> None:
    case.closed_at, case.outcome = event.time, event.outcome


def _reopen(case: CaseFold, _event: CaseEvent) -> None:
    case.closed_at, case.outcome = None, None


def _nothing(_case: CaseFold, _event: CaseEvent) -> None:
    """An update: an action (it restarts the clock), nothing else of the case changes."""


_EFFECTS: Final[dict[CaseEventType, Callable[[CaseFold, CaseEvent], None]]] = {
    _E.HOTLINE_CALL_RECEIVED: _begin,
    _E.CASE_OPENED: _open,
    _E.CASE_UPDATED: _nothing,
    _E.CASE_ASSIGNED: _assign,
    _E.CASE_ESCALATED: _escalate,
    _E.CASE_TRANSFERRED: _transfer,
    _E.CASE_CLOSED: _close,
    _E.CASE_REOPENED: _reopen,
}
"""What each applied event type changes in the case besides its state."""
