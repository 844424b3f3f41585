"""The faust side of a view: one agent on the input topic, hand-over of partitions, the lag timer, and the
tail that reads the view's partitions once they are caught up.

faust hands records over at about 150 µs each (its messages, events, flow control and acknowledgements:
a fifth of the registry core's time, measured), kafka-python reads them at about 50 µs. So once a
partition is taken over (restored and caught up from the core's own progress), the view's tail (one
group-less reader for all of the worker's ready partitions) reads it on from that progress, and faust's
fetching of it is paused: faust still decides who owns what and serves HTTP. What faust hands over of a
followed partition anyway (before the pause took, or after a rebalance resumed it) is dropped and the
pause made again. Either way the core decides what is applied (``PartitionCore.handle`` takes any batch:
it drops what it holds, reads what a batch skips), so two readers can never apply a record twice.

faust decides which worker owns which partition and hands records over; everything that matters for
correctness (what is applied, what is stored, up to which offset) is the core's (``services.runtime.core``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from faust.types import TP

from services.bus.consumer import raw_from_kafka
from services.bus.decoder import RawRecord
from services.bus.logs import get_logger
from services.bus.reading import PartitionTail
from services.runtime.core import PartitionCore, ViewRuntime
from services.runtime.settings import ProcessorSettings

log = get_logger("runtime")
RETRY_SECONDS = 2.0
LAG_INTERVAL = 5.0
TICK_INTERVAL = 60.0
"""Seconds between two ticks appended to each owned partition of a view that has a clock."""
TAIL_POLL_MS = 200
"""How long one poll of the tail waits for records: also how soon it notices a partition it must drop."""
TAIL_IDLE = 0.2
"""Seconds the tail waits when the worker has no ready partition."""


def raw_from_faust(message: Any) -> RawRecord:
    """A faust ``Message`` as the record the bus's decoder and dead letters know."""
    headers = message.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp=int((message.timestamp or 0) * 1000),
        key=message.key,
        value=message.value,
        headers=list(headers),
    )


async def take_over(core: PartitionCore[Any, Any]) -> None:
    """Bring a newly assigned partition up to date; retry while it stays owned here."""
    while core.owned and not core.ready:
        try:
            await core.take_over()
        except Exception:
            log.exception("take_over_failed", processor=core.view.name, partition=core.partition)
            await asyncio.sleep(RETRY_SECONDS)


def attach(app: Any, runtime: ViewRuntime[Any, Any], config: ProcessorSettings) -> None:
    """Add the view's agent, its rebalance handlers and its lag timer to the faust ``app``."""
    topic = app.topic(runtime.topic, key_serializer="raw", value_serializer="raw")
    running: set[asyncio.Task[None]] = set()

    tail = Tail(app, runtime, config.batch_size)

    async def core_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            by_partition: dict[int, list[RawRecord]] = {}
            for event in events:
                record = raw_from_faust(event.message)
                by_partition.setdefault(record.partition, []).append(record)
            for partition, records in sorted(by_partition.items()):
                if partition in tail.followed:
                    tail.pause_faust({partition})  # the tail reads it: faust's copy is not needed
                    continue
                await runtime.core(partition).handle(records)
            yield None

    async def on_assigned(_sender: Any, assigned: Any, **_: Any) -> None:
        mine = {tp.partition for tp in assigned if tp.topic == runtime.topic}
        runtime.revoked({p for p in runtime.cores if p not in mine})
        for core in runtime.assigned(mine):
            task = asyncio.ensure_future(take_over(core))
            running.add(task)
            task.add_done_callback(running.discard)
        log.info("partitions_assigned", processor=runtime.name, partitions=sorted(mine))

    async def on_revoked(_sender: Any, revoked: Any, **_: Any) -> None:
        runtime.revoked({tp.partition for tp in revoked if tp.topic == runtime.topic})

    app.agent(topic, name=f"{runtime.name}-core")(core_agent)
    app.task(tail.run)
    app.on_partitions_assigned.connect(on_assigned)
    app.on_partitions_revoked.connect(on_revoked)
    add_timers(app, runtime)


def add_timers(app: Any, runtime: ViewRuntime[Any, Any]) -> None:
    """Refresh the lag every ``LAG_INTERVAL`` s; tick every ``TICK_INTERVAL`` s if the view has a clock."""

    async def refresh_lag() -> None:
        await asyncio.to_thread(runtime.refresh_lag)

    app.timer(interval=LAG_INTERVAL)(refresh_lag)
    if runtime.projection.clock:

        async def tick() -> None:
            await asyncio.to_thread(runtime.tick)

        app.timer(interval=TICK_INTERVAL)(tick)


class Tail:
    """Reads the view's ready partitions on from each core's progress and hands them to the cores."""

    def __init__(self, app: Any, runtime: ViewRuntime[Any, Any], max_records: int) -> None:
        self.app = app
        self.runtime = runtime
        self.max_records = max_records
        self.followed: frozenset[int] = frozenset()
        self.reader: PartitionTail | None = None
        self.next_offset: dict[int, int] = {}
        """Per followed partition, where the reader goes on: what the tail handed its core ends just before.
        A core whose progress is elsewhere was moved by someone else (a take-over's catch-up, faust before
        the pause, a rollback): the reader is sent back to the core's progress."""
        self.polling: asyncio.Future[dict[int, list[Any]]] | None = None

    def pause_faust(self, partitions: set[int] | frozenset[int]) -> None:
        """Stop faust fetching ``partitions`` of the input topic (the tail reads them)."""
        self.app.consumer.pause_partitions({TP(self.runtime.topic, p) for p in partitions})

    def resume_faust(self, partitions: set[int] | frozenset[int]) -> None:
        """Let faust fetch ``partitions`` again (the tail stopped reading them)."""
        self.app.consumer.resume_partitions({TP(self.runtime.topic, p) for p in partitions})

    async def run(self) -> None:
        """Follow the ready partitions until the worker stops; a failure hands them back to faust's
        delivery for a while, then the tail starts again.
        """
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                await self._stop()
                raise
            except Exception:
                log.exception("tail_failed", processor=self.runtime.name)
                try:
                    await self._stop()
                except Exception:
                    log.exception("tail_stop_failed", processor=self.runtime.name)
                await asyncio.sleep(RETRY_SECONDS)

    async def _follow(self) -> None:
        runtime = self.runtime
        while True:
            ready = {core.partition: core for core in runtime.owned if core.ready}
            gone = self.followed - ready.keys()
            if gone:
                self._unfollow(gone)  # not ready here any more: faust's delivery takes it over again
            if not ready:
                await asyncio.sleep(TAIL_IDLE)
                continue
            if self.reader is None:
                self.reader = await asyncio.to_thread(
                    PartitionTail, runtime.settings, runtime.topic, max_records=self.max_records
                )
            self.followed = frozenset(ready)
            self.reader.follow(self.followed)
            for partition, core in ready.items():
                if self.next_offset.get(partition) != core.progress:  # new to it, or moved by another
                    self.reader.seek(partition, core.progress)
                    self.next_offset[partition] = core.progress
            self.pause_faust(self.followed)  # again each round: a rebalance may have resumed them
            for core in ready.values():
                core.tailed = True
            self.polling = asyncio.ensure_future(asyncio.to_thread(self.reader.poll, TAIL_POLL_MS))
            polled = await asyncio.shield(self.polling)  # cancelled, the poll still ends: ``_stop`` waits
            self.polling = None
            for partition, messages in sorted(polled.items()):
                self.next_offset[partition] = messages[-1].offset + 1
                held = runtime.cores.get(partition)
                if held is not None and held.owned:
                    await held.handle([raw_from_kafka(m) for m in messages])

    def _unfollow(self, partitions: frozenset[int]) -> None:
        self.resume_faust(partitions)
        for partition in partitions:
            self.next_offset.pop(partition, None)  # followed again: from its core's progress then
            core = self.runtime.cores.get(partition)
            if core is not None:
                core.tailed = False
        self.followed -= partitions

    async def _stop(self) -> None:
        """Hand the partitions back to faust; close the reader once no poll of it runs (a cancelled await
        leaves its thread polling: closing beside it would use the consumer from two threads).
        """
        self._unfollow(self.followed)
        self.next_offset.clear()
        polling, self.polling = self.polling, None
        if polling is not None:
            await asyncio.wait([polling])
        if self.reader is not None:
            reader, self.reader = self.reader, None
            await asyncio.to_thread(reader.close)
