"""Publishing SDK: pydantic model -> Avro single-object bytes -> CloudEvents headers -> Kafka, acks=all.

Nothing is sent unless it validates; ``publish`` returns only once the broker has acknowledged the record
on all in-sync replicas, and the idempotent producer makes its own retries safe.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from kafka import KafkaProducer
from kafka.errors import KafkaError

from services.bus.codec import AvroCodec
from services.bus.envelope import Envelope, Headers, is_traceparent, is_uuid, require_utc
from services.bus.errors import InvalidEnvelope, PublishError
from services.bus.events import check_event
from services.bus.keys import KEYID_HEADER, key_for
from services.bus.logs import get_logger
from services.bus.metrics import EVENTS_PUBLISHED, PUBLISH_FAILURES, PUBLISH_SECONDS
from services.bus.partitioner import KeyPartitioner
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings
from services.contracts.base import EventModel

log = get_logger("publisher")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, back on after it unless it was off before."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def producer_config(settings: BusSettings) -> dict[str, Any]:
    """The one producer configuration the bus uses: durable, ordered, idempotent."""
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "acks": "all",
        "enable_idempotence": True,  # explicit: kafka-python drops it silently when settings conflict
        "retries": 2**31 - 1,
        "max_in_flight_requests_per_connection": 5,
        "linger_ms": settings.linger_ms,
        "batch_size": settings.batch_size,
        "request_timeout_ms": settings.request_timeout_ms,
        "partitioner": KeyPartitioner(),  # Kafka's default partitioner, each key hashed once
    }


@dataclass(frozen=True)
class Outgoing:
    """A record ready to send: exactly what goes on the wire."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers
    envelope: Envelope


@dataclass(frozen=True)
class Published:
    """Where the broker stored an event."""

    event_id: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class EventMeta:
    """Envelope attributes a caller may set; everything else is derived."""

    source: str
    time: datetime | None = None
    event_id: str | None = None
    traceparent: str | None = None

    def check(self) -> None:
        """InvalidEnvelope for an id that is not a UUID, a trace context that is not W3C, or a time that is
        not in UTC (a naive one would take the publishing machine's zone).
        """
        if self.event_id is not None and not is_uuid(self.event_id):
            raise InvalidEnvelope("event id is not a UUID (the 36-character form)")
        if self.traceparent is not None and not is_traceparent(self.traceparent):
            raise InvalidEnvelope("traceparent is not W3C trace context")
        if self.time is not None:
            require_utc(self.time)


class Publisher:
    """Validates, encodes and sends events; one instance per process is enough (it is thread-safe)."""

    def __init__(self, settings: BusSettings | None = None, *, producer: KafkaProducer | None = None) -> None:
        self.settings = settings or get_settings()
        self.codec = AvroCodec(load_registry(self.settings.schemas_dir))
        self._secret = self.settings.citizen_key.get_secret_value().encode()
        # Read once, like the secret: what every event would otherwise derive again.
        self._skew = self.settings.max_future_skew
        self._citizen_extensions = {KEYID_HEADER: self.settings.citizen_key_id}
        self._no_extensions: dict[str, str] = {}
        self._topics: dict[str, str] = {}
        self.producer = producer or KafkaProducer(**producer_config(self.settings))

    def prepare(self, payload: EventModel, meta: EventMeta) -> Outgoing:
        """Validate and encode without sending (raises a BusError subclass naming no personal data).

        Refuses what every consumer would refuse, so nothing is published only to be dead-lettered, and a
        time not given in UTC (``EventMeta.check``).
        """
        try:
            meta.check()
            contract = self.codec.registry.latest(payload.SCHEMA)
            key = key_for(payload, self._secret)
            citizen = payload.TOPIC == "citizen"
            envelope = Envelope.new(
                source=meta.source,
                type=payload.SCHEMA,
                dataschema=contract.dataschema,
                time=meta.time,
                subject=key,
                traceparent=meta.traceparent,
                event_id=meta.event_id,
                extensions=self._citizen_extensions if citizen else self._no_extensions,
            )
            check_event(envelope, payload, skew=self._skew)
            value = self.codec.encode_model(payload)
        except Exception as exc:
            PUBLISH_FAILURES.labels(payload.SCHEMA, getattr(exc, "reason", type(exc).__name__)).inc()
            raise
        return Outgoing(self._topic(payload.TOPIC), key.encode(), value, envelope.to_headers(), envelope)

    def _topic(self, name: str) -> str:
        """``settings.topic(name)``, kept per name."""
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = self.settings.topic(name)
        return topic

    def send_prepared(self, batch: Sequence[Outgoing], timeout: float = 60.0) -> list[Published]:
        """Send all, flush once, then collect every acknowledgement (PublishError on the first miss)."""
        started = time.perf_counter()
        send = self.producer.send
        futures = [send(o.topic, o.value, key=o.key, headers=o.headers) for o in batch]
        self.producer.flush(timeout)
        results: list[Published] = []
        # Acknowledged events counted per (type, source) and added to the counter once per pair, also when
        # a later event fails: a labelled increment per event cost ~2 us, as much as the event's HMAC.
        acknowledged: dict[tuple[str, str], int] = {}
        try:
            for outgoing, future in zip(batch, futures, strict=True):
                envelope = outgoing.envelope
                try:
                    # after the flush, nearly every future is done: its value without get()'s timer
                    meta = future.value if future.succeeded() else future.get(timeout)
                except KafkaError as exc:
                    PUBLISH_FAILURES.labels(envelope.type, type(exc).__name__).inc()
                    log.exception("publish_failed", event_id=envelope.id, error=type(exc).__name__)
                    raise PublishError(f"event {envelope.id} was not acknowledged: {exc}") from exc
                labels = (envelope.type, envelope.source)
                acknowledged[labels] = acknowledged.get(labels, 0) + 1
                results.append(Published(envelope.id, meta.topic, meta.partition, meta.offset))
        finally:
            for (event_type, source), count in acknowledged.items():
                EVENTS_PUBLISHED.labels(event_type, source).inc(count)
        PUBLISH_SECONDS.observe(time.perf_counter() - started)
        return results

    def publish(self, payload: EventModel, meta: EventMeta) -> Published:
        """Validate, encode, send and wait for the acknowledgement of one event."""
        outgoing = self.prepare(payload, meta)
        published = self.send_prepared([outgoing])[0]
        log.info(
            "published",
            event_id=published.event_id,
            type=outgoing.envelope.type,
            topic=published.topic,
            partition=published.partition,
            offset=published.offset,
            trace_id=outgoing.envelope.trace_id,
        )
        return published

    def publish_many(self, items: Iterable[tuple[EventModel, EventMeta]]) -> list[Published]:
        """Validate everything first (nothing is sent if one event is bad), then send as one batch.

        The cyclic garbage collector is paused for the batch, as ``TrafficSimulator.next_batch`` pauses it:
        every record prepared stays alive until acknowledged, so the collector's passes find nothing to
        free, yet each full pass walks the whole process heap (an event batch of 20,000 triggered two,
        ~0.3 s each beside the benchmark's 300,000 live objects, a third of the SDK's time). Reference
        counting frees everything else as usual; cycles wait until the batch is acknowledged.
        """
        with _collector_paused():
            return self.send_prepared([self.prepare(payload, meta) for payload, meta in items])

    def close(self, timeout: float = 10.0) -> None:
        """Flush and close the producer; pending sends are waited for up to ``timeout``."""
        self.producer.close(timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
