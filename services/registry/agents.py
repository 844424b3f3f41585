"""The registry's faust agents: ``intake`` (decode, observe, forward), ``core`` (resolve, fold, publish)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.bus.envelope import Envelope
from services.bus.faustapp import Intake
from services.bus.logs import get_logger
from services.registry.app import DECISIONS, OBSERVATIONS, RegistryService
from services.registry.counting import recount
from services.registry.decisions import Decision
from services.registry.facts import Observation
from services.registry.observation import observe
from services.registry.resolution import Resolution
from services.registry.store import decode_item, encode_item
from services.registry.views import citizen_record_view, count_view, decision_from_event

log = get_logger("registry")
DOMAIN_TOPICS = ("citizen", "passport", "protection")


def register(service: RegistryService) -> None:
    app, settings, config = service.app, service.settings, service.config
    intake = Intake(app, settings, component="registry-intake")
    sources = app.topic(
        *[settings.topic(t) for t in (*DOMAIN_TOPICS, DECISIONS)],
        key_serializer="raw",
        value_serializer="raw",
    )
    observations = service.topics[OBSERVATIONS]

    async def intake_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            for event in events:
                accepted = await intake.accept(event.message)
                if accepted is None:
                    continue
                item: Observation | Decision | None
                if accepted.payload.TOPIC == DECISIONS:
                    item = decision_from_event(accepted.payload)
                else:
                    item = observe(accepted, hasher=service.hasher)
                if item is not None:
                    await observations.send(key=accepted.id.encode(), value=encode_item(item))
            yield None

    async def core_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            if not service.index_ready:
                await restore_index(service, events[0].message.offset)
            touched: set[str] = set()
            moved: dict[str, str] = {}
            for event in events:
                item = decode_item(event.message.value)
                if isinstance(item, Observation):
                    resolution = service.model.apply_observation(item)
                    service.stats["observations"] += 1
                else:
                    resolution = service.model.apply_decision(item)
                note_changes(resolution, touched, moved)
            await publish_changes(service, touched, moved)
            service.stats["next_offset"] = events[-1].message.offset + 1
            yield None

    app.agent(sources, name="registry-intake")(intake_agent)
    app.agent(observations, name="registry-core")(core_agent)


def note_changes(resolution: Resolution, touched: set[str], moved: dict[str, str]) -> None:
    """Collect the citizen ids whose published record must change after one resolution."""
    if resolution.duplicate:
        return
    if resolution.citizen_id is not None:
        touched.add(resolution.citizen_id)
    for rename in resolution.renames:
        moved[rename.old] = rename.new
        touched.add(rename.new)
    for merge in resolution.merges:
        moved[merge.absorbed] = merge.surviving
        touched.add(merge.surviving)
    for split in resolution.splits:
        touched.update((split.from_citizen, split.to_citizen))


async def publish_changes(service: RegistryService, touched: set[str], moved: dict[str, str]) -> None:
    """Send the new state of every touched citizen and the figures that changed; wait for the acks."""
    records = service.model.records
    changed_counts: set[str] = set()
    futures = []
    for cid in sorted(touched | moved.keys()):
        record = records.get(cid)
        changed_counts |= recount(cid, record, service.placed, service.counts)
        if record is None and cid not in moved:
            continue
        record_view = citizen_record_view(cid, record, merged_into=None if record is not None else moved[cid])
        futures.append(await send_view(service, service.topics["registry.citizens"], cid, record_view))
    if changed_counts:
        now = datetime.now(UTC)
        for key in sorted(changed_counts):
            view = count_view(key, service.counts.get(key, 0), now)
            futures.append(await send_view(service, service.topics["registry.counts"], key, view))
    for future in futures:
        await future
    service.stats["records_published"] += len(futures)


async def send_view(service: RegistryService, topic: Any, key: str, view: Any) -> Any:
    contract = service.codec.registry.latest(view.SCHEMA)
    envelope = Envelope.new(
        source=service.config.source, type=view.SCHEMA, dataschema=contract.dataschema, subject=key
    )
    value = service.codec.encode(view.SCHEMA, view.to_avro())
    return await topic.send(key=key.encode(), value=value, headers=envelope.to_headers())


async def restore_index(service: RegistryService, upto: int) -> None:
    """Rebuild the resolver's in-memory index from ``registry.observations`` offsets [0, upto)."""
    if upto > 0:
        items = await asyncio.to_thread(read_items, service, upto)
        service.model.restore_index(items)
        log.info("index_restored", items=len(items), upto=upto)
    service.index_ready = True


def read_items(service: RegistryService, upto: int) -> list[Observation | Decision]:
    settings = service.settings
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    tp = TopicPartition(settings.topic(OBSERVATIONS), 0)
    items: list[Observation | Decision] = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        while consumer.position(tp) < upto:
            for message in consumer.poll(timeout_ms=1000, max_records=5000).get(tp, []):
                if message.offset < upto:
                    items.append(decode_item(message.value))
    finally:
        consumer.close()
    return items
