"""The traffic view as a projection: one per domain topic, each partition counting its own records.

Every record of a domain topic counts, valid or not (what an office sends is traffic, whether or not a
view accepts it), under its ``ce_source`` (``services.traffic.fold.heard``). A partition keeps each office's
state in its store; ``drain`` publishes the absolute figure of every office that changed, keyed
``<domain>|<office>|<partition>``, and readers sum the latest figure per key over partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.bus.decoder import RawRecord
from services.contracts.traffic import Domain, MinuteCount, OfficeTrafficModel
from services.runtime.projection import ViewRecord
from services.runtime.store import Column, PartitionStore
from services.traffic import fold
from services.traffic.fold import Heard, OfficeTraffic

FIGURES = OfficeTrafficModel.TOPIC
DOMAINS: tuple[Domain, ...] = ("citizen", "passport", "protection")


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class TrafficState:
    """One partition's offices (in the store) and the offices changed since the last drain."""

    partition: int
    offices: Column[OfficeTraffic]
    changed: set[str] = field(default_factory=set)


def figure_view(
    domain: Domain, office: str, partition: int, state: OfficeTraffic, as_of: datetime
) -> OfficeTrafficModel:
    """The ``OfficeTraffic`` record of one office's state on one partition."""
    return OfficeTrafficModel(
        domain=domain,
        office=office,
        partition=partition,
        total=state.total,
        last_heard=_moment(state.last_ms),
        minutes=tuple(MinuteCount(minute=_moment(m), count=n) for m, n in state.minutes),
        as_of=as_of,
    )


class TrafficProjection:
    """``services.runtime.projection.Projection`` of one domain topic's traffic."""

    needs_history = False
    clock = False

    def __init__(self, domain: Domain) -> None:
        self.domain: Domain = domain
        self.name: str = f"traffic-{domain}"
        self.input_topic: str = domain

    def open(self, partition: PartitionStore) -> TrafficState:
        """The offices of one partition of the domain topic."""
        return TrafficState(partition.partition, partition.column("offices", fold.encode, fold.decode))

    def read(self, record: RawRecord) -> Heard:
        """Every record counts, under its source office (or ``unknown``): this never refuses."""
        return fold.heard(record.header("ce_source"), record.timestamp)

    def restore(self, state: TrafficState, item: Heard) -> None:
        """Nothing in memory: the offices are all in the store."""

    def apply(self, state: TrafficState, item: Heard) -> None:
        """One more record of the office."""
        state.offices[item.office] = fold.apply(state.offices.get(item.office), item)
        state.changed.add(item.office)

    def drain(self, state: TrafficState, as_of: datetime) -> list[ViewRecord]:
        """The absolute figure of every office that changed, for this partition."""
        views = []
        for office in sorted(state.changed):
            view = figure_view(self.domain, office, state.partition, state.offices[office], as_of)
            views.append(ViewRecord(FIGURES, view.record_key, view))
        state.changed = set()
        return views

    def tick(self, state: object, at: datetime) -> None:
        """No clock: readers window the per-minute counts by their own time."""
