"""Reading a topic without a consumer group: its end offsets, everything up to them, one exact range.

Processors catching up, auditors and operators listing dead letters, ``bus tail`` and the tests all read
this way: assign the partitions, seek, poll until the end offsets taken when the read began. Nothing is
committed, so a read never moves anyone's consumer group. Topic names here are full names (with the
deployment's prefix: ``settings.topic(name)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from kafka import KafkaConsumer, TopicPartition

from services.bus.errors import TopicMissing
from services.bus.settings import BusSettings

STALL_SECONDS = 60.0
"""How long a read may see nothing new before the broker is taken to be gone."""


@contextmanager
def group_less(settings: BusSettings, **options: Any) -> Iterator[KafkaConsumer]:
    """A consumer in no group with auto-commit off, closed on exit."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False, **options
    )
    try:
        yield consumer
    finally:
        consumer.close()


def partitions_of(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic`` in order; TopicMissing if the broker does not know it."""
    found = consumer.partitions_for_topic(topic)
    if not found:
        raise TopicMissing(f"topic {topic} does not exist")
    return [TopicPartition(topic, p) for p in sorted(found)]


def assign_all(consumer: KafkaConsumer, topic: str, *, from_beginning: bool) -> list[TopicPartition]:
    """Assign every partition of ``topic`` to ``consumer``, at the start or at the end."""
    tps = partitions_of(consumer, topic)
    consumer.assign(tps)
    if from_beginning:
        consumer.seek_to_beginning(*tps)
    else:
        consumer.seek_to_end(*tps)
    return tps


def end_offsets(settings: BusSettings, topic: str) -> dict[int, int]:
    """Partition -> the offset the next record appended to it will get."""
    with group_less(settings) as consumer:
        tps = partitions_of(consumer, topic)
        return {tp.partition: int(offset) for tp, offset in consumer.end_offsets(tps).items()}


def read_to_end(settings: BusSettings, topic: str) -> Iterator[Any]:
    """Every record of every partition of ``topic``, from the start up to the end offsets taken now.

    Per partition in offset order; partitions interleave as the broker answers.
    """
    with group_less(settings) as consumer:
        tps = assign_all(consumer, topic, from_beginning=True)
        ends = consumer.end_offsets(tps)
        deadline = time.monotonic() + STALL_SECONDS
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            batches = consumer.poll(timeout_ms=1000)
            for tp, messages in batches.items():
                yield from (m for m in messages if m.offset < ends[tp])
            deadline = _still_moving(progressed=bool(batches), deadline=deadline, what=topic)


class KeyedView(Protocol):
    """A view record that knows its Kafka record key."""

    @property
    def record_key(self) -> str:
        """The record's key on its compacted topic."""
        ...


V = TypeVar("V", bound=KeyedView)


def latest_views(settings: BusSettings, topic: str, decode: Callable[[bytes], V]) -> dict[str, V]:
    """What a reader of the compacted view ``topic`` holds: the latest record per key, each decoded by
    ``decode`` (a tombstone, a null value, deletes its key), read to the end offsets taken now.
    """
    latest: dict[str, V] = {}
    for message in read_to_end(settings, settings.topic(topic)):
        if message.value is None:
            latest.pop(message.key.decode() if message.key is not None else "", None)
            continue
        view = decode(message.value)
        latest[view.record_key] = view
    return latest


def read_range(settings: BusSettings, topic: str, partition: int, start: int, end: int) -> list[Any]:
    """The records of one partition at offsets [start, end): every one of them, or RuntimeError.

    For a reader whose state says "everything before ``end`` applied": a gap (a truncated or recreated
    topic) must stop it rather than be skipped.
    """
    tp = TopicPartition(topic, partition)
    records: list[Any] = []
    with group_less(settings, auto_offset_reset="none") as consumer:
        consumer.assign([tp])
        consumer.seek(tp, start)
        deadline = time.monotonic() + STALL_SECONDS
        while consumer.position(tp) < end:
            messages = consumer.poll(timeout_ms=1000, max_records=max(1, end - start)).get(tp, [])
            records.extend(m for m in messages if start <= m.offset < end)
            deadline = _still_moving(
                progressed=bool(messages), deadline=deadline, what=f"{topic}[{partition}]"
            )
    if [m.offset for m in records] != list(range(start, end)):
        raise RuntimeError(
            f"{topic}[{partition}] is missing offsets in [{start}, {end}): truncated or recreated?"
        )
    return records


def read_one(settings: BusSettings, topic: str, partition: int, offset: int) -> Any | None:
    """The record at ``offset`` of one partition, or None if there is none (never written, or deleted)."""
    tp = TopicPartition(topic, partition)
    with group_less(settings) as consumer:
        consumer.assign([tp])
        if not consumer.beginning_offsets([tp])[tp] <= offset < consumer.end_offsets([tp])[tp]:
            return None
        consumer.seek(tp, offset)
        deadline = time.monotonic() + STALL_SECONDS
        while True:
            messages = consumer.poll(timeout_ms=500).get(tp, [])
            for message in messages:
                if message.offset == offset:
                    return message
                if message.offset > offset:  # a compacted or transactional gap
                    return None
            deadline = _still_moving(
                progressed=bool(messages), deadline=deadline, what=f"{topic}[{partition}]"
            )


def _still_moving(*, progressed: bool, deadline: float, what: str) -> float:
    """The next stall deadline; RuntimeError once ``what`` has delivered nothing for STALL_SECONDS."""
    if progressed:
        return time.monotonic() + STALL_SECONDS
    if time.monotonic() > deadline:
        raise RuntimeError(f"{what} delivered nothing for {STALL_SECONDS:.0f} s")
    return deadline


class PartitionTail:
    """Follows some partitions of one topic without a group, each from an offset its caller keeps: a
    processor whose progress lives in its own store reads on from there, and nothing is committed.

    Not thread-safe: one thread at a time (a processor hands each poll to a worker thread).
    """

    def __init__(self, settings: BusSettings, topic: str, *, max_records: int) -> None:
        self.topic = topic
        self.max_records = max_records
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="none",  # an offset gone from the topic is an error, never a silent jump
            max_poll_records=max_records,
        )
        self.followed: frozenset[int] = frozenset()

    def follow(self, partitions: frozenset[int]) -> None:
        """Read exactly ``partitions``: one already followed on from where the reader is, one new to it
        from where the caller ``seek`` s it before the next poll.
        """
        if partitions != self.followed:
            self.consumer.assign([TopicPartition(self.topic, p) for p in sorted(partitions)])
            self.followed = partitions

    def seek(self, partition: int, offset: int) -> None:
        """Read ``partition`` (followed) on from ``offset``."""
        self.consumer.seek(TopicPartition(self.topic, partition), offset)

    def poll(self, timeout_ms: int) -> dict[int, list[Any]]:
        """Partition -> the records read (in offset order) within ``timeout_ms``; empty when none came."""
        if not self.followed:
            return {}
        polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        return {tp.partition: messages for tp, messages in polled.items() if messages}

    def close(self) -> None:
        """Leave the broker."""
        self.consumer.close()
