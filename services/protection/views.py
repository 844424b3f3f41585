"""The view's published records, built from the pure parts: the case, its breaches, their clearings; and
the summary of a called or open case that the desk's lists show.

The case view is the fold (``case.CaseFold``: what the case's events make of it) plus what the partition
knows besides (its breaches, its citizen) and the service-level clock; ``tests/unit/protection`` check
each field against the events. Personal data goes only into ``personal``, never into a summary.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_jsonable_python

from services.contracts.protection_views import (
    CaseOverdueClearedModel,
    CaseOverdueModel,
    CaseState,
    ProtectionCaseModel,
)
from services.protection.case import CaseFold
from services.protection.facts import CaseEvent
from services.protection.service_levels import Breach, Running, ServiceLevels
from services.protection.store import CaseRecord

__all__ = [
    "ENTRY_FIELDS",
    "SUMMARY_FIELDS",
    "case_summary",
    "case_view",
    "cleared_view",
    "listing_order",
    "overdue_view",
]

ENTRY_FIELDS = (  # the event fields a history entry carries besides its id, type, time and office
    "officer_id",
    "category",
    "urgency",
    "call_id",
    "to_office",
    "reason",
    "level",
    "action",
    "outcome",
)


def _entry(event: CaseEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "type": event.type,
        "source": event.source,
        "office": event.office,
        "time": event.time,
        **{name: getattr(event, name) for name in ENTRY_FIELDS},
    }


def _breach(breach: Breach) -> dict[str, Any]:
    return {
        "overdue_id": breach.overdue_id,
        "started_by": breach.started_by,
        "deadline": breach.deadline,
        "recurrence": breach.recurrence,
        "detected_at": breach.detected_at,
        "cleared_id": breach.cleared_id,
        "cleared_by": breach.cleared_by,
        "cleared_at": breach.cleared_at,
    }


def _personal(case: CaseFold) -> dict[str, Any] | None:
    if not case.subject and not case.notes:
        return None
    return {
        "subject": dict(case.subject) or None,
        "notes": [{"event_id": e.event_id, "time": e.time, "text": text} for e, text in case.notes],
    }


def case_view(case: CaseFold, record: CaseRecord, levels: ServiceLevels) -> ProtectionCaseModel:
    """The ``ProtectionCase`` of one case."""
    running = case.running(levels)
    last, breach = case.last_action, record.open_breach
    return ProtectionCaseModel.model_validate(
        {
            "case_id": case.case_id,
            "status": case.status,
            "office": case.office,
            "category": case.category,
            "urgency": case.urgency,
            "country": case.country,
            "channel": case.channel,
            "officer_id": case.officer_id,
            "escalation": case.escalation,
            "citizen_id": record.citizen_id,
            "opened_at": case.opened_at,
            "opened_by": case.opened_by,
            "closed_at": case.closed_at,
            "outcome": case.outcome,
            "last_action_id": None if last is None else last.event_id,
            "last_action_at": None if last is None else last.time,
            "deadline": None if running is None else running.deadline,
            "overdue": breach is not None,
            "overdue_id": None if breach is None else breach.overdue_id,
            "handovers": [
                {
                    "event_id": h.event.event_id,
                    "time": h.event.time,
                    "from_office": h.from_office,
                    "to_office": h.event.to_office,
                    "reason": h.event.reason,
                    "officer_id": h.event.officer_id,
                }
                for h in case.handovers
            ],
            "history": [_entry(event) for event in case.applied],
            "refused": [
                {
                    "event_id": r.event.event_id,
                    "type": r.event.type,
                    "source": r.event.source,
                    "office": r.event.office,
                    "time": r.event.time,
                    "refusal": r.reason,
                }
                for r in case.refused
            ],
            "hotline_call_ids": sorted(case.call_ids),
            "breaches": [_breach(b) for b in record.breaches],
            "personal": _personal(case),
        }
    )


def overdue_view(case: CaseFold, running: Running, breach: Breach) -> CaseOverdueModel:
    """The ``CaseOverdue`` of ``breach`` (``case`` as it stood when the breach was found)."""
    return CaseOverdueModel.model_validate(
        {
            "overdue_id": breach.overdue_id,
            "case_id": case.case_id,
            "office": case.office,
            "status": case.status,
            "category": case.category,
            "urgency": case.urgency,
            "started_by": running.started_by,
            "last_action_at": running.since,
            "deadline": running.deadline,
            "recurrence": breach.recurrence,
            "detected_at": breach.detected_at,
        }
    )


def cleared_view(
    case_id: str, office: str | None, status: CaseState, breach: Breach
) -> CaseOverdueClearedModel:
    """The ``CaseOverdueCleared`` of a cleared ``breach``; ``office``, ``status``: the case as it is now."""
    return CaseOverdueClearedModel.model_validate(
        {
            "cleared_id": breach.cleared_id,
            "overdue_id": breach.overdue_id,
            "case_id": case_id,
            "office": office,
            "status": status,
            "deadline": breach.deadline,
            "cleared_by": breach.cleared_by,
            "cleared_at": breach.cleared_at,
        }
    )


SUMMARY_FIELDS = (
    "case_id",
    "status",
    "office",
    "category",
    "urgency",
    "country",
    "channel",
    "officer_id",
    "escalation",
    "citizen_id",
    "opened_at",
    "last_action_at",
    "deadline",
    "overdue",
    "overdue_id",
)
"""What a list shows of a case (as JSON, like the case's own answer), besides how often it was handed over."""
_LIVE = frozenset({CaseState.CALLED, CaseState.OPEN})
_LAST = datetime.max.replace(tzinfo=UTC)


def case_summary(view: ProtectionCaseModel) -> dict[str, Any] | None:
    """A called or open case as the lists show it (no personal data); None for a closed or unopened one."""
    if view.status not in _LIVE:
        return None
    summary: dict[str, Any] = to_jsonable_python({name: getattr(view, name) for name in SUMMARY_FIELDS})
    summary["handovers"] = len(view.handovers)
    return summary


def listing_order(summary: dict[str, Any]) -> tuple[bool, datetime, str]:
    """Lists show overdue cases first, then by deadline, soonest first (a case without one last)."""
    deadline = summary["deadline"]
    return (
        not summary["overdue"],
        _LAST if deadline is None else datetime.fromisoformat(deadline),
        summary["case_id"],
    )
