"""Dead letters: list them, and re-publish one to its original topic once what was wrong is fixed.

A replay keeps the original key and event id, so a consumer that did accept the event before (a
processor-level refusal) deduplicates it instead of applying it twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kafka import KafkaProducer

from services.bus.codec import AvroCodec
from services.bus.consumer import raw_from_kafka
from services.bus.deadletter import DeadLetter
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.envelope import is_traceparent, is_uuid, parse_time, single_headers
from services.bus.errors import BusError, InvalidEnvelope, MalformedPayload
from services.bus.events import build_payload
from services.bus.metrics import DEADLETTERS_REPLAYED
from services.bus.publisher import EventMeta, Published, Publisher, producer_config
from services.bus.reading import read_one, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.jsoninput import JsonEvent, parse_documents, to_event
from services.contracts import EVENT_MODELS, EventModel


def read_deadletters(settings: BusSettings, *, limit: int) -> Iterator[DeadLetter]:
    """The first ``limit`` dead letters, per partition in offset order."""
    for seen, message in enumerate(read_to_end(settings, settings.topic(settings.deadletter_topic))):
        if seen >= limit:
            return
        yield DeadLetter.from_raw(raw_from_kafka(message))


def deadletter_line(d: DeadLetter) -> str:
    """One dead letter as ``bus deadletter list`` prints it (the README documents this exact form):
    ``<partition>@<offset>  <reason> from <topic>[<partition>]@<offset>  by <component>: <detail>``, then
    ``  (truncated: <what> of <length> bytes)`` for a cut one. The reason is padded to 19 characters (the
    longest code), so the columns line up; no value of the record is shown.
    """
    origin = f"{d.topic}[{d.original_partition}]@{d.original_offset}"
    cut = f"  (truncated: {d.truncated} of {d.original_length} bytes)" if d.truncated else ""
    return f"{d.partition}@{d.offset}  {d.reason:<19} from {origin}  by {d.component}: {d.detail}{cut}"


def list_deadletters(settings: BusSettings, *, limit: int) -> Iterator[str]:
    """One line per dead letter: where it is, why, where from and who refused it (no values)."""
    for d in read_deadletters(settings, limit=limit):
        yield deadletter_line(d)


def fetch_deadletter(settings: BusSettings, *, partition: int, offset: int) -> DeadLetter:
    """The dead letter at ``partition``@``offset`` of the dead-letter topic; InvalidEnvelope if none."""
    topic = settings.topic(settings.deadletter_topic)
    message = read_one(settings, topic, partition, offset)
    if message is None:
        raise InvalidEnvelope(f"no dead letter at {topic}[{partition}]@{offset}")
    return DeadLetter.from_raw(raw_from_kafka(message))


@dataclass(frozen=True)
class Salvaged:
    """What still parses of a refused record's envelope: each attribute on its own, None if it does not."""

    id: str | None
    source: str | None
    type: str | None
    time: datetime | None
    traceparent: str | None

    @classmethod
    def of(cls, letter: DeadLetter) -> Salvaged:
        """Each attribute of the original envelope that appears once and is well-formed."""
        values = single_headers(letter.original_headers)
        event_id, type_, trace = values.get("ce_id"), values.get("ce_type"), values.get("ce_traceparent")
        try:
            time = parse_time(values["ce_time"]) if "ce_time" in values else None
        except InvalidEnvelope:
            time = None
        return cls(
            id=event_id if is_uuid(event_id) else None,
            source=values.get("ce_source") or None,
            type=type_ if type_ in EVENT_MODELS else None,
            time=time,
            traceparent=trace if is_traceparent(trace) else None,
        )


def replay_deadletter(
    settings: BusSettings, *, partition: int, offset: int, fixed: Path | None = None
) -> Published:
    """Re-publish a dead letter; without a fix it must now pass the checks it failed."""
    letter = fetch_deadletter(settings, partition=partition, offset=offset)
    if fixed is None:
        return _replay_as_it_was(settings, letter)
    return _replay_fixed(settings, letter, fixed.read_text(encoding="utf-8"))


def _replay_fixed(settings: BusSettings, letter: DeadLetter, text: str) -> Published:
    """Publish the fix: its ``data``, a full event document, or ``{}`` (the original payload unchanged),
    with the original envelope filling in what the fix does not say, where that still parses: id, source,
    type, time and trace context. Key, ``bus_keyid`` and ``ce_dataschema`` are derived from the payload, so
    ``{}`` repairs a record refused only for them (KEY_MISMATCH, UNKNOWN_KEY_ID, MISSING_KEY_ID,
    DATASCHEMA_MISMATCH).
    """
    docs = parse_documents(text)
    if len(docs) != 1:
        raise MalformedPayload("a fix is one event: its data, a full event document, or {}")
    original = Salvaged.of(letter)
    if docs[0]:
        event = to_event(docs[0], type_=original.type, source=original.source)
    elif original.source is None:
        raise InvalidEnvelope('the original ce_source does not parse: give a full event with "source"')
    else:
        event = JsonEvent(original_payload(settings, letter), EventMeta(source=original.source))
    time = event.meta.time or original.time
    if time is None:
        raise InvalidEnvelope('the original ce_time does not parse: give "time" in the fixed event')
    meta = EventMeta(
        source=event.meta.source,
        time=time,
        event_id=event.meta.event_id or original.id,
        traceparent=event.meta.traceparent or original.traceparent,
    )
    with Publisher(settings) as publisher:
        result = publisher.publish(event.payload, meta)
    DEADLETTERS_REPLAYED.labels(result.topic).inc()
    return result


def original_payload(settings: BusSettings, letter: DeadLetter) -> EventModel:
    """The refused record's payload as it was (the fix ``{}``): for a record refused only for its key or
    its ``ce_dataschema``, which re-publishing derives from the payload anyway.
    """
    if letter.truncated or not letter.value:
        raise MalformedPayload("the dead letter does not keep the whole payload: give its data as the fix")
    decoded = AvroCodec(load_registry(settings.schemas_dir)).decode(letter.value)
    return build_payload(decoded.reader.fullname, decoded.record)


def _replay_as_it_was(settings: BusSettings, letter: DeadLetter) -> Published:
    """Send the original bytes and headers back, only if they now pass every consumer's checks."""
    if letter.truncated:
        raise MalformedPayload(
            f"the dead letter keeps only part of the record ({letter.truncated} cut): replay it --fixed"
        )
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


__all__ = ["BusError", "deadletter_line", "list_deadletters", "read_deadletters", "replay_deadletter"]
