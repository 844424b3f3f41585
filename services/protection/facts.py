"""What the case view folds: protection events and citizen links, as plain values (no Kafka, no Avro).

A ``CaseEvent`` is one accepted event of the ``protection`` topic with what the view needs of it; its
personal data is a plain dict (only inside ``personal``), its subject's NIK and passport numbers are in
``identifiers`` as keyed hashes. A ``CitizenLink`` says which of those identifiers one registry citizen
holds now. ``services.protection.items`` maps both to and from ``ProtectionItem``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.contracts.common import Channel
from services.contracts.protection import CaseAction, CaseCategory, CaseOutcome, EscalationLevel, Urgency
from services.contracts.protection_items import CaseEventType

__all__ = ["CaseEvent", "CitizenLink", "Item", "order"]


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One protection event of a case; fields another event type does not have are None."""

    event_id: str
    type: CaseEventType
    source: str
    time: datetime
    case_id: str
    office: str
    identifiers: frozenset[str] = frozenset()
    category: CaseCategory | None = None
    urgency: Urgency | None = None
    country: str | None = None
    channel: Channel | None = None
    call_id: str | None = None
    caller_is_subject: bool | None = None
    officer_id: str | None = None
    assigned_by: str | None = None
    to_office: str | None = None
    reason: str | None = None
    level: EscalationLevel | None = None
    action: CaseAction | None = None
    outcome: CaseOutcome | None = None
    personal: dict[str, str] = field(default_factory=dict, hash=False)
    """The event's personal data, field -> text (``date_of_birth`` ISO, ``sex`` its symbol); personal."""


def order(event: CaseEvent) -> tuple[datetime, str, str]:
    """A case's events are folded in this order, whatever order they arrived in."""
    return (event.time, event.source, event.event_id)


@dataclass(frozen=True, slots=True)
class CitizenLink:
    """The registry's citizen ``citizen_id`` now holds exactly ``identifiers`` (none once merged away)."""

    citizen_id: str
    identifiers: frozenset[str]
    merged_into: str | None = None


Item = CaseEvent | CitizenLink
"""One record of ``protection.items`` as the projection applies it."""
