"""The view's tail: it reads the ready partitions on from each core's progress, and faust's fetching of
them is paused; a partition that leaves and comes back is read on from where its core is then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from services.runtime import agents
from services.runtime.agents import Tail
from tests.unit.runtime.test_core import (
    SAMPLE,
    LocalRuntime,
    assert_matches_oracle,
    make_runtime,
    taken_over,
    words,
)


class FakeReader:
    """``PartitionTail`` over the runtime's topic log: follow, seek, poll, close."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.position: dict[int, int] = {}
        self.followed: frozenset[int] = frozenset()
        self.seeks: list[tuple[int, int]] = []
        self.closed = False

    def follow(self, partitions: frozenset[int]) -> None:
        for partition in set(self.position) - partitions:
            del self.position[partition]  # a partition assigned again starts nowhere until sought
        self.followed = partitions

    def seek(self, partition: int, offset: int) -> None:
        self.seeks.append((partition, offset))
        self.position[partition] = offset

    def poll(self, timeout_ms: int) -> dict[int, list[Any]]:
        time.sleep(min(timeout_ms, 2) / 1000)  # a poll takes a while, in its thread
        polled = {}
        assert set(self.position) == self.followed  # every followed partition was sought
        for partition, at in self.position.items():
            records = self.runtime.topic_log.get(partition, [])[at : at + 3]
            if records:
                polled[partition] = [SimpleNamespace(**record.__dict__) for record in records]
                self.position[partition] = at + len(records)
        return polled

    def close(self) -> None:
        self.closed = True


class FakeConsumer:
    def __init__(self) -> None:
        self.paused: set[Any] = set()

    def pause_partitions(self, tps: set[Any]) -> None:
        self.paused |= set(tps)

    def resume_partitions(self, tps: set[Any]) -> None:
        self.paused -= set(tps)


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


def test_a_partition_that_comes_back_is_read_on_from_its_cores_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(agents, "TAIL_IDLE", 0.005)
    asyncio.run(comes_back(monkeypatch))


async def comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime(topic_log={0: list(SAMPLE[:5])})
    readers: list[FakeReader] = []

    def reader(*_: Any, **__: Any) -> FakeReader:
        readers.append(FakeReader(runtime))
        return readers[-1]

    monkeypatch.setattr(agents, "PartitionTail", reader)
    app = SimpleNamespace(consumer=FakeConsumer())
    tail = Tail(app, runtime, max_records=3)
    core = await taken_over(runtime)
    task = asyncio.ensure_future(tail.run())
    try:
        runtime.topic_log[0].extend(SAMPLE[5:8])
        await until(lambda: core.progress == 8, "the tail applies what arrives")
        assert core.tailed
        assert runtime.describe()["0"]["read_by"] == "tail"
        assert len(app.consumer.paused) == 1  # faust does not fetch it meanwhile

        runtime.revoked({0})  # the partition moves away; meanwhile its topic goes on
        await until(lambda: not tail.followed, "the tail lets it go")
        assert not app.consumer.paused  # faust's delivery has it again
        assert not core.tailed
        runtime.topic_log[0].extend(SAMPLE[8:])
        core = await taken_over(runtime)  # back here: caught up to 10 from the topic
        more = words(("x", b"j"), ("y", b"kk"), ("z", b"l"), start=10)
        runtime.topic_log[0].extend(more)
        await until(lambda: core.progress == 13, "the tail applies what arrives after the return")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (0, 10) in readers[0].seeks  # on from the core's progress, not from where the reader stopped (8)
    assert readers[0].closed
    assert_matches_oracle(runtime, [*SAMPLE, *more])  # each record applied once
