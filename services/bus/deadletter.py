"""The dead-letter topic: what a component refused, with the reason, the original bytes and where it was.

Value = the original bytes, key = the original key, the original headers are kept and ``dlq_*`` headers
are added; so a dead letter can be re-published to its topic once whatever was wrong is fixed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaProducer

from services.bus.decoder import RawRecord
from services.bus.envelope import Headers
from services.bus.errors import BusError
from services.bus.logs import get_logger
from services.bus.metrics import EVENTS_DEADLETTERED
from services.bus.settings import BusSettings

log = get_logger("deadletter")
DLQ_PREFIX = "dlq_"


def deadletter_headers(raw: RawRecord, error: BusError, component: str) -> Headers:
    """The original headers plus where the record was and why it was refused."""
    kept = [(k, v) for k, v in raw.headers if not k.startswith(DLQ_PREFIX)]
    return [
        *kept,
        ("dlq_topic", raw.topic.encode()),
        ("dlq_partition", str(raw.partition).encode()),
        ("dlq_offset", str(raw.offset).encode()),
        ("dlq_timestamp", str(raw.timestamp).encode()),
        ("dlq_reason", error.reason.encode()),
        ("dlq_detail", error.message[:500].encode()),
        ("dlq_component", component.encode()),
        ("dlq_refused_at", str(int(time.time() * 1000)).encode()),
    ]


@dataclass(frozen=True)
class DeadLetter:
    """A record read back from the dead-letter topic."""

    offset: int
    partition: int
    topic: str
    original_partition: int
    original_offset: int
    reason: str
    detail: str
    component: str
    key: bytes | None
    value: bytes | None
    original_headers: Headers

    @classmethod
    def from_raw(cls, raw: RawRecord) -> DeadLetter:
        """Read a dead letter's ``dlq_*`` headers; the original headers are kept without them."""
        return cls(
            offset=raw.offset,
            partition=raw.partition,
            topic=raw.header("dlq_topic") or "",
            original_partition=int(raw.header("dlq_partition") or -1),
            original_offset=int(raw.header("dlq_offset") or -1),
            reason=raw.header("dlq_reason") or "",
            detail=raw.header("dlq_detail") or "",
            component=raw.header("dlq_component") or "",
            key=raw.key,
            value=raw.value,
            original_headers=[(k, v) for k, v in raw.headers if not k.startswith(DLQ_PREFIX)],
        )


class DeadLetterWriter:
    """Sends refused records to ``bus.deadletter`` and waits for the acknowledgement before returning."""

    def __init__(self, settings: BusSettings, producer: KafkaProducer, component: str) -> None:
        self.topic = settings.topic(settings.deadletter_topic)
        self.producer = producer
        self.component = component
        self.sent = 0
        """Dead letters acknowledged so far (what a processor reports as refused)."""

    def send(self, raw: RawRecord, error: BusError, timeout: float = 30.0) -> None:
        """Dead-letter one record, waiting up to ``timeout`` for the acknowledgement; logs ids only."""
        headers = deadletter_headers(raw, error, self.component)
        self.producer.send(self.topic, raw.value, key=raw.key, headers=headers).get(timeout)
        self.sent += 1
        EVENTS_DEADLETTERED.labels(raw.topic, error.reason, self.component).inc()
        log.warning(
            "deadlettered",
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            reason=error.reason,
            detail=error.message,
            event_id=raw.header("ce_id"),
        )
