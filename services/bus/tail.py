"""``bus tail``: a topic as decoded JSON lines, read without a consumer group (it commits nothing)."""

from __future__ import annotations

import time

import typer
from kafka import KafkaConsumer, TopicPartition

from services.bus.consumer import raw_from_kafka
from services.bus.contracts import load_registry
from services.bus.decoder import EventDecoder
from services.bus.errors import BusError
from services.bus.jsonview import dumps, event_to_json, raw_to_json
from services.bus.settings import BusSettings


def assigned_consumer(settings: BusSettings, topic: str, *, from_beginning: bool) -> KafkaConsumer:
    """A group-less consumer on every partition of ``topic``, at the start or the end."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        consumer.close()
        raise typer.BadParameter(f"topic {topic} does not exist")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    if from_beginning:
        consumer.seek_to_beginning(*tps)
    else:
        consumer.seek_to_end(*tps)
    return consumer


def tail_topic(
    settings: BusSettings, topic: str, *, from_beginning: bool, limit: int, idle: float, show_personal: bool
) -> None:
    decoder = EventDecoder(settings, load_registry(settings.schemas_dir))
    consumer = assigned_consumer(settings, settings.topic(topic), from_beginning=from_beginning)
    shown, last = 0, time.monotonic()
    try:
        while not limit or shown < limit:
            batches = consumer.poll(timeout_ms=500)
            if not batches and idle and time.monotonic() - last > idle:
                return
            for messages in batches.values():
                for message in messages:
                    raw = raw_from_kafka(message)
                    try:
                        line = event_to_json(decoder.decode(raw), raw, show_personal=show_personal)
                    except BusError as exc:
                        line = {**raw_to_json(raw), "error": f"{exc.reason}: {exc.message}"}
                        if not show_personal:
                            line.pop("value_base64")
                    typer.echo(dumps(line))
                    shown += 1
                    last = time.monotonic()
                    if limit and shown >= limit:
                        return
    except KeyboardInterrupt:
        return
    finally:
        consumer.close()
