"""The registry's faust agent ``core``: resolve, fold, publish, store; exactly once in effect on its state.

Its state holds "every item before ``progress`` applied" (``services.registry.store``), so the core does
not depend on the consumer's committed offset or on the order faust hands messages over: items below
``progress`` are skipped, and whenever a batch does not continue exactly at ``progress`` (a gap left by
messages faust skipped after a rebalance, a first start on an existing topic) the core reads the missing
range straight from the topic. On start it catches up to the topic's end before anything arrives. Views
are published and acknowledged before a chunk is stored: a crash in between publishes them again, the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.bus.logs import get_logger
from services.registry import metrics
from services.registry.app import RegistryService
from services.registry.counting import recount
from services.registry.decisions import DecisionConflict
from services.registry.facts import Observation
from services.registry.index import ResolverState
from services.registry.items import Item, decode_item
from services.registry.resolution import Resolution
from services.registry.topics import CITIZENS, COUNTS, OBSERVATIONS
from services.registry.views import citizen_record_view, count_view

log = get_logger("registry")
READ_CHUNK = 5_000
"""Items read from the topic and applied at a time when catching up, so memory stays bounded."""
READ_STALL_SECONDS = 60.0


def register(service: RegistryService) -> None:
    app, config = service.app, service.config

    async def core_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            batch = [(e.message.offset, e.message.value) for e in events]
            await guarded(service, partial(apply_batch, service, batch))
            yield None

    async def catch_up_on_start() -> None:
        await guarded(service, partial(catch_up, service))

    app.agent(service.observations, name="registry-core")(core_agent)
    app.task(catch_up_on_start)


async def guarded(service: RegistryService, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` alone; if it fails or is cancelled midway, forget the unstored state and rebuild it."""
    async with service.lock:
        try:
            await work()
        except BaseException:
            service.store.discard()
            service.model.state = ResolverState()
            service.index_ready = False
            raise


async def apply_batch(service: RegistryService, batch: list[tuple[int, bytes | None]]) -> None:
    """Apply what ``batch`` (offset, value) adds to the store; read from the topic where it does not fit."""
    if not service.index_ready:
        await restore_index(service)
    progress = service.store.progress
    fresh = sorted({offset: value for offset, value in batch if offset >= progress}.items())
    if not fresh:
        return
    offsets = [offset for offset, _ in fresh]
    if offsets == list(range(progress, progress + len(fresh))):
        await apply_items(service, [(offset, decode_item(value or b"")) for offset, value in fresh])
        return
    log.warning("gap_filled", start=progress, end=offsets[-1] + 1, batch=len(fresh))
    metrics.GAPS_FILLED.inc()
    service.stats["gaps_filled"] += 1
    await catch_up(service, end=offsets[-1] + 1)


async def catch_up(service: RegistryService, end: int | None = None) -> None:
    """Apply the topic's items from ``progress`` to ``end`` (default: the topic's end), a chunk at a time.

    A store that holds more than the topic has (the topic was deleted and created again) describes
    another history: it is cleared and rebuilt from the topic, never left to skip the new items.
    """
    if end is None:
        end = await asyncio.to_thread(end_offset, service)
        if service.store.progress > end:
            log.error("store_ahead_of_topic", progress=service.store.progress, end=end, action="rebuild")
            service.store.clear()
            service.model.state = ResolverState()
            service.index_ready = False
    if not service.index_ready:
        await restore_index(service)
    while (progress := service.store.progress) < end:
        chunk = await asyncio.to_thread(read_items, service, progress, min(end, progress + READ_CHUNK))
        await apply_items(service, chunk)


async def apply_items(service: RegistryService, items: list[tuple[int, Item]]) -> None:
    """Fold, publish and store ``items`` (consecutive offsets) in chunks of the batch size."""
    size = service.config.batch_size
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        began = time.perf_counter()
        touched: set[str] = set()
        moved: dict[str, str] = {}
        for _, item in chunk:
            try:
                resolution = service.model.apply_item(item)
            except DecisionConflict:
                metrics.DECISION_CONFLICTS.inc()
                log.warning("decision_refused", decision_id=getattr(item, "decision_id", None))
                continue
            kind = "observation" if isinstance(item, Observation) else "decision"
            metrics.ITEMS_APPLIED.labels(kind).inc()
            service.stats["observations"] += 1
            note_changes(resolution, touched, moved)
        await publish_changes(service, touched, moved)
        progress = chunk[-1][0] + 1
        service.store.commit(progress)
        service.stats["next_offset"] = progress
        metrics.PROGRESS.set(progress)
        metrics.CITIZENS.set(service.store.record_count)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - began)
        await asyncio.sleep(0)  # let the web views and the consumer's heartbeats run between chunks


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
        futures.append(service.publisher.send(CITIZENS, cid, record_view))
    now = datetime.now(UTC)
    for key in sorted(changed_counts):
        futures.append(service.publisher.send(COUNTS, key, count_view(key, store.counts.get(key, 0), now)))
    await service.publisher.wait(futures)
    service.stats["records_published"] += len(futures)


async def restore_index(service: RegistryService) -> None:
    """Rebuild the resolver's in-memory index from the items the store already holds, [0, progress).

    Runs in a thread so the web views (which answer 503 meanwhile) and heartbeats go on; the lock keeps
    every other writer out.
    """
    progress = service.store.progress
    restored = await asyncio.to_thread(restore_range, service, progress)
    log.info("index_restored", items=restored, upto=progress)
    service.stats["next_offset"] = progress
    service.index_ready = True


def restore_range(service: RegistryService, end: int) -> int:
    restored = 0
    for start in range(0, end, READ_CHUNK):
        chunk = read_items(service, start, min(end, start + READ_CHUNK))
        service.model.restore_index(item for _, item in chunk)
        restored += len(chunk)
    return restored


def end_offset(service: RegistryService) -> int:
    settings = service.settings
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        tp = TopicPartition(settings.topic(OBSERVATIONS), 0)
        return int(consumer.end_offsets([tp])[tp])
    finally:
        consumer.close()


def read_items(service: RegistryService, start: int, end: int) -> list[tuple[int, Item]]:
    """Items of ``registry.observations`` at offsets [start, end), every one of them, or an error."""
    settings = service.settings
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False, auto_offset_reset="none"
    )
    tp = TopicPartition(settings.topic(OBSERVATIONS), 0)
    items: list[tuple[int, Item]] = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        deadline = time.monotonic() + READ_STALL_SECONDS
        while consumer.position(tp) < end:
            messages = consumer.poll(timeout_ms=1000, max_records=READ_CHUNK).get(tp, [])
            items.extend((m.offset, decode_item(m.value)) for m in messages if start <= m.offset < end)
            if messages:
                deadline = time.monotonic() + READ_STALL_SECONDS
            elif time.monotonic() > deadline:
                raise RuntimeError(f"{tp.topic} stalled at {consumer.position(tp)} reading [{start}, {end})")
    finally:
        consumer.close()
    if [offset for offset, _ in items] != list(range(start, end)):
        raise RuntimeError(f"{tp.topic} is missing offsets in [{start}, {end}): truncated or recreated?")
    return items
