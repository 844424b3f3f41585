"""Consumer helper on kafka-python: decodes, dead-letters what it cannot accept, commits what was handled.

Auto-commit is off: offsets move only after ``commit()``, which the caller invokes once it has applied the
events it was given (at-least-once). Refused records are acknowledged by ``bus.deadletter`` before the
offset passes them, so nothing is dropped in silence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Self

from kafka import KafkaConsumer, KafkaProducer

from services.bus.deadletter import DeadLetterWriter
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError
from services.bus.events import BusEvent
from services.bus.logs import get_logger
from services.bus.metrics import EVENTS_CONSUMED
from services.bus.publisher import producer_config
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings

log = get_logger("consumer")


def raw_from_kafka(message: Any) -> RawRecord:
    """Adapt kafka-python's ConsumerRecord."""
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp=message.timestamp,
        key=message.key,
        value=message.value,
        headers=list(message.headers or []),
    )


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
        **consumer_options: Any,
    ) -> None:
        self.settings = settings or get_settings()
        self.decoder = EventDecoder(self.settings, load_registry(self.settings.schemas_dir))
        self.consumer = KafkaConsumer(
            *[self.settings.topic(t) for t in topics],
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=group_id,
            client_id=f"{self.settings.client_id}-{component}",
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            **consumer_options,
        )
        self._producer = KafkaProducer(**producer_config(self.settings))
        self.deadletters = DeadLetterWriter(self.settings, self._producer, component)

    def accept(self, raw: RawRecord) -> BusEvent | None:
        """Decode one record; a refused one goes to the dead-letter topic and None comes back."""
        try:
            event = self.decoder.decode(raw)
        except BusError as exc:
            self.deadletters.send(raw, exc)
            return None
        EVENTS_CONSUMED.labels(raw.topic, event.type).inc()
        return event

    def poll_records(
        self, timeout_ms: int = 1000, max_records: int | None = None
    ) -> list[tuple[RawRecord, BusEvent]]:
        """One poll: each accepted event with the record it came from, in partition order (refused ones
        already dead-lettered), so a caller can still refuse an event it fails to handle.
        """
        batches = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        accepted: list[tuple[RawRecord, BusEvent]] = []
        for messages in batches.values():
            for message in messages:
                raw = raw_from_kafka(message)
                event = self.accept(raw)
                if event is not None:
                    accepted.append((raw, event))
        return accepted

    def poll(self, timeout_ms: int = 1000, max_records: int | None = None) -> list[BusEvent]:
        """One poll: the accepted events, in partition order (refused ones already dead-lettered)."""
        return [event for _, event in self.poll_records(timeout_ms, max_records)]

    def refuse(self, raw: RawRecord, error: BusError) -> None:
        """Dead-letter a record after all (acknowledged before this returns)."""
        self.deadletters.send(raw, error)

    def __iter__(self) -> Iterator[BusEvent]:
        """Events forever, committing after each poll's events have been yielded."""
        while True:
            yield from self.poll()
            self.commit()

    def commit(self) -> None:
        """Commit the offsets polled so far; call it once their events are applied."""
        self.consumer.commit()

    def close(self) -> None:
        """Close the consumer and the producer that sends dead letters."""
        self.consumer.close()
        self._producer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
