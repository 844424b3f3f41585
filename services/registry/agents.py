"""The registry's faust agent ``core``: resolve, fold, publish, store; exactly once in effect on its state.

Its state holds "every item before ``progress`` applied" (``services.registry.store``), so the agent does
not depend on the consumer's committed offset being right: what is below ``progress`` is skipped, a gap
above it (faust skips messages fetched before a rebalance) is read straight from the topic. Views are
published and acknowledged before the batch is stored: a crash in between publishes them again, the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.bus.envelope import Envelope
from services.bus.logs import get_logger
from services.registry.app import RegistryService
from services.registry.counting import recount
from services.registry.index import ResolverState
from services.registry.items import Item, decode_item
from services.registry.resolution import Resolution
from services.registry.topics import CITIZENS, COUNTS, OBSERVATIONS
from services.registry.views import citizen_record_view, count_view

log = get_logger("registry")


def register(service: RegistryService) -> None:
    app, config = service.app, service.config

    async def core_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            try:
                await apply_batch(service, [(e.message.offset, e.message.value) for e in events])
            except Exception:
                # The index may hold part of the batch: forget both, rebuild from what is stored.
                service.store.discard()
                service.model.state = ResolverState()
                service.index_ready = False
                raise
            yield None

    app.agent(service.topics[OBSERVATIONS], name="registry-core")(core_agent)


async def apply_batch(service: RegistryService, batch: list[tuple[int, bytes]]) -> None:
    """Apply the items of ``batch`` (offset, value) not yet in the store, publish the changes, store them."""
    first = batch[0][0]
    if not service.index_ready:
        await restore_index(service)
    progress = service.store.progress
    items: list[Item] = []
    if first > progress:
        missed = await asyncio.to_thread(read_items, service, progress, first)
        log.warning("gap_filled", start=progress, end=first, items=len(missed))
        service.stats["gaps_filled"] += 1
        items.extend(item for _, item in missed)
    items.extend(decode_item(value) for offset, value in batch if offset >= progress)
    end = max(progress, batch[-1][0] + 1)
    if not items:
        return
    touched: set[str] = set()
    moved: dict[str, str] = {}
    for item in items:
        resolution = service.model.apply_item(item)
        service.stats["observations"] += 1
        note_changes(resolution, touched, moved)
    await publish_changes(service, touched, moved)
    service.store.commit(end)
    service.stats["next_offset"] = end


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
    store = service.store
    changed_counts: set[str] = set()
    futures = []
    for cid in sorted(touched | moved.keys()):
        record = records.get(cid)
        changed_counts |= recount(cid, record, store.placed, store.counts)
        if record is None and cid not in moved:
            continue
        record_view = citizen_record_view(cid, record, merged_into=None if record is not None else moved[cid])
        futures.append(await send_view(service, service.topics[CITIZENS], cid, record_view))
    now = datetime.now(UTC)
    for key in sorted(changed_counts):
        view = count_view(key, store.counts.get(key, 0), now)
        futures.append(await send_view(service, service.topics[COUNTS], key, view))
    for future in futures:
        await future
    service.stats["records_published"] += len(futures)


async def send_view(service: RegistryService, topic: Any, key: str, view: Any) -> Any:
    """Send one view now (not attached to the current event's commit); the caller awaits the ack."""
    contract = service.codec.registry.latest(view.SCHEMA)
    envelope = Envelope.new(
        source=service.config.source, type=view.SCHEMA, dataschema=contract.dataschema, subject=key
    )
    value = service.codec.encode(view.SCHEMA, view.to_avro())
    return await topic.send(key=key.encode(), value=value, headers=envelope.to_headers(), force=True)


async def restore_index(service: RegistryService) -> None:
    """Rebuild the resolver's in-memory index from the items the store already holds, [0, progress)."""
    progress = service.store.progress
    if progress > 0:
        items = await asyncio.to_thread(read_items, service, 0, progress)
        service.model.restore_index(item for _, item in items)
        log.info("index_restored", items=len(items), upto=progress)
    service.stats["next_offset"] = progress
    service.index_ready = True


def read_items(service: RegistryService, start: int, end: int) -> list[tuple[int, Item]]:
    """Items of ``registry.observations`` at offsets [start, end), read directly from the topic."""
    settings = service.settings
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    tp = TopicPartition(settings.topic(OBSERVATIONS), 0)
    items: list[tuple[int, Item]] = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        while consumer.position(tp) < end:
            for message in consumer.poll(timeout_ms=1000, max_records=5000).get(tp, []):
                if start <= message.offset < end:
                    items.append((message.offset, decode_item(message.value)))
    finally:
        consumer.close()
    return items
