"""Case events for the protection tests, and a harness that drives the projection as the runtime does:
each item encoded onto a partition of ``protection.items``, read back, applied (or a tick handed over), the
views drained and the partition's store committed with its progress, in chunks; optionally restarted
from the store between chunks (a new projection state opened over what was committed).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.bus.decoder import RawRecord
from services.contracts.common import Channel
from services.contracts.protection import CaseAction, CaseCategory, CaseOutcome, EscalationLevel, Urgency
from services.contracts.protection_items import CaseEventType
from services.contracts.protection_views import ProtectionCaseModel, ProtectionStatsModel
from services.protection.facts import CaseEvent, CitizenLink, Item
from services.protection.items import encode_item
from services.protection.projection import ProtectionPartition, ProtectionProjection
from services.protection.service_levels import ServiceLevels
from services.protection.topics import CASES, ITEMS, OVERDUE, STATS
from services.runtime.projection import ViewRecord
from services.runtime.store import Store

KEY = b"protection-test-key"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKYO, SEOUL, PWNI = "kbri-tokyo", "kbri-seoul", "kemlu-pwni"
OFFICES = (TOKYO, SEOUL, PWNI)
T = CaseEventType
WALL = datetime(2099, 1, 1, tzinfo=UTC)
"""What the harness hands ``drain`` as the runtime's wall clock: nothing may depend on it."""


def hasher(value: str) -> str:
    return hmac.new(KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


_DEFAULTS: dict[CaseEventType, dict[str, Any]] = {
    T.HOTLINE_CALL_RECEIVED: {
        "category": CaseCategory.SCAM,
        "urgency": Urgency.HIGH,
        "channel": Channel.HOTLINE,
        "caller_is_subject": True,
    },
    T.CASE_OPENED: {
        "category": CaseCategory.DETENTION,
        "urgency": Urgency.CRITICAL,
        "country": "JP",
        "channel": Channel.WALK_IN,
        "officer_id": "officer-1",
    },
    T.CASE_UPDATED: {"action": CaseAction.LEGAL_AID, "officer_id": "officer-1"},
    T.CASE_ASSIGNED: {"officer_id": "officer-2", "assigned_by": "head-1"},
    T.CASE_TRANSFERRED: {"reason": "JURISDICTION", "officer_id": "officer-1"},
    T.CASE_ESCALATED: {
        "level": EscalationLevel.MISSION_HEAD,
        "reason": "no-response",
        "officer_id": "officer-1",
    },
    T.CASE_CLOSED: {"outcome": CaseOutcome.RESOLVED, "officer_id": "officer-1"},
    T.CASE_REOPENED: {"reason": "new-evidence", "officer_id": "officer-1"},
}


def ev(
    kind: CaseEventType,
    event_id: str,
    minutes: float,
    *,
    case_id: str = "CASE-1",
    office: str = TOKYO,
    source: str | None = None,
    **fields: Any,
) -> CaseEvent:
    """A case event with plausible defaults for its type; ``fields`` override them."""
    values = {**_DEFAULTS[kind], **fields}
    if kind is T.HOTLINE_CALL_RECEIVED:
        values.setdefault("call_id", f"call-{event_id}")
    if kind is T.CASE_TRANSFERRED:
        values.setdefault("to_office", SEOUL if office != SEOUL else TOKYO)
    return CaseEvent(
        event_id=event_id,
        type=kind,
        source=source or office,
        time=at(minutes),
        case_id=case_id,
        office=office,
        **values,
    )


@dataclass(frozen=True)
class Tick:
    """The runtime's clock record on one partition (or on every partition when ``partition`` is None)."""

    minutes: float
    partition: int | None = None


Step = Item | Tick


def partition_of(case_id: str, partitions: int) -> int:
    """A stable routing of cases to partitions (any one will do: each case stays on one)."""
    return int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % partitions


@dataclass
class Run:
    """What a run published: every view record in order, per partition."""

    published: list[ViewRecord] = field(default_factory=list)

    def latest(self, topic: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for record in self.published:
            if record.topic == topic:
                found[record.key] = record.view
        return found

    @property
    def cases(self) -> dict[str, ProtectionCaseModel]:
        return self.latest(CASES)

    @property
    def stats(self) -> dict[str, ProtectionStatsModel]:
        return self.latest(STATS)

    @property
    def breaches(self) -> list[Any]:
        return [record.view for record in self.published if record.topic == OVERDUE]


class Harness:
    """The projection over an in-memory store, partition by partition, as the runtime drives it."""

    def __init__(self, partitions: int = 1, levels: ServiceLevels | None = None, *, cache: int = 100) -> None:
        self.partitions = partitions
        self.projection = ProtectionProjection(levels or ServiceLevels(), case_cache=cache)
        self.store = Store.in_memory()
        self.states: dict[int, ProtectionPartition] = {
            p: self.projection.open(self.store.partition(p)) for p in range(partitions)
        }
        self.offsets = dict.fromkeys(range(partitions), 0)
        self.pending = dict.fromkeys(range(partitions), 0)
        self.run = Run()

    def restart(self) -> None:
        """A new worker takes over every partition: its state opened from what was committed."""
        for p in range(self.partitions):
            self.store.partition(p).discard()
            self.pending[p] = 0
            self.states[p] = self.projection.open(self.store.partition(p))

    def feed(self, steps: Iterable[Step]) -> None:
        """Apply ``steps`` (items routed by case id, links to every partition), without committing."""
        for step in steps:
            for p in self._targets(step):
                state = self.states[p]
                if isinstance(step, Tick):
                    self.projection.tick(state, at(step.minutes))
                else:
                    record = RawRecord(ITEMS, p, self.offsets[p], 0, b"k", encode_item(step))
                    item = self.projection.read(record)
                    self.projection.apply(state, item)
                self.offsets[p] += 1
                self.pending[p] += 1

    def commit(self) -> None:
        """Drain every partition and store it with its progress (views are 'published' first)."""
        for p in range(self.partitions):
            self.run.published.extend(self.projection.drain(self.states[p], WALL))
            self.store.partition(p).commit(self.offsets[p])
            self.pending[p] = 0

    def play(self, steps: Sequence[Step], *, chunk: int = 0, restart_every: int = 0) -> Run:
        """Feed ``steps`` in chunks of ``chunk`` (0: one), committing after each; restart the workers after
        every ``restart_every`` chunks (0: never).
        """
        size = chunk or max(1, len(steps))
        for n, lo in enumerate(range(0, len(steps), size), start=1):
            self.feed(steps[lo : lo + size])
            self.commit()
            if restart_every and n % restart_every == 0:
                self.restart()
        return self.run

    def _targets(self, step: Step) -> list[int]:
        if isinstance(step, CitizenLink) or (isinstance(step, Tick) and step.partition is None):
            return list(range(self.partitions))
        if isinstance(step, Tick):
            return [step.partition or 0]
        return [partition_of(step.case_id, self.partitions)]


def play(steps: Sequence[Step], **kw: Any) -> Run:
    """One partition, the default levels, one chunk (or as ``kw`` says)."""
    partitions = kw.pop("partitions", 1)
    levels = kw.pop("levels", None)
    return Harness(partitions, levels).play(steps, **kw)


def fold_part(view: Any) -> dict[str, Any]:
    """A case view without what depends on when the clock passed (its breach history and the id of the
    breach in progress), which arrival order may change; the rest may not.
    """
    data: dict[str, Any] = view.model_dump()
    data.pop("breaches")
    data.pop("overdue_id")
    return data
