"""``bus simulate``: simulated traffic published through the SDK, with a live summary on the terminal.

Simulated time starts in the past and is clamped to the wall clock, so events are never from the future
however fast the simulator runs, and per-aggregate order is kept.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Self

from rich.console import Console
from rich.live import Live
from rich.table import Table

from services.bus.catalogue import create_topics
from services.bus.keys import citizen_hasher
from services.bus.logs import get_logger
from services.bus.publisher import EventMeta, Publisher
from services.bus.settings import BusSettings
from services.contracts.base import EventModel
from services.reference.offices import all_offices
from services.sim.poison import bad_records
from services.sim.simulator import TrafficSimulator

log = get_logger("simulate")


@dataclass
class Summary:
    """What the live screen shows."""

    started: float = field(default_factory=time.monotonic)
    published: int = 0
    bad: int = 0
    """Bad records sent on purpose (each should be in bus.deadletter)."""
    by_topic: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    sources: set[str] = field(default_factory=set)
    last_offset: dict[str, int] = field(default_factory=dict)
    processors: dict[str, str] = field(default_factory=dict)
    """Processor name -> one line of its live state, when the caller watches processors."""

    def table(self, rate: float) -> Table:
        """The live screen: totals against the target ``rate``, the commonest types, topics, processors."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        t = Table(
            title=f"mission service bus: {self.published} events, {self.published / elapsed:.0f}/s "
            f"(target {rate:.0f}/s), {len(self.sources)} of {len(all_offices())} offices and agencies seen, "
            f"{self.bad} bad records sent on purpose",
            expand=False,
        )
        t.add_column("event type")
        t.add_column("count", justify="right")
        for name, n in sorted(self.by_type.items(), key=lambda kv: -kv[1])[:18]:
            t.add_row(name.split(".", 4)[-1], str(n))
        for topic, n in sorted(self.by_topic.items()):
            t.add_row(f"[bold]topic {topic}[/bold]", f"{n} (end {self.last_offset.get(topic, 0)})")
        for name, line in sorted(self.processors.items()):
            t.add_row(f"[bold]processor {name}[/bold]", line)
        return t


class Stopper:
    """Turns SIGINT/SIGTERM into a flag so loops finish their batch and close cleanly."""

    def __init__(self) -> None:
        self.stopped = False
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopped = True


def chosen_seed(seed: int) -> int:
    """``seed``, or for 0 a new one from the clock, printed so that the traffic can be repeated: the same
    seed gives the same application and case ids, which the views would rightly refuse a second time.
    """
    if seed:
        return seed
    fresh = time.time_ns() // 1_000_000 % 2**31
    print(f"Simulator seed: {fresh} (--seed {fresh} sends the same traffic again)", flush=True)  # noqa: T201 - the command's own output
    return fresh


def run_simulator(
    settings: BusSettings,
    *,
    rate: float,
    count: int = 0,
    seed: int = 1,
    live: bool = True,
    stopper: Stopper | None = None,
    watch: Callable[[], dict[str, str]] | None = None,
    bad_every: float = 0.0,
) -> Summary:
    """Publish simulated events at ``rate``/s until ``count`` or Ctrl-C; returns what was sent.

    ``watch``, when given, is asked once a second for one line per processor to show under the figures.
    ``bad_every`` > 0: that often (seconds) also send one bad record per dead-letter reason
    (``services.sim.poison``), raw, as a broken producer would.
    """
    stopper = stopper or Stopper()
    create_topics(settings)
    start = datetime.now(UTC) - timedelta(days=365)
    sim = TrafficSimulator(seed, start=start, pseudonym=citizen_hasher(settings))
    summary = Summary()
    tick = 0.2
    console = Console()
    with (
        Publisher(settings) as publisher,
        Live(summary.table(rate), console=console, refresh_per_second=4, transient=False)
        if live
        else _NoLive() as screen,
    ):
        next_tick = watched = time.monotonic()
        spoiled = next_tick - bad_every
        while not stopper.stopped and (not count or summary.published < count):
            want = max(1, round(rate * tick))
            if count:
                want = min(want, count - summary.published)
            now = datetime.now(UTC)
            batch = [
                (s.event, EventMeta(source=s.source, time=min(s.time, now))) for s in sim.next_batch(want)
            ]
            for result, (payload, meta) in zip(publisher.publish_many(batch), batch, strict=True):
                summary.published += 1
                summary.by_topic[result.topic] += 1
                summary.by_type[payload.SCHEMA] += 1
                summary.sources.add(meta.source)
                summary.last_offset[result.topic] = max(
                    summary.last_offset.get(result.topic, 0), result.offset
                )
            if bad_every > 0 and batch and time.monotonic() - spoiled >= bad_every:
                summary.bad += send_bad_records(publisher, *batch[0], now)
                spoiled = time.monotonic()
            if watch is not None and time.monotonic() - watched > 1.0:
                summary.processors = watch()
                watched = time.monotonic()
            screen.update(summary.table(rate))
            next_tick += tick
            time.sleep(max(0.0, next_tick - time.monotonic()))
    log.info("simulator_stopped", published=summary.published, bad=summary.bad)
    return summary


def send_bad_records(publisher: Publisher, payload: EventModel, meta: EventMeta, now: datetime) -> int:
    """Send the bad records made from one valid event, raw (acknowledged); returns how many."""
    good = publisher.prepare(payload, meta)
    records = bad_records(good, publisher.codec, now, publisher.settings.topic)
    futures = [publisher.producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in records]
    publisher.producer.flush(30)
    for future in futures:
        future.get(30)
    return len(records)


class _NoLive:
    """Stands in for rich's Live when stdout is not a terminal."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _renderable: object) -> None:
        return None
