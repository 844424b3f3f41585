"""Replay: a view rebuilt from history by the very projection, and intake transform, the live worker runs.

Pure: records in, in the order they are given, rows out; no Kafka (``services.audit.history`` reads the
broker or an archive). For a view fed by an intake, each source record goes the live way: skipped if the
live intake dead-lettered it (the replay trusts what the intake accepted: a record refused as a future
event then may well decode now), decoded by the bus's decoder, made into items by the view's own transform,
each item put on the partition of the view's input topic the bus's partitioner gives its key (every
partition for a broadcast), and read and applied there by the projection. A view with no intake (the
dead-letter figures) reads its source records as they are. A replay needs only the final state: each
partition is drained a chunk at a time as the core does, and only the latest record per key of the view's
compacted topics is kept, none written anywhere.

"As of" has two readings: what the bus had appended by then (each record's broker timestamp, the domain
topics being ``LogAppendTime``), or what had happened by then by the events' own word (``ce_time``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from services.bus.decoder import RawRecord
from services.bus.envelope import parse_time
from services.bus.errors import BusError
from services.contracts import VIEW_MODELS
from services.runtime.projection import PlainView, Projection, ViewRecord
from services.runtime.store import Store

__all__ = [
    "CHUNK",
    "Counts",
    "Forwarded",
    "Reading",
    "Replayer",
    "Row",
    "ViewPlan",
    "record_time_ms",
    "row_of",
    "to_ms",
]

CHUNK = 5_000
"""Records per partition between drains: bounds what waits undrained (the final state does not depend on
it)."""

Where = tuple[str, int, int]
"""A record's topic (as the broker names it), partition and offset."""


class Forwarded(Protocol):
    """What an intake transform forwards (``services.runtime.intake.Forward``), read by its attributes."""

    @property
    def key(self) -> str:
        """The item's key."""
        ...

    @property
    def value(self) -> bytes:
        """The item's bytes."""
        ...

    @property
    def broadcast(self) -> bool:
        """Whether every partition of the target gets a copy."""
        ...

    @property
    def topic(self) -> str | None:
        """Catalogue name of the topic it goes to; None: the intake's target."""
        ...

    @property
    def item(self) -> Any:
        """What ``value`` encodes, as the projection's ``read`` gives it back (None: not given)."""
        ...


Transform = Callable[[Any], bytes | Sequence[Forwarded] | None]


class Reading(StrEnum):
    """Which clock ``as_of`` is read on."""

    APPENDED = "appended"
    """The broker's: each record's log timestamp (LogAppendTime on the domain topics)."""
    EVENT = "event"
    """The events' own: their CloudEvents ``ce_time`` (the log timestamp for a record without one)."""


def to_ms(moment: datetime) -> int:
    """``moment`` in whole milliseconds since the epoch, as Kafka's timestamps count."""
    return int(moment.timestamp() * 1000)


def record_time_ms(record: RawRecord, reading: Reading) -> int:
    """The time ``record`` counts at under ``reading``."""
    if reading is Reading.EVENT:
        text = record.header("ce_time")
        if text is not None:
            try:
                return to_ms(parse_time(text))
            except BusError:
                return record.timestamp
    return record.timestamp


@dataclass(frozen=True)
class ViewPlan:
    """How one view is replayed: its projection, and how its source records become the projection's input."""

    name: str
    projection: Projection[Any, Any]
    partitions: int
    """Partitions of the projection's input topic (for a view with an intake: where items are put)."""
    sources: tuple[str, ...]
    """Catalogue names of the topics read (domain topics, view topics an intake follows, or the input)."""
    state_topics: frozenset[str]
    """Catalogue names of the compacted view topics the rows are the latest records of."""
    skip_components: frozenset[str]
    """Dead-letter components whose refusals of source records the replay skips."""
    transform: Transform | None = None
    """The intake's transform; None: the projection reads the source records themselves."""
    decode: Callable[[RawRecord], tuple[str, Any]] | None = None
    """The intake's decoding: (event id, what the transform is handed), or a ``BusError``."""
    target: str = ""
    """Catalogue name of the intake's default target (a forward naming no topic goes there)."""
    partition_for: Callable[[bytes, int], int] | None = None
    """The bus's partitioner: a key's partition among so many."""
    views_at_end: bool = False
    """Drain the views only once, at the end (the store still commits every chunk): for a projection
    whose undrained state is only which keys changed (the registry's touched citizens), so the final
    state is drained once instead of once per chunk a key changed in."""


@dataclass(frozen=True)
class Row:
    """One output row: the latest record of a key on one of the view's compacted topics, as JSON data."""

    topic: str
    key: str
    value: dict[str, Any]


def row_of(record: ViewRecord) -> Row:
    """The row of a view record: its contract model's JSON form (a ``PlainView`` validated into it first)."""
    view = record.view
    model = VIEW_MODELS[view.SCHEMA].from_avro(view.record) if isinstance(view, PlainView) else view
    return Row(record.topic, record.key, model.model_dump(mode="json"))


@dataclass
class Counts:
    """What a replay did with the records it was given (no personal data: numbers only)."""

    read: int = 0
    later: int = 0
    """Records after ``as_of``: left out."""
    deadlettered: int = 0
    """Records the live intake refused (in ``bus.deadletter``): skipped."""
    refused: int = 0
    """Records the decoder refuses now although the live intake did not dead-letter them."""
    failed: int = 0
    """Events the transform failed on (the live intake dead-letters these as PROCESSING_FAILED)."""
    items: int = 0
    applied: int = 0
    refused_by_view: int = 0
    """Items the projection refused (``read`` or ``apply``), as the live core dead-letters them."""

    def describe(self) -> dict[str, int]:
        """The counts as a dictionary."""
        return dict(self.__dict__)


@dataclass
class Replayer:
    """Drives ``plan``'s projection over records handed to ``feed`` in order; ``finish`` gives the rows."""

    plan: ViewPlan
    skip: Collection[Where] = ()
    as_of_ms: int | None = None
    reading: Reading = Reading.APPENDED
    chunk: int = CHUNK
    trust_items: bool = True
    """Apply the item a transform gives beside its bytes (what the live projection reads back from them)
    instead of decoding the bytes again: a replay trusts its own transform's encoding, which the tests
    hold equal both ways (the plan's transform then need not encode at all: ``views.plan``)."""
    counts: Counts = field(default_factory=Counts)
    store: Store = field(default_factory=lambda: Store.in_memory(objects=True))
    """Where the projection's state lives: in memory, its values unencoded (only the final state is read)."""
    states: dict[int, Any] = field(default_factory=dict)
    offsets: dict[int, int] = field(default_factory=dict)
    """Input partition -> the next offset (the records' own for a view without intake, else counted)."""
    since_drain: dict[int, int] = field(default_factory=dict)
    latest: dict[tuple[str, str], ViewRecord] = field(default_factory=dict)
    last_ms: int = 0

    def feed_all(self, records: Iterable[RawRecord], progress: Callable[[int], None] | None = None) -> None:
        """Feed every record of ``records``; ``progress`` hears how many were read, every 1,000."""
        for record in records:
            self.feed(record)
            if progress is not None and self.counts.read % 1000 == 0:
                progress(self.counts.read)
        if progress is not None:
            progress(self.counts.read)

    def feed(self, record: RawRecord) -> None:
        """One source record, as the live intake and core would have taken it."""
        counts, plan = self.counts, self.plan
        counts.read += 1
        if self.as_of_ms is not None and record_time_ms(record, self.reading) > self.as_of_ms:
            counts.later += 1
            return
        if (record.topic, record.partition, record.offset) in self.skip:
            counts.deadlettered += 1
            return
        self.last_ms = max(self.last_ms, record.timestamp)
        if plan.transform is None or plan.decode is None:
            self.offsets[record.partition] = record.offset + 1
            self._apply(record.partition, record)
            return
        for key, value, broadcast, topic, item in self._forwards(record):
            if (topic or plan.target) != plan.projection.input_topic:
                continue  # for another stage of the view
            for partition in self._partitions(key, broadcast=broadcast):
                counts.items += 1
                offset = self.offsets.get(partition, 0)
                self.offsets[partition] = offset + 1
                if item is not None and self.trust_items:
                    self._apply(partition, None, item)
                    continue
                raw = RawRecord(
                    plan.projection.input_topic, partition, offset, record.timestamp, key.encode(), value, []
                )
                self._apply(partition, raw)

    def _forwards(self, record: RawRecord) -> list[_Made]:
        """What the intake makes of ``record``: decoded (or refused) and transformed (or failed)."""
        plan, counts = self.plan, self.counts
        if plan.decode is None or plan.transform is None:
            return []
        try:
            event_id, incoming = plan.decode(record)
        except BusError:
            counts.refused += 1
            return []
        try:
            return _forwards(event_id, plan.transform(incoming))
        except Exception:  # noqa: BLE001 - the live intake dead-letters it as PROCESSING_FAILED and goes on
            counts.failed += 1
            return []

    def _partitions(self, key: str, *, broadcast: bool) -> Iterable[int]:
        """The input partitions an item under ``key`` goes to, as the live intake sends it."""
        plan = self.plan
        if broadcast:
            return range(plan.partitions)
        if plan.partition_for is None or plan.partitions == 1:  # one partition: no key to hash
            return (0,)
        return (plan.partition_for(key.encode(), plan.partitions),)

    def _state(self, partition: int) -> Any:
        if partition not in self.states:
            self.states[partition] = self.plan.projection.open(self.store.partition(partition))
        return self.states[partition]

    def _apply(self, partition: int, record: RawRecord | None, given: Any = None) -> None:
        """Apply ``record`` (read by the projection), or the item ``given`` for it by the transform."""
        projection, counts = self.plan.projection, self.counts
        state = self._state(partition)
        try:
            item = given if record is None else projection.read(record)
            if item is not None:
                projection.apply(state, item)
                counts.applied += 1
        except BusError:
            counts.refused_by_view += 1
        done = self.since_drain.get(partition, 0) + 1
        self.since_drain[partition] = done
        if done >= self.chunk:
            if self.plan.views_at_end:
                self.store.partition(partition).commit(self.offsets.get(partition, 0))
                self.since_drain[partition] = 0
            else:
                self._drain(partition, datetime.fromtimestamp(self.last_ms / 1000, UTC))

    def _drain(self, partition: int, as_of: datetime) -> None:
        state = self._state(partition)
        for record in self.plan.projection.drain(state, as_of):
            if record.topic in self.plan.state_topics:
                self.latest[record.topic, record.key] = record
        self.store.partition(partition).commit(self.offsets.get(partition, 0))
        self.since_drain[partition] = 0

    def finish(self, clock: datetime | None = None) -> list[Row]:
        """Every partition drained, after a last tick at ``clock`` for a view that keeps time; the rows,
        by topic and key.
        """
        projection = self.plan.projection
        partitions = sorted(set(range(self.plan.partitions)) | self.states.keys())
        moment = clock or datetime.fromtimestamp(self.last_ms / 1000, UTC)
        for partition in partitions:
            state = self._state(partition)
            if projection.clock and clock is not None:
                projection.tick(state, clock)
            self._drain(partition, moment)
        return [row_of(self.latest[where]) for where in sorted(self.latest)]


_Made = tuple[str, bytes, bool, str | None, Any]
"""One forward as (key, value, broadcast, topic, item): its item None when the transform gave none."""


def _forwards(event_id: str, made: bytes | Sequence[Forwarded] | None) -> list[_Made]:
    """What a transform returned, as (key, value, broadcast, topic, item): bare bytes are one item keyed by
    the event id, as the live intake takes them.
    """
    if made is None:
        return []
    if isinstance(made, bytes):
        return [(event_id, made, False, None, None)]
    return [(f.key, f.value, f.broadcast, f.topic, f.item) for f in made]
