"""The runtime's core: a projection applied per input partition, exactly once in effect on its state.

Each partition's stored state holds "every record before ``progress`` applied" (``services.runtime.store``),
so a core does not depend on faust's committed offsets or on the order faust hands records over: records
below ``progress`` are dropped, and whenever a batch does not continue exactly at ``progress`` (records
faust skipped after a rebalance, a first start on an existing topic) the core reads the missing range
straight from the topic (``services.runtime.progress``). When a partition is assigned, its core restores
what the projection keeps in memory and catches up to the topic's end before it says it is ready. Views
are published and acknowledged before a chunk is stored: a crash in between publishes them again, the
same absolute values. Whatever a record holds, the core applies it or dead-letters it with a reason and
moves on; a chunk that fails half-way is rolled back (nothing of it was stored) and rebuilt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from services.bus.consumer import raw_from_kafka
from services.bus.deadletter import DeadLetterWriter
from services.bus.decoder import RawRecord
from services.bus.errors import BusError, ProcessingFailed
from services.bus.logs import get_logger
from services.bus.reading import end_offsets, read_range
from services.bus.settings import BusSettings
from services.runtime import metrics
from services.runtime.collector import freeze_survivors
from services.runtime.progress import Start, chunks, next_step, on_start
from services.runtime.projection import TICK_HEADER, Projection
from services.runtime.publishing import ViewPublisher, wait_acknowledged
from services.runtime.store import Column, PartitionStore, Store

S = TypeVar("S")
I = TypeVar("I")  # noqa: E741 - the item type, as in services.runtime.projection

log = get_logger("runtime")
READ_CHUNK = 5_000
SKIPPED = "runtime.skipped"
"""The runtime's own column in each partition's store: offsets dead-lettered instead of applied."""
"""Records read from the topic and applied at a time when catching up or restoring: bounded memory."""


class _ChunkFailed(Exception):
    """An item broke the projection half-way through a chunk: the chunk's state is not to be trusted."""


@dataclass
class PartitionCore(Generic[S, I]):
    """One input partition of one view on this worker: its store, its state, one writer at a time."""

    view: ViewRuntime[S, I]
    partition: int
    store: PartitionStore
    state: S
    owned: bool = False
    ready: bool = False
    restored: bool = False
    checked: bool = False
    """Whether the stored progress was compared with the topic's end since the partition was assigned."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    poisoned: set[int] = field(default_factory=set)
    """Offsets refused (read) or whose item broke the projection: dead-lettered once, skipped when their
    chunk is redone; stored in ``skipped`` with the chunk, so a restore after a restart skips them too."""
    end: int = 0
    """The topic's end offset as last seen (for the lag)."""
    tailed: bool = False
    """Whether the view's tail reads this partition on (``services.runtime.agents``); else faust hands its
    records over."""

    @property
    def progress(self) -> int:
        """Every record before this offset is applied in the stored state."""
        return self.store.progress

    @property
    def lag(self) -> int:
        """Records of the partition, as far as it was last seen, not yet in the stored state."""
        return max(0, self.end - self.progress)

    @property
    def skipped(self) -> Column[str]:
        """Offsets below ``progress`` that the stored state does not hold (dead-lettered instead)."""
        return self.store.column(SKIPPED, str.encode, bytes.decode)

    async def handle(self, batch: list[RawRecord]) -> None:
        """Apply what ``batch`` adds to the stored state; read from the topic what it skips."""
        await self.guarded(lambda: self._handle(batch))

    async def take_over(self) -> None:
        """The partition was assigned here: restore, catch up to the topic's end, then say ready."""
        began = time.monotonic()
        await self.guarded(self._catch_up)
        freeze_survivors()  # the restored state stays: later collector passes need not walk it
        self.ready = True
        metrics.TAKEOVER_SECONDS.labels(self.view.name).observe(time.monotonic() - began)
        log.info(
            "partition_ready", processor=self.view.name, partition=self.partition, progress=self.progress
        )

    async def guarded(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` alone; if it fails or is cancelled midway, forget the unstored state and restore."""
        async with self.lock:
            try:
                await work()
            except BaseException:
                self.rollback()
                raise

    def rollback(self) -> None:
        """Forget everything not stored: the pending batch and the in-memory state (restored again later)."""
        self.store.discard()
        self.state = self.view.projection.open(self.store)
        self.restored = False

    async def _handle(self, batch: list[RawRecord]) -> None:
        if not self.checked:  # handed records before the take-over ran: do it first, it covers them
            await self._catch_up()
        elif not self.restored:
            await self._restore()
        step = next_step(self.progress, [(r.offset, r) for r in batch])
        if step.read_to is not None:
            log.warning(
                "gap_filled",
                processor=self.view.name,
                partition=self.partition,
                start=self.progress,
                end=step.read_to,
            )
            metrics.GAPS_FILLED.labels(self.view.name, str(self.partition)).inc()
            self.view.stats["gaps_filled"] += 1
            await self._catch_up(step.read_to)
            return
        await self._apply([record for _, record in step.apply])

    async def _catch_up(self, end: int | None = None) -> None:
        """Apply the topic's records from ``progress`` up to ``end`` (default: the topic's end), in chunks."""
        if end is None:
            end = await asyncio.to_thread(self.view.end_offset, self.partition)
            self.end = end
            if self.view.clear_if_ahead(self.partition, end):
                self.poisoned.clear()
                self.rollback()
            self.checked = True
        if not self.restored:
            await self._restore()
        while (progress := self.progress) < end:
            upto = min(end, progress + READ_CHUNK)
            await self._apply(await asyncio.to_thread(self.view.read, self.partition, progress, upto))

    async def _restore(self) -> None:
        """Rebuild the projection's in-memory state from the records the store already holds, off the loop."""
        if self.view.projection.needs_history:
            upto = self.progress
            for lo, hi in chunks(0, upto, READ_CHUNK):
                records = await asyncio.to_thread(self.view.read, self.partition, lo, hi)
                await asyncio.to_thread(self._restore_records, records)
            log.info("state_restored", processor=self.view.name, partition=self.partition, upto=upto)
        self.restored = True

    def _restore_records(self, records: list[RawRecord]) -> None:
        projection = self.view.projection
        skipped = self.skipped
        for record in records:
            if record.offset in self.poisoned or record.header(TICK_HEADER) is not None:
                continue
            if str(record.offset) in skipped:
                self.poisoned.add(record.offset)
                continue
            try:
                item = projection.read(record)
                if item is not None:
                    projection.restore(self.state, item)
            except Exception:  # noqa: BLE001 - it was refused live too (dead-lettered then); restore goes on
                log.warning(
                    "restore_skipped",
                    processor=self.view.name,
                    partition=self.partition,
                    offset=record.offset,
                )

    async def _apply(self, records: list[RawRecord]) -> None:
        """Fold, publish and store ``records`` (consecutive offsets from ``progress``) a chunk at a time."""
        size = self.view.batch_size
        for lo in range(0, len(records), size):
            chunk = records[lo : lo + size]
            while True:
                try:
                    await self._apply_chunk(chunk)
                    break
                except _ChunkFailed:
                    self.rollback()  # nothing of the chunk was stored; redo it without the poisoned item
                    metrics.REBUILDS.labels(self.view.name, str(self.partition)).inc()
                    await self._restore()

    async def _skip(self, record: RawRecord, error: BusError) -> None:
        """Dead-letter ``record`` (acknowledged), then remember to skip it, also when its chunk is redone."""
        await self.view.refuse(record, error)
        self.poisoned.add(record.offset)
        self.skipped[str(record.offset)] = "1"

    async def _apply_chunk(self, chunk: list[RawRecord]) -> None:
        began = time.perf_counter()
        view, projection = self.view, self.view.projection
        applied = 0
        for record in chunk:
            if record.offset in self.poisoned:
                self.skipped[str(record.offset)] = "1"  # stored with the chunk: restore skips it too
                continue
            try:
                item = None if record.header(TICK_HEADER) is not None else projection.read(record)
            except BusError as exc:
                await self._skip(record, exc)
                continue
            try:
                if item is not None:
                    projection.apply(self.state, item)
                    applied += 1
                elif projection.clock and record.header(TICK_HEADER) is not None:
                    projection.tick(self.state, datetime.fromtimestamp(record.timestamp / 1000, UTC))
            except BusError as exc:  # the projection refused the item before changing anything
                await self._skip(record, exc)
            except Exception as exc:
                await self._skip(record, ProcessingFailed(f"{type(exc).__name__} in the {view.name} core"))
                raise _ChunkFailed from exc
        views = projection.drain(self.state, datetime.now(UTC))
        send = view.publisher.send
        await view.publisher.wait(
            [send(v.topic, v.key, v.view, event_id=v.event_id, time=v.time) for v in views]
        )
        progress = chunk[-1].offset + 1
        self.store.commit(progress)
        self.end = max(self.end, progress)  # the topic reaches at least as far as what was just read
        view.stats["applied"] += applied
        view.stats["views_published"] += len(views)
        labels = (view.name, str(self.partition))
        metrics.RECORDS_APPLIED.labels(*labels).inc(applied)
        metrics.PROGRESS.labels(*labels).set(progress)
        metrics.LAG.labels(*labels).set(self.lag)
        metrics.BATCH_SECONDS.labels(view.name).observe(time.perf_counter() - began)
        await asyncio.sleep(0)  # let the web views and the consumer's heartbeats run between chunks


@dataclass
class ViewRuntime(Generic[S, I]):
    """A projection on this worker: its store, its publisher, and a core per partition it has owned."""

    settings: BusSettings
    projection: Projection[S, I]
    store: Store
    publisher: ViewPublisher
    batch_size: int = 500
    cores: dict[int, PartitionCore[S, I]] = field(default_factory=dict)
    stats: dict[str, int] = field(
        default_factory=lambda: {"applied": 0, "views_published": 0, "gaps_filled": 0, "refused": 0}
    )
    deadletters: DeadLetterWriter | None = None

    def __post_init__(self) -> None:
        if self.deadletters is None:
            self.deadletters = DeadLetterWriter(self.settings, self.publisher.producer, f"{self.name}-core")

    @property
    def name(self) -> str:
        """The processor's name."""
        return self.projection.name

    @property
    def topic(self) -> str:
        """The full name of the input topic."""
        return self.settings.topic(self.projection.input_topic)

    def core(self, partition: int) -> PartitionCore[S, I]:
        """The core of ``partition`` (created, not yet owned, on first use)."""
        if partition not in self.cores:
            store = self.store.partition(partition)
            self.cores[partition] = PartitionCore(self, partition, store, self.projection.open(store))
        return self.cores[partition]

    @property
    def owned(self) -> list[PartitionCore[S, I]]:
        """The cores of the partitions this worker owns now."""
        return [core for _, core in sorted(self.cores.items()) if core.owned]

    @property
    def ready(self) -> bool:
        """Whether this worker owns partitions and every one of them is restored and caught up."""
        owned = self.owned
        return bool(owned) and all(core.ready for core in owned)

    def assigned(self, partitions: set[int]) -> list[PartitionCore[S, I]]:
        """Mark ``partitions`` owned here (not ready until taken over); returns their cores."""
        taken = []
        for partition in sorted(partitions):
            core = self.core(partition)
            core.owned, core.ready, core.checked, core.tailed = True, False, False, False
            taken.append(core)
        metrics.READY.labels(self.name).set(0)
        return taken

    def revoked(self, partitions: set[int]) -> None:
        """``partitions`` went to another worker: this one stops answering for them."""
        for partition in partitions:
            if partition in self.cores:
                core = self.cores[partition]
                core.owned = core.ready = core.tailed = False

    async def refuse(self, record: RawRecord, error: BusError) -> None:
        """Dead-letter ``record`` with ``error``'s reason (acknowledged before the core goes on).

        A record of the dead-letter topic itself is not sent back there (a loop): it is logged and counted.
        """
        if self.deadletters is None:
            raise RuntimeError("ViewRuntime without a dead-letter writer")
        if record.topic == self.deadletters.topic:
            log.error(
                "deadletter_not_applied",
                processor=self.name,
                partition=record.partition,
                offset=record.offset,
                reason=error.reason,
            )
        else:
            await asyncio.to_thread(self.deadletters.send, record, error)
        self.stats["refused"] += 1
        metrics.RECORDS_REFUSED.labels(self.name, error.reason).inc()

    def check_store(self) -> list[int]:
        """Before serving anything: clear each partition whose stored state holds more than its topic (the
        topic was deleted and created again, so the state describes another history); returns them.

        The take-over checks again when a partition is assigned; this makes the figures a worker shows
        from its first answer belong to the topic it reads.
        """
        cleared = []
        for partition, end in sorted(end_offsets(self.settings, self.topic).items()):
            if self.clear_if_ahead(partition, end):
                cleared.append(partition)
        return cleared

    def clear_if_ahead(self, partition: int, end: int) -> bool:
        """Clear ``partition``'s stored state if it holds more than the topic's ``end`` (the topic was
        recreated: the state describes another history); whether it did.
        """
        store = self.store.partition(partition)
        if on_start(store.progress, end) is not Start.REBUILD:
            return False
        log.error(
            "store_ahead_of_topic",
            processor=self.name,
            partition=partition,
            progress=store.progress,
            end=end,
            action="rebuild",
        )
        metrics.REBUILDS.labels(self.name, str(partition)).inc()
        store.clear()
        return True

    def end_offset(self, partition: int) -> int:
        """Where ``partition`` of the input topic ends now."""
        return end_offsets(self.settings, self.topic).get(partition, 0)

    def read(self, partition: int, start: int, end: int) -> list[RawRecord]:
        """Records [start, end) of ``partition``: every one of them, or an error."""
        return [raw_from_kafka(m) for m in read_range(self.settings, self.topic, partition, start, end)]

    def tick(self) -> None:
        """Append a tick to every owned input partition and wait for the acknowledgements."""
        producer = self.publisher.producer
        futures = [
            producer.send(self.topic, b"", partition=core.partition, headers=[(TICK_HEADER, b"")])
            for core in self.owned
        ]
        wait_acknowledged(producer, futures)

    def refresh_lag(self) -> dict[int, int]:
        """End offset minus stored progress of every owned partition (also set on ``/metrics``)."""
        ends = end_offsets(self.settings, self.topic)
        lags = {}
        for core in self.owned:
            core.end = ends.get(core.partition, core.end)
            lags[core.partition] = core.lag
            metrics.LAG.labels(self.name, str(core.partition)).set(lags[core.partition])
        metrics.READY.labels(self.name).set(1 if self.ready else 0)
        return lags

    def describe(self) -> dict[str, Any]:
        """Per owned partition: progress, end, lag, readiness and who reads it (for ``/stats``)."""
        return {
            str(core.partition): {
                "progress": core.progress,
                "end": core.end,
                "lag": core.lag,
                "ready": core.ready,
                "read_by": "tail" if core.tailed else "faust",
            }
            for core in self.owned
        }
