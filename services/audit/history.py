"""History for a replay, read from the broker (no consumer group, nothing committed) or from an archive.

Source partitions are merged by (log timestamp, topic, partition, offset), each partition in offset
order: on the ``LogAppendTime`` domain topics that is the order the bus appended them, the nearest a replay
gets to the order the live intake read them in. Reading "as of" a time on the broker's clock stops a
partition at its first record appended later, since its log timestamps only grow.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.audit.archive import iter_archived
from services.audit.replay import Counts, Reading, Replayer, Row, ViewPlan, to_ms
from services.bus.consumer import raw_from_kafka
from services.bus.decoder import RawRecord
from services.bus.reading import STALL_SECONDS, group_less
from services.bus.settings import BusSettings

__all__ = [
    "DEADLETTERS",
    "Outcome",
    "archived",
    "archived_deadletters",
    "deadlettered",
    "history_size",
    "input_partitions",
    "merged",
    "replay_archive",
    "replay_kafka",
]

DEADLETTERS = "bus.deadletter"
LOG_APPEND_TIME = 1
"""kafka-python's ``timestamp_type`` of a record stamped by the broker."""
Where = tuple[str, int, int]
Order = tuple[int, str, int, int]


@dataclass(frozen=True)
class Outcome:
    """A replay's rows (the view's final state) and what it did with the records."""

    rows: list[Row]
    counts: Counts


def order(record: RawRecord) -> Order:
    """Where a record falls in the merged history."""
    return (record.timestamp, record.topic, record.partition, record.offset)


def refused_where(record: RawRecord, components: Collection[str]) -> Where | None:
    """The source record a dead letter names, if one of ``components`` refused it."""
    if record.header("dlq_component") not in components:
        return None
    topic, partition, offset = (record.header(f"dlq_{n}") for n in ("topic", "partition", "offset"))
    if not topic or not partition or not offset:
        return None
    try:
        return (topic, int(partition), int(offset))
    except ValueError:
        return None


def deadlettered(settings: BusSettings, components: Collection[str]) -> set[Where]:
    """Every source record ``components`` refused, as ``bus.deadletter`` names them."""
    found = set()
    for record in merged(settings, [settings.topic(DEADLETTERS)]):
        where = refused_where(record, components)
        if where is not None:
            found.add(where)
    return found


def input_partitions(settings: BusSettings, topic: str) -> int | None:
    """How many partitions the broker holds for ``topic`` (catalogue name); None if it has no such topic."""
    with group_less(settings) as consumer:
        found = consumer.partitions_for_topic(settings.topic(topic))
    return len(found) if found else None


def history_size(settings: BusSettings, topics: list[str]) -> int:
    """Records held now on the partitions of ``topics`` (full names): a progress bar's total."""
    with group_less(settings) as consumer:
        tps = _partitions(consumer, topics)
        begins, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    return sum(max(0, ends[tp] - begins[tp]) for tp in tps)


def _partitions(consumer: KafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` the broker knows (a topic never created holds no history)."""
    found: list[TopicPartition] = []
    for topic in topics:
        partitions = consumer.partitions_for_topic(topic)
        found.extend(TopicPartition(topic, p) for p in sorted(partitions or ()))
    return found


def merged(
    settings: BusSettings, topics: list[str], *, stop_after_ms: int | None = None
) -> Iterator[RawRecord]:
    """The records of ``topics`` (full names) up to their end offsets taken now, merged in ``order``.

    With ``stop_after_ms``, a partition ends at its first broker-stamped record appended after it.
    """
    with group_less(settings, auto_offset_reset="earliest") as consumer:
        yield from _Merge(consumer, _partitions(consumer, topics), stop_after_ms).records()


class _Merge:
    """A k-way merge of partitions read by one consumer: a partition is polled only while its buffer is
    empty (the others paused), so memory holds about one fetch per partition.
    """

    def __init__(self, consumer: KafkaConsumer, tps: list[TopicPartition], stop_after_ms: int | None) -> None:
        self.consumer = consumer
        self.stop_after_ms = stop_after_ms
        begins = consumer.beginning_offsets(tps)
        self.ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
        self.active = {tp for tp in tps if begins[tp] < self.ends[tp]}
        self.rank = {tp: n for n, tp in enumerate(tps)}
        self.buffers: dict[TopicPartition, deque[RawRecord]] = {tp: deque() for tp in self.active}
        self.heads: list[tuple[Order, int, TopicPartition]] = []
        if self.active:
            consumer.assign(sorted(self.active))
            for tp in self.active:
                consumer.seek(tp, begins[tp])

    def records(self) -> Iterator[RawRecord]:
        """Every record, smallest ``order`` first among the partitions' next ones."""
        while True:
            waiting = [tp for tp in self.active if not self.buffers[tp]]
            if waiting:
                self._fill(waiting)
                continue
            if not self.heads:
                return
            _, _, tp = heapq.heappop(self.heads)
            buffer = self.buffers[tp]
            yield buffer.popleft()
            if buffer:
                heapq.heappush(self.heads, (order(buffer[0]), self.rank[tp], tp))

    def _fill(self, waiting: list[TopicPartition]) -> None:
        """Poll until every partition of ``waiting`` has a record buffered or has ended."""
        consumer = self.consumer
        consumer.pause(*[tp for tp in self.active if self.buffers[tp]])
        consumer.resume(*waiting)
        deadline = time.monotonic() + STALL_SECONDS
        while any(tp in self.active and not self.buffers[tp] for tp in waiting):
            batches = consumer.poll(timeout_ms=500)
            for tp, messages in batches.items():
                self._take(tp, messages)
            for tp in waiting:
                if tp in self.active and consumer.position(tp) >= self.ends[tp]:
                    self.active.discard(tp)
            if batches:
                deadline = time.monotonic() + STALL_SECONDS
            elif time.monotonic() > deadline:
                raise RuntimeError(f"the broker delivered nothing for {STALL_SECONDS:.0f} s")

    def _take(self, tp: TopicPartition, messages: list[Any]) -> None:
        """Buffer ``messages`` of ``tp`` up to its end (or the first one appended after the stop)."""
        for message in messages:
            late = self.stop_after_ms is not None and message.timestamp > self.stop_after_ms
            if tp not in self.active:
                return
            if message.offset >= self.ends[tp] or (late and message.timestamp_type == LOG_APPEND_TIME):
                self.active.discard(tp)
                return
            raw = raw_from_kafka(message)
            if not self.buffers[tp]:
                heapq.heappush(self.heads, (order(raw), self.rank[tp], tp))
            self.buffers[tp].append(raw)


def replay_kafka(
    settings: BusSettings,
    plan: ViewPlan,
    *,
    as_of: datetime | None = None,
    reading: Reading = Reading.APPENDED,
    clock: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Replay ``plan`` over the broker's history (as of ``as_of`` on ``reading``'s clock); a view that
    keeps time is ticked at ``clock`` (default: ``as_of``, else now).
    """
    skip = deadlettered(settings, plan.skip_components) if plan.skip_components else set()
    as_of_ms = None if as_of is None else to_ms(as_of)
    replayer = Replayer(plan, skip=skip, as_of_ms=as_of_ms, reading=reading)
    stop = as_of_ms if reading is Reading.APPENDED else None
    replayer.feed_all(
        merged(settings, [settings.topic(t) for t in plan.sources], stop_after_ms=stop), progress
    )
    return Outcome(replayer.finish(clock or as_of or datetime.now(UTC)), replayer.counts)


def archived(directory: Path, topics: Collection[str]) -> list[RawRecord]:
    """The archived records of ``topics`` (catalogue or broker names), in ``order``."""
    records = [
        RawRecord(r.topic, r.partition, r.offset, r.timestamp_ms, r.key, r.value, list(r.headers))
        for topic in topics
        for r in iter_archived(directory, topic)
    ]
    records.sort(key=order)
    return records


def archived_deadletters(directory: Path, components: Collection[str]) -> set[Where]:
    """Every source record ``components`` refused, as the archived ``bus.deadletter`` names them."""
    found = set()
    for record in archived(directory, [DEADLETTERS]):
        where = refused_where(record, components)
        if where is not None:
            found.add(where)
    return found


def replay_archive(
    directory: Path,
    plan: ViewPlan,
    *,
    as_of: datetime | None = None,
    reading: Reading = Reading.APPENDED,
    clock: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Replay ``plan`` over the history archived in ``directory``, as ``replay_kafka`` does the broker's."""
    skip = archived_deadletters(directory, plan.skip_components) if plan.skip_components else set()
    replayer = Replayer(plan, skip=skip, as_of_ms=None if as_of is None else to_ms(as_of), reading=reading)
    replayer.feed_all(archived(directory, plan.sources), progress)
    return Outcome(replayer.finish(clock or as_of or datetime.now(UTC)), replayer.counts)
