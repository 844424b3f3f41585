"""Where an intake without committed offsets starts: after what it already forwarded or refused.

A first deploy over existing history (a new consumer group, or committed offsets expired) would read every
domain event again and forward it again: the view drops the duplicates, but only after a second pass over
a decade of history. So every item an intake forwards names its source record (``bus_src_*`` headers), and
every dead letter names its origin (``dlq_topic``, ``dlq_partition``, ``dlq_offset``, ``dlq_component``).
When the intake starts under a group that has no committed offset on its sources, it reads those once
and commits, per source partition, the offset after the last record handled: a redeploy costs nothing
twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from services.bus.decoder import RawRecord
from services.bus.logs import get_logger
from services.bus.reading import read_to_end
from services.bus.settings import BusSettings

log = get_logger("intake")
SRC_TOPIC, SRC_PARTITION, SRC_OFFSET = "bus_src_topic", "bus_src_partition", "bus_src_offset"


ALIVE_EVERY = 10_000
"""Records between two ``alive`` calls of ``handled``."""


def source_headers(raw: RawRecord) -> list[tuple[str, bytes]]:
    """The headers that say which source record an item was made from."""
    return [
        (SRC_TOPIC, raw.topic.encode()),
        (SRC_PARTITION, str(raw.partition).encode()),
        (SRC_OFFSET, str(raw.offset).encode()),
    ]


def _place(headers: Any, topic: str, partition: str, offset: str) -> tuple[str, int, int] | None:
    """(topic, partition, offset) named by ``headers`` under the three given names, or None."""
    found = {key: value for key, value in headers or [] if key in (topic, partition, offset)}
    try:
        return found[topic].decode(), int(found[partition]), int(found[offset])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


def handled(
    settings: BusSettings, targets: list[str], component: str, alive: Callable[[], None] = lambda: None
) -> dict[tuple[str, int], int]:
    """(source topic, partition) -> the last offset already forwarded to one of ``targets`` or
    dead-lettered by ``component``: read from all of them to their ends. ``alive`` is called every
    ``ALIVE_EVERY`` records, so whoever watches a long read sees it move.
    """
    last: dict[tuple[str, int], int] = {}

    def note(place: tuple[str, int, int] | None) -> None:
        if place is not None:
            last[place[:2]] = max(last.get(place[:2], -1), place[2])

    read = 0
    for target in targets:
        for message in read_to_end(settings, target):
            note(_place(message.headers, SRC_TOPIC, SRC_PARTITION, SRC_OFFSET))
            read += 1
            if read % ALIVE_EVERY == 0:
                alive()
    for message in read_to_end(settings, settings.topic(settings.deadletter_topic)):
        by = dict(message.headers or []).get("dlq_component")
        if by == component.encode():
            note(_place(message.headers, "dlq_topic", "dlq_partition", "dlq_offset"))
    return last


def seed_group(
    settings: BusSettings, group_id: str, sources: list[str], find: Callable[[], dict[tuple[str, int], int]]
) -> dict[tuple[str, int], int]:
    """For a group with no committed offset on ``sources`` (a first deploy), commit, per source
    partition, the offset after the last record already handled (``find``); returns what it committed.

    Done before the group's consumer joins: an empty group accepts commits from a client outside it. Every
    call to the group is bounded (``KafkaTimeoutError`` past the request timeout): kafka-python's default
    is to wait for good on a coordinator it cannot reach, which left an intake polling nothing, silently.
    """
    bound = settings.request_timeout_ms
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    try:
        tps = [TopicPartition(t, p) for t in sources for p in sorted(consumer.partitions_for_topic(t) or [])]
        if not tps or any(consumer.committed(tp, timeout_ms=bound) is not None for tp in tps):
            return {}
        last = find()
        start = {
            (tp.topic, tp.partition): last[(tp.topic, tp.partition)] + 1
            for tp in tps
            if (tp.topic, tp.partition) in last
        }
        if start:
            consumer.commit(
                {
                    TopicPartition(*place): OffsetAndMetadata(offset, "", -1)
                    for place, offset in start.items()
                },
                timeout_ms=bound,
            )
            log.info("intake_resumed_from_output", group=group_id, partitions=len(start))
        return start
    finally:
        consumer.close()
