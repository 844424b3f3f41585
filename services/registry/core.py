"""The registry's core: resolve, fold, publish, store; exactly once in effect on its state (no faust here).

Its state holds "every item before ``progress`` applied" (``services.registry.store``), so the core does
not depend on the consumer's committed offset or on the order faust hands messages over: items below
``progress`` are skipped, and whenever a batch does not continue exactly at ``progress`` (a gap left by
messages faust skipped after a rebalance, a first start on an existing topic) the core reads the missing
range straight from the topic. On start it catches up to the topic's end before anything arrives. Views
are published and acknowledged before a chunk is stored: a crash in between publishes them again, the same.
``agents`` feeds it from faust, ``web`` reads it; neither knows the other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.bus.logs import get_logger
from services.bus.reading import end_offsets, read_range
from services.bus.settings import BusSettings
from services.registry import metrics
from services.registry.counting import recount
from services.registry.decisions import DecisionConflict
from services.registry.facts import Observation
from services.registry.index import ResolverState
from services.registry.items import Item, decode_item
from services.registry.mapping import citizen_record_view, count_view
from services.registry.model import RegistryModel
from services.registry.resolution import Resolution
from services.registry.settings import RegistrySettings
from services.registry.store import RegistryStore
from services.registry.topics import CITIZENS, COUNTS, OBSERVATIONS
from services.runtime.publishing import ViewPublisher

log = get_logger("registry")
READ_CHUNK = 5_000
"""Items read from the topic and applied at a time when catching up, so memory stays bounded."""


@dataclass
class RegistryCore:
    """The model, its store and its view publisher, and the lock that makes the core one writer."""

    settings: BusSettings
    config: RegistrySettings
    model: RegistryModel
    store: RegistryStore
    publisher: ViewPublisher
    index_ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the core changes state: one batch, one catch-up or one restore at a time."""
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "observations": 0,
            "records_published": 0,
            "next_offset": 0,
            "gaps_filled": 0,
        }
    )

    def hasher(self, value: str) -> str:
        """The pseudonym of an identifier's value (NIK, passport number), as the intake makes it."""
        return self.model.hasher(value)


async def guarded(service: RegistryCore, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` alone; if it fails or is cancelled midway, forget the unstored state and rebuild it."""
    async with service.lock:
        try:
            await work()
        except BaseException:
            service.store.discard()
            service.model.state = ResolverState()
            service.index_ready = False
            raise


async def apply_batch(service: RegistryCore, batch: list[tuple[int, bytes | None]]) -> None:
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


async def catch_up(service: RegistryCore, end: int | None = None) -> None:
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


async def apply_items(service: RegistryCore, items: list[tuple[int, Item]]) -> None:
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


async def publish_changes(service: RegistryCore, touched: set[str], moved: dict[str, str]) -> None:
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
    futures.extend(
        service.publisher.send(COUNTS, key, count_view(key, store.counts.get(key, 0), now))
        for key in sorted(changed_counts)
    )
    await service.publisher.wait(futures)
    service.stats["records_published"] += len(futures)


async def restore_index(service: RegistryCore) -> None:
    """Rebuild the resolver's in-memory index from the items the store already holds, [0, progress).

    Runs in a thread so the web views (which answer 503 meanwhile) and heartbeats go on; the lock keeps
    every other writer out.
    """
    progress = service.store.progress
    restored = await asyncio.to_thread(restore_range, service, progress)
    log.info("index_restored", items=restored, upto=progress)
    service.stats["next_offset"] = progress
    service.index_ready = True


def restore_range(service: RegistryCore, end: int) -> int:
    """Feed the resolver the items [0, end) in chunks; returns how many."""
    restored = 0
    for start in range(0, end, READ_CHUNK):
        chunk = read_items(service, start, min(end, start + READ_CHUNK))
        service.model.restore_index(item for _, item in chunk)
        restored += len(chunk)
    return restored


def end_offset(service: RegistryCore) -> int:
    """Where ``registry.observations`` ends now (its one partition)."""
    return end_offsets(service.settings, service.settings.topic(OBSERVATIONS))[0]


def read_items(service: RegistryCore, start: int, end: int) -> list[tuple[int, Item]]:
    """Items of ``registry.observations`` at offsets [start, end), every one of them, or an error."""
    topic = service.settings.topic(OBSERVATIONS)
    return [(m.offset, decode_item(m.value)) for m in read_range(service.settings, topic, 0, start, end)]
