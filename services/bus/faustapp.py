"""What every faust processor shares: the App configuration and the way raw records enter a processor.

Processors read domain topics as raw bytes and decode them with the same ``EventDecoder`` the kafka-python
consumer uses; whatever it refuses goes to ``bus.deadletter`` (acknowledged before the offset moves on).
At-least-once processing: every update is made idempotent by event id in the pure fold, not by faust.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust

from services.bus.contracts import load_registry
from services.bus.deadletter import deadletter_headers
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError
from services.bus.events import BusEvent
from services.bus.logs import get_logger
from services.bus.metrics import EVENTS_CONSUMED, EVENTS_DEADLETTERED
from services.bus.settings import BusSettings

log = get_logger("processor")


def broker_urls(settings: BusSettings) -> list[str]:
    return [f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")]


def make_app(
    name: str, settings: BusSettings, *, datadir: Path, web_port: int, store: str = "rocksdb://"
) -> faust.App:
    """One faust App per service, so registry, protection and passport scale and fail independently."""
    return faust.App(
        f"{settings.topic_prefix}{settings.client_id}-{name}",
        broker=broker_urls(settings),
        store=store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=0.5,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=web_port > 0,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        table_standby_replicas=0,
        table_cleanup_interval=3600.0,
        loghandlers=[],
    )


def raw_from_faust(message: Any) -> RawRecord:
    """Adapt faust's Message (timestamp in seconds) to the RawRecord every decoder takes."""
    headers = message.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp=int(message.timestamp * 1000),
        key=message.key,
        value=message.value,
        headers=[(k, v) for k, v in headers],
    )


class Intake:
    """Decodes what a processor reads; refused records are dead-lettered and counted, never dropped."""

    def __init__(self, app: faust.App, settings: BusSettings, component: str) -> None:
        self.decoder = EventDecoder(settings, load_registry(settings.schemas_dir))
        self.deadletter = app.topic(
            settings.topic(settings.deadletter_topic), key_serializer="raw", value_serializer="raw"
        )
        self.component = component

    async def accept(self, message: Any) -> BusEvent | None:
        raw = raw_from_faust(message)
        try:
            event = self.decoder.decode(raw)
        except BusError as exc:
            await self.refuse(raw, exc)
            return None
        EVENTS_CONSUMED.labels(raw.topic, event.type).inc()
        return event

    async def refuse(self, raw: RawRecord, error: BusError) -> None:
        """Send to bus.deadletter and wait for the broker's acknowledgement."""
        fut = await self.deadletter.send(
            key=raw.key, value=raw.value, headers=deadletter_headers(raw, error, self.component)
        )
        await fut
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
