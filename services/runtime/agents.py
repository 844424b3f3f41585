"""The faust side of a view: one agent on the input topic, hand-over of partitions, the lag timer.

faust decides which worker owns which partition and hands records over; everything that matters for
correctness (what is applied, what is stored, up to which offset) is the core's (``services.runtime.core``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from services.bus.decoder import RawRecord
from services.bus.logs import get_logger
from services.runtime.core import PartitionCore, ViewRuntime
from services.runtime.settings import ProcessorSettings

log = get_logger("runtime")
RETRY_SECONDS = 2.0
LAG_INTERVAL = 5.0
TICK_INTERVAL = 60.0
"""Seconds between two ticks appended to each owned partition of a view that has a clock."""


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

    async def core_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            by_partition: dict[int, list[RawRecord]] = {}
            for event in events:
                record = raw_from_faust(event.message)
                by_partition.setdefault(record.partition, []).append(record)
            for partition, records in sorted(by_partition.items()):
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
