"""The dead-letter figures as a projection: each dead letter counted once in its group, per partition.

A group is (reason, component, source office, hour of refusal), read from the dead letter's own headers
and never refused: a missing or malformed header lands in OTHER / other / unknown, so even a record
written to ``bus.deadletter`` by hand is counted, and a forged ``ce_source`` is never echoed. Each
partition keeps absolute counts of its own dead letters (its progress makes every offset count once);
the figure across the bus is the sum over partitions of the latest count per group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.bus.decoder import RawRecord
from services.contracts.deadletters import DeadLetterCountModel
from services.reference.offices import is_known_office
from services.runtime.projection import ViewRecord
from services.runtime.store import Column, PartitionStore

FIGURES = DeadLetterCountModel.TOPIC
_REASON = re.compile(r"[A-Z][A-Z_]{0,39}")
_COMPONENT = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Refusal:
    """The group one dead letter counts in."""

    reason: str
    component: str
    source: str
    hour_ms: int

    @property
    def group(self) -> str:
        """The group as the store and the view key spell it (``DeadLetterCountModel.group``)."""
        hour = datetime.fromtimestamp(self.hour_ms / 1000, UTC)
        return f"{self.reason}|{self.component}|{self.source}|{hour:%Y-%m-%dT%H}"


@dataclass
class FiguresState:
    """One partition's counts per group (in the store) and the groups changed since the last drain."""

    partition: int
    counts: Column[int]
    changed: dict[str, Refusal] = field(default_factory=dict)


def refusal_of(record: RawRecord) -> Refusal:
    """The group of a dead letter, whatever its headers hold."""
    reason = record.header("dlq_reason") or ""
    component = record.header("dlq_component") or ""
    source = record.header("ce_source") or ""
    try:
        refused_at = int(record.header("dlq_refused_at") or "")
    except ValueError:
        refused_at = record.timestamp
    return Refusal(
        reason=reason if _REASON.fullmatch(reason) else "OTHER",
        component=component if _COMPONENT.fullmatch(component) else "other",
        source=source if is_known_office(source) else "unknown",
        hour_ms=max(0, refused_at) // HOUR_MS * HOUR_MS,
    )


class DeadLetterFigures:
    """``services.runtime.projection.Projection`` of the dead-letter figures."""

    name = "deadletters"
    input_topic = "bus.deadletter"
    needs_history = False
    clock = False

    def open(self, partition: PartitionStore) -> FiguresState:
        """The counts of one partition of ``bus.deadletter``."""
        return FiguresState(
            partition.partition,
            partition.column("counts", lambda n: str(n).encode(), int),
        )

    def read(self, record: RawRecord) -> Refusal:
        """Every dead letter counts somewhere: this never refuses."""
        return refusal_of(record)

    def restore(self, state: FiguresState, item: Refusal) -> None:
        """Nothing in memory: the counts are all in the store."""

    def apply(self, state: FiguresState, item: Refusal) -> None:
        """One more dead letter in its group."""
        group = item.group
        state.counts[group] = state.counts.get(group, 0) + 1
        state.changed[group] = item

    def drain(self, state: FiguresState, as_of: datetime) -> list[ViewRecord]:
        """The absolute count of every group that changed, for this partition."""
        views = []
        for group, item in sorted(state.changed.items()):
            view = DeadLetterCountModel(
                reason=item.reason,
                component=item.component,
                source=item.source,
                hour=datetime.fromtimestamp(item.hour_ms / 1000, UTC),
                partition=state.partition,
                count=state.counts[group],
                as_of=as_of,
            )
            views.append(ViewRecord(FIGURES, view.record_key, view))
        state.changed = {}
        return views

    def tick(self, state: object, at: datetime) -> None:
        """No clock: nothing in this view depends on time passing."""
