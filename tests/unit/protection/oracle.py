"""What the README says a case and the figures are, computed here from the raw events by plain if-chains,
never by the view's own code (``services.protection.case`` and ``figures`` are what is being checked).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.contracts.protection_items import CaseEventType
from services.protection.facts import CaseEvent
from tests.unit.protection.builders import T

SLA = {
    "CRITICAL": timedelta(hours=2),
    "HIGH": timedelta(hours=8),
    "MEDIUM": timedelta(hours=24),
    "LOW": timedelta(hours=72),
}


@dataclass
class OracleCase:
    status: str = "NOT_OPENED"
    holder: str | None = None
    category: str | None = None
    urgency: str | None = None
    opened_at: datetime | None = None
    opened_by: str | None = None
    closed_at: datetime | None = None
    last_action: datetime | None = None
    applied: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    holders: list[str] = field(default_factory=list)


def reason_for(case: OracleCase, e: CaseEvent) -> str | None:  # noqa: C901 - the rules, one by one
    """The README's rules, in words: None when ``e`` applies, else the refusal reason."""
    s, kind = case.status, e.type
    if kind is T.HOTLINE_CALL_RECEIVED:
        return None  # calls are never refused
    if kind is T.CASE_OPENED:
        if s == "OPEN":
            return "ALREADY_OPEN"
        if s == "CLOSED":
            return "CASE_CLOSED"
        return None
    if kind in (T.CASE_UPDATED, T.CASE_ASSIGNED, T.CASE_ESCALATED, T.CASE_TRANSFERRED):
        if s in ("NOT_OPENED", "CALLED"):
            return "NEVER_OPENED"
        if s == "CLOSED":
            return "CASE_CLOSED"
        if kind is T.CASE_TRANSFERRED and e.office != case.holder:
            return "NOT_OWNER"
        return None
    if kind is T.CASE_CLOSED:
        if s == "NOT_OPENED":
            return "NEVER_OPENED"
        if s == "CLOSED":
            return "CASE_CLOSED"
        if e.office != case.holder:
            return "NOT_OWNER"
        return None
    # a reopening
    if s in ("NOT_OPENED", "CALLED"):
        return "NEVER_OPENED"
    if s == "OPEN":
        return "NOT_CLOSED"
    if e.office != case.holder:
        return "NOT_OWNER"
    return None


def oracle_case(events: Iterable[CaseEvent]) -> OracleCase:
    """The case the events make, by the README's rules (one event per id)."""
    distinct = {e.event_id: e for e in events}
    case = OracleCase()
    for e in sorted(distinct.values(), key=lambda e: (e.time, e.source, e.event_id)):
        reason = reason_for(case, e)
        if reason is not None:
            case.refused[e.event_id] = reason
            continue
        case.applied.append(e.event_id)
        kind = e.type
        if kind is T.HOTLINE_CALL_RECEIVED:
            if case.status == "NOT_OPENED":
                case.status, case.holder, case.last_action = "CALLED", e.office, e.time
                case.category, case.urgency = str(e.category), str(e.urgency)
            continue
        case.last_action = e.time
        if kind is T.CASE_OPENED:
            case.status, case.holder, case.opened_at, case.opened_by = "OPEN", e.office, e.time, e.office
            case.category, case.urgency = str(e.category), str(e.urgency)
        elif kind is T.CASE_TRANSFERRED:
            case.holders.append(e.office)
            case.holder = e.to_office
        elif kind is T.CASE_CLOSED:
            case.status, case.closed_at = "CLOSED", e.time
        elif kind is T.CASE_REOPENED:
            case.status, case.closed_at = "OPEN", None
    return case


def is_overdue(case: OracleCase, clock: datetime | None) -> bool:
    """Called or open, and the clock past its last action plus its urgency's service level."""
    if case.status not in ("CALLED", "OPEN") or clock is None or case.last_action is None:
        return False
    return clock > case.last_action + SLA[str(case.urgency)]


def oracle_figures(cases: dict[str, list[CaseEvent]], clock_of: dict[str, datetime | None]) -> dict[str, int]:
    """Every figure across partitions, from each case's raw events and its partition's clock."""
    totals: Counter[str] = Counter()
    for case_id, events in cases.items():
        distinct = {e.event_id: e for e in events}
        for e in distinct.values():
            if e.type is CaseEventType.HOTLINE_CALL_RECEIVED:
                hour = e.time.astimezone(UTC).strftime("%Y-%m-%dT%H")
                totals[f"HOTLINE_CALLS|{e.office}|{hour}"] += 1
        case = oracle_case(distinct.values())
        if case.status == "OPEN":
            totals[f"OPEN_CASES|{case.holder}|{case.category}|{case.urgency}"] += 1
        if is_overdue(case, clock_of[case_id]):
            totals[f"OVERDUE_CASES|{case.holder}|{case.urgency}"] += 1
        if case.opened_at is not None:
            day = (case.opened_at + timedelta(hours=7)).date().isoformat()
            totals[f"OPENED|{day}|{case.opened_by}"] += 1
        if case.status == "CLOSED" and case.closed_at is not None:
            day = (case.closed_at + timedelta(hours=7)).date().isoformat()
            totals[f"CLOSED|{day}|{case.holder}"] += 1
            if case.opened_at is not None:
                totals[f"TIME_TO_CLOSE|{int((case.closed_at - case.opened_at).total_seconds() // 60)}"] += 1
    return dict(sorted(totals.items()))
