"""The view's columns in the runtime's store, one set per partition of ``protection.items``.

- ``cases``: case id -> ``CaseRecord`` (its distinct events, personal data included, as the fold needs
  them; its breaches; the figure groups and identifiers it was last counted and indexed under; its citizen);
- ``held``, ``claims``, ``named``: the citizen links (``links.Links``);
- ``figures``: figure group -> this partition's absolute count;
- ``due``: case id -> the deadline of its running, not yet breached, service-level clock (what ``open``
  rebuilds the in-memory deadline queue from, without reading every case);
- ``open``: case id -> the summary of each called or open case (``views.case_summary``), what the lists of
  an office's cases and of overdue cases read;
- ``meta``: the partition clock.

All are written with the partition's progress in one atomic batch (``services.runtime.store``). Records are
JSON: the store is this worker's own, so no contract binds its format (the topic is the record of truth).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from services.contracts.common import Channel
from services.contracts.protection import CaseAction, CaseCategory, CaseOutcome, EscalationLevel, Urgency
from services.contracts.protection_items import OPTIONAL_EVENT_FIELDS, CaseEventType
from services.protection.facts import CaseEvent
from services.protection.service_levels import Breach
from services.runtime.store import Column, PartitionStore

__all__ = ["CaseRecord", "ProtectionColumns", "decode_record", "encode_record"]

_ENUMS: dict[str, Any] = {
    "category": CaseCategory,
    "urgency": Urgency,
    "channel": Channel,
    "level": EscalationLevel,
    "action": CaseAction,
    "outcome": CaseOutcome,
}
_TIMES = ("detected_at", "cleared_at", "deadline")


@dataclass(slots=True)
class CaseRecord:
    """What the partition keeps of one case."""

    case_id: str
    events: dict[str, CaseEvent] = field(default_factory=dict)
    breaches: list[Breach] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    citizen_id: str | None = None

    @property
    def open_breach(self) -> Breach | None:
        """The breach in progress, if the case is overdue."""
        last = self.breaches[-1] if self.breaches else None
        return last if last is not None and last.open else None


def _event_dict(event: CaseEvent) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type.value,
        "source": event.source,
        "time": event.time.isoformat(),
        "case_id": event.case_id,
        "office": event.office,
    }
    if event.identifiers:
        data["identifiers"] = sorted(event.identifiers)
    for name in OPTIONAL_EVENT_FIELDS:
        value = getattr(event, name)
        if value is not None:
            data[name] = getattr(value, "value", value)
    if event.personal:
        data["personal"] = event.personal
    return data


def _event_of(data: dict[str, Any]) -> CaseEvent:
    optional = {
        name: _ENUMS[name](data[name]) if name in _ENUMS else data[name]
        for name in OPTIONAL_EVENT_FIELDS
        if name in data
    }
    return CaseEvent(
        event_id=data["event_id"],
        type=CaseEventType(data["type"]),
        source=data["source"],
        time=datetime.fromisoformat(data["time"]),
        case_id=data["case_id"],
        office=data["office"],
        identifiers=frozenset(data.get("identifiers", ())),
        personal=data.get("personal", {}),
        **optional,
    )


def _breach_dict(breach: Breach) -> dict[str, Any]:
    data = {part.name: getattr(breach, part.name) for part in fields(Breach)}
    for name in _TIMES:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def _breach_of(data: dict[str, Any]) -> Breach:
    times = {name: datetime.fromisoformat(data[name]) for name in _TIMES if data[name] is not None}
    return Breach(**{**data, **times})


def encode_record(record: CaseRecord) -> bytes:
    """A case record as stored."""
    return json.dumps(
        {
            "case_id": record.case_id,
            "events": [_event_dict(event) for _, event in sorted(record.events.items())],
            "breaches": [_breach_dict(breach) for breach in record.breaches],
            "counted": record.counted,
            "identifiers": record.identifiers,
            "citizen_id": record.citizen_id,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def decode_record(raw: bytes) -> CaseRecord:
    """What ``encode_record`` wrote."""
    data = json.loads(raw)
    events = [_event_of(event) for event in data["events"]]
    return CaseRecord(
        case_id=data["case_id"],
        events={event.event_id: event for event in events},
        breaches=[_breach_of(breach) for breach in data["breaches"]],
        counted=data["counted"],
        identifiers=data["identifiers"],
        citizen_id=data["citizen_id"],
    )


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class ProtectionColumns:
    """The view's columns over one partition's store."""

    def __init__(self, partition: PartitionStore, *, cache_size: int = 10_000) -> None:
        self.partition = partition
        self.cases: Column[CaseRecord] = partition.column(
            "cases", encode_record, decode_record, cache_size=cache_size, counted=True
        )
        self.held: Column[list[str]] = partition.column("held", _json, json.loads, cache_size=cache_size)
        self.claims: Column[list[str]] = partition.column("claims", _json, json.loads, cache_size=cache_size)
        self.named: Column[list[str]] = partition.column("named", _json, json.loads, cache_size=cache_size)
        self.figures: Column[int] = partition.column("figures", lambda n: str(n).encode(), int)
        self.due: Column[str] = partition.column("due", str.encode, bytes.decode)
        self.open: Column[dict[str, Any]] = partition.column("open", _json, json.loads)
        self.meta: Column[str] = partition.column("meta", str.encode, bytes.decode)

    @property
    def case_count(self) -> int:
        """How many cases the partition holds (kept with each batch, so no scan is needed)."""
        return self.partition.count("cases")
