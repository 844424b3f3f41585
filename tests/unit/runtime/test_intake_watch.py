"""The worker's watch over its intake process: restarted when it died, and when its loop stopped going
round (a client call that never returns), never while it goes round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from services.runtime.intake import HUNG_SECONDS, Counter, IntakeCounters, IntakeProcess


@dataclass
class FakeProcess:
    alive: bool = True
    calls: list[str] = field(default_factory=list)
    exitcode: int | None = None

    def is_alive(self) -> bool:
        return self.alive

    def kill(self) -> None:
        self.calls.append("kill")
        self.alive = False

    def join(self, *_: object) -> None:
        self.calls.append("join")


def watched(process: FakeProcess) -> tuple[IntakeProcess, list[Any]]:
    intake = IntakeProcess.__new__(IntakeProcess)
    intake.counters = IntakeCounters()
    intake.spec = type("Spec", (), {"name": "registry"})()  # type: ignore[assignment]
    intake.process = process
    started: list[Any] = []
    intake.start = lambda: started.append(True)  # type: ignore[method-assign]
    return intake, started


def test_a_loop_that_goes_round_is_left_alone() -> None:
    intake, started = watched(FakeProcess())
    intake.counters.set(Counter.ALIVE_AT, time.time())
    intake.watch(now=time.time() + HUNG_SECONDS / 2)
    assert not started
    assert intake.counters.get(Counter.RESTARTS) == 0


def test_a_loop_silent_too_long_is_killed_and_started_again() -> None:
    process = FakeProcess()
    intake, started = watched(process)
    intake.counters.set(Counter.ALIVE_AT, 1000.0)
    intake.watch(now=1000.0 + HUNG_SECONDS + 1)
    assert process.calls == ["kill", "join"]
    assert started == [True]
    assert intake.counters.get(Counter.RESTARTS) == 1
    assert intake.counters.get(Counter.ALIVE_AT) > 1000.0 + HUNG_SECONDS  # the new one gets its full bound


def test_a_dead_process_is_started_again() -> None:
    process = FakeProcess(alive=False, exitcode=-9)
    intake, started = watched(process)
    intake.watch()
    assert process.calls == []
    assert started == [True]
    assert intake.counters.get(Counter.RESTARTS) == 1
