"""Consumer helper on kafka-python: decodes, dead-letters what it cannot accept, commits what was handled.

Auto-commit is off: offsets move only after ``commit()``, which the caller invokes once it has applied the
events it was given (at-least-once). Refused records are acknowledged by ``bus.deadletter`` before the
offset passes them, so nothing is dropped in silence.

No record stops a consumer: what the decoder refuses is dead-lettered with its reason, and a record that
kafka-python itself cannot parse (``CorruptRecordError``, e.g. a header key that is not UTF-8) is skipped
past and dead-lettered by its topic, partition and offset (its bytes never reach us).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Self

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CorruptRecordError

from services.bus.deadletter import DeadLetterWriter
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError, CorruptRecord
from services.bus.events import BusEvent, ViewEvent
from services.bus.logs import get_logger
from services.bus.metrics import EVENTS_CONSUMED
from services.bus.publisher import producer_config
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings

log = get_logger("consumer")


def raw_from_kafka(message: Any) -> RawRecord:
    """Adapt kafka-python's ConsumerRecord; a null header value becomes empty bytes, as the header's
    type says and every consumer treats it (a dead letter or a replay can then carry it).
    """
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp=message.timestamp,
        key=message.key,
        value=message.value,
        headers=[(k, b"" if v is None else v) for k, v in message.headers or []],
    )


@dataclass(frozen=True)
class Unreadable:
    """A record the client library could not parse: where it was (no bytes: none reached us) and why."""

    raw: RawRecord
    error: CorruptRecord


def poll_raw(
    consumer: KafkaConsumer, *, timeout_ms: int, max_records: int | None = None
) -> list[RawRecord | Unreadable]:
    """One poll as RawRecords, in partition order; a record kafka-python cannot parse is skipped past (the
    consumer is moved to the next offset) and comes back as Unreadable in its place.
    """
    try:
        batches = consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
    except CorruptRecordError as exc:
        return [skip_unreadable(consumer, exc)]
    return [raw_from_kafka(message) for messages in batches.values() for message in messages]


def skip_unreadable(consumer: KafkaConsumer, exc: CorruptRecordError) -> Unreadable:
    """Move past the record that ``exc`` was raised for, and say where it was.

    kafka-python 3.0 does not name the partition in the error, and retrying would raise again forever
    (or spin: its fetcher keeps the failed records in line until the position moves). Its position for
    that partition is the unreadable record's offset: records before it were handed out, and the error
    comes from the first record it could not parse. Records after it in the same producer batch cannot be
    parsed either, so each gets its own dead letter as the consumer steps over them.
    """
    tp = _failed_partition(consumer)
    if tp is None:
        raise exc  # nowhere to skip to: stopping loudly beats skipping the wrong record
    offset = int(consumer.position(tp))
    consumer.seek(tp, offset + 1)
    why = "a header key is not UTF-8" if "UnicodeDecodeError" in str(exc) else "the record batch is corrupt"
    log.error("unreadable_record", topic=tp.topic, partition=tp.partition, offset=offset, detail=why)
    return Unreadable(
        RawRecord(tp.topic, tp.partition, offset, -1, None, None, []),
        CorruptRecord(f"the Kafka client cannot read this record: {why}"),
    )


def _failed_partition(consumer: KafkaConsumer) -> TopicPartition | None:
    """The partition kafka-python failed to parse: the one its fetcher still holds in line."""
    fetcher = getattr(consumer, "_fetcher", None)
    in_line = getattr(fetcher, "_next_partition_records", None)
    tp = getattr(in_line, "topic_partition", None)
    assigned = consumer.assignment()
    if isinstance(tp, TopicPartition) and tp in assigned:
        return tp
    return next(iter(assigned)) if len(assigned) == 1 else None


def sort_polled(
    decoder: EventDecoder, polled: Sequence[RawRecord | Unreadable], views: Collection[str] = ()
) -> tuple[list[tuple[RawRecord, BusEvent | ViewEvent]], list[tuple[RawRecord, BusError]]]:
    """Accepted events (or views, for records of the full topic names in ``views``) with their records,
    and refused records with their reasons, each in poll order.
    """
    accepted: list[tuple[RawRecord, BusEvent | ViewEvent]] = []
    refused: list[tuple[RawRecord, BusError]] = []
    for item in polled:
        if isinstance(item, Unreadable):
            refused.append((item.raw, item.error))
            continue
        try:
            event = decoder.decode_view(item) if item.topic in views else decoder.decode(item)
        except BusError as exc:
            refused.append((item, exc))
            continue
        EVENTS_CONSUMED.labels(item.topic, event.type).inc()
        accepted.append((item, event))
    return accepted, refused


class BusConsumer:
    """Reads domain topics as validated BusEvents; one consumer group per component."""

    def __init__(
        self,
        topics: Sequence[str],
        *,
        group_id: str,
        component: str,
        settings: BusSettings | None = None,
        auto_offset_reset: str = "earliest",
        views: Sequence[str] = (),
        **consumer_options: Any,
    ) -> None:
        self.settings = settings or get_settings()
        self.decoder = EventDecoder(self.settings, load_registry(self.settings.schemas_dir))
        self.views = frozenset(self.settings.topic(t) for t in views)
        """Full names of the view topics also read: their records are ``ViewEvent`` s."""
        self.consumer = KafkaConsumer(
            *[self.settings.topic(t) for t in (*topics, *views)],
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=group_id,
            client_id=f"{self.settings.client_id}-{component}",
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            **consumer_options,
        )
        self._producer = KafkaProducer(**producer_config(self.settings))
        self.deadletters = DeadLetterWriter(self.settings, self._producer, component)

    def accept(self, raw: RawRecord) -> BusEvent | ViewEvent | None:
        """Decode one record; a refused one goes to the dead-letter topic and None comes back."""
        accepted, refused = sort_polled(self.decoder, [raw], self.views)
        self.deadletters.send_many(refused)
        return accepted[0][1] if accepted else None

    def poll_records(
        self, timeout_ms: int = 1000, max_records: int | None = None
    ) -> list[tuple[RawRecord, BusEvent | ViewEvent]]:
        """One poll: each accepted event (or view) with the record it came from, in partition order
        (refused ones already dead-lettered), so a caller can still refuse one it fails to handle.
        """
        polled = poll_raw(self.consumer, timeout_ms=timeout_ms, max_records=max_records)
        accepted, refused = sort_polled(self.decoder, polled, self.views)
        self.deadletters.send_many(refused)
        return accepted

    def poll(self, timeout_ms: int = 1000, max_records: int | None = None) -> list[BusEvent]:
        """One poll: the accepted events, in partition order (refused ones already dead-lettered)."""
        return [e for _, e in self.poll_records(timeout_ms, max_records) if isinstance(e, BusEvent)]

    def refuse(self, raw: RawRecord, error: BusError) -> None:
        """Dead-letter a record after all (acknowledged before this returns)."""
        self.deadletters.send(raw, error)

    def __iter__(self) -> Iterator[BusEvent]:
        """Events forever, committing after each poll's events have been yielded."""
        while True:
            yield from self.poll()
            self.commit()

    def commit(self) -> None:
        """Commit the offsets polled so far; call it once their events are applied. Bounded by the request
        timeout (kafka-python 3.0's default too, said here so it stays so): past it, a ``KafkaTimeoutError``
        the caller can act on (the intake starts over with a new client).
        """
        self.consumer.commit(timeout_ms=self.settings.request_timeout_ms)

    def close(self) -> None:
        """Close the consumer and the producer that sends dead letters."""
        self.consumer.close()
        self._producer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
