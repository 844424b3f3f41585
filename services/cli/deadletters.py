"""Dead letters: list them, and re-publish one to its original topic once what was wrong is fixed.

A replay keeps the original key and event id, so a consumer that did accept the event before (a
processor-level refusal) deduplicates it instead of applying it twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kafka import KafkaProducer

from services.bus.consumer import raw_from_kafka
from services.bus.deadletter import DeadLetter
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.envelope import Envelope
from services.bus.errors import BusError, InvalidEnvelope
from services.bus.metrics import DEADLETTERS_REPLAYED
from services.bus.publisher import EventMeta, Published, Publisher, producer_config
from services.bus.reading import read_one, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.jsoninput import parse_documents, to_event


def read_deadletters(settings: BusSettings, *, limit: int) -> Iterator[DeadLetter]:
    """The first ``limit`` dead letters, per partition in offset order."""
    for seen, message in enumerate(read_to_end(settings, settings.topic(settings.deadletter_topic))):
        if seen >= limit:
            return
        yield DeadLetter.from_raw(raw_from_kafka(message))


def list_deadletters(settings: BusSettings, *, limit: int) -> Iterator[str]:
    """One line per dead letter: where it is, why, where from and who refused it (no values)."""
    for d in read_deadletters(settings, limit=limit):
        origin = f"{d.topic}[{d.original_partition}]@{d.original_offset}"
        yield f"{d.partition}@{d.offset}  {d.reason:<16} from {origin}  by {d.component}: {d.detail}"


def fetch_deadletter(settings: BusSettings, *, partition: int, offset: int) -> DeadLetter:
    topic = settings.topic(settings.deadletter_topic)
    message = read_one(settings, topic, partition, offset)
    if message is None:
        raise InvalidEnvelope(f"no dead letter at {topic}[{partition}]@{offset}")
    return DeadLetter.from_raw(raw_from_kafka(message))


def replay_deadletter(
    settings: BusSettings, *, partition: int, offset: int, fixed: Path | None = None
) -> Published:
    """Re-publish a dead letter; without a fix it must now pass the checks it failed."""
    letter = fetch_deadletter(settings, partition=partition, offset=offset)
    original = Envelope.from_headers(letter.original_headers) if fixed is not None else None
    if fixed is not None and original is not None:
        docs = parse_documents(fixed.read_text(encoding="utf-8"))
        event = to_event(docs[0], type_=original.type, source=original.source)
        meta = EventMeta(
            source=event.meta.source,
            time=original.time,
            event_id=original.id,
            traceparent=original.traceparent,
        )
        with Publisher(settings) as publisher:
            result = publisher.publish(event.payload, meta)
        DEADLETTERS_REPLAYED.labels(result.topic).inc()
        return result
    raw = RawRecord(
        letter.topic,
        letter.original_partition,
        letter.original_offset,
        0,
        letter.key,
        letter.value,
        letter.original_headers,
    )
    EventDecoder(settings, load_registry(settings.schemas_dir)).decode(raw)  # raises if still refused
    producer = KafkaProducer(**producer_config(settings))
    try:
        meta_ = producer.send(
            letter.topic, letter.value, key=letter.key, headers=letter.original_headers
        ).get(30)
    finally:
        producer.close()
    DEADLETTERS_REPLAYED.labels(letter.topic).inc()
    return Published(raw.header("ce_id") or "", meta_.topic, meta_.partition, meta_.offset)


__all__ = ["BusError", "list_deadletters", "read_deadletters", "replay_deadletter"]
