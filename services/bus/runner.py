"""``bus run`` and ``bus simulate``: the dev broker, the topics, simulated traffic and a live summary.

Simulated time starts in the past and is clamped to the wall clock, so events are never from the future
however fast the simulator runs, and per-aggregate order is kept.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from services.bus.catalogue import create_topics
from services.bus.logs import get_logger
from services.bus.offices import all_offices
from services.bus.publisher import EventMeta, Publisher
from services.bus.settings import REPO_ROOT, BusSettings
from services.bus.simulator import TrafficSimulator

log = get_logger("runner")


@dataclass
class Summary:
    """What the live screen shows."""

    started: float = field(default_factory=time.monotonic)
    published: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    sources: set[str] = field(default_factory=set)
    last_offset: dict[str, int] = field(default_factory=dict)
    processors: dict[str, str] = field(default_factory=dict)
    """Processor name -> one line of its live state, when ``watch_processors`` is on."""

    def table(self, rate: float) -> Table:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        t = Table(
            title=f"mission service bus: {self.published} events, {self.published / elapsed:.0f}/s "
            f"(target {rate:.0f}/s), {len(self.sources)} of {len(all_offices())} offices and agencies seen",
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


def processor_lines() -> dict[str, str]:
    """What the processors' own HTTP views say now; a processor that does not answer says so."""
    from services.registry.client import RegistryClient

    client = RegistryClient.from_env()
    try:
        stats = RegistryClient(client.base_url, timeout=0.3).get("/registry/stats")
    except LookupError:
        return {"registry": "starting or not answering"}
    ready = "" if stats.get("ready") else ", rebuilding"
    return {"registry": f"{stats['citizens']} citizens, {stats['next_offset']} items applied{ready}"}


class Stopper:
    """Turns SIGINT/SIGTERM into a flag so loops finish their batch and close cleanly."""

    def __init__(self) -> None:
        self.stopped = False
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = True


def run_simulator(
    settings: BusSettings,
    *,
    rate: float,
    count: int = 0,
    seed: int = 1,
    live: bool = True,
    stopper: Stopper | None = None,
    watch_processors: bool = False,
) -> Summary:
    """Publish simulated events at ``rate``/s until ``count`` or Ctrl-C; returns what was sent."""
    stopper = stopper or Stopper()
    create_topics(settings)
    sim = TrafficSimulator(seed, start=datetime.now(UTC) - timedelta(days=365))
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
            if watch_processors and time.monotonic() - watched > 1.0:
                summary.processors = processor_lines()
                watched = time.monotonic()
            screen.update(summary.table(rate))
            next_tick += tick
            time.sleep(max(0.0, next_tick - time.monotonic()))
    log.info("simulator_stopped", published=summary.published)
    return summary


class _NoLive:
    """Stands in for rich's Live when stdout is not a terminal."""

    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, renderable: object) -> None:
        return None


PROCESSORS = ("registry",)


def start_processors(log_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """Each processor in its own process (they scale and fail independently), logs under ``log_dir``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}
    for name in PROCESSORS:
        with (log_dir / f"{name}.log").open("ab") as out:
            children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "services", name, "worker"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    return children


def stop_processors(children: dict[str, subprocess.Popen[bytes]], timeout: float = 20.0) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for name, child in children.items():
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("processor_killed", processor=name)
            child.kill()
            child.wait()


def run_bus(settings: BusSettings, *, rate: float, seed: int, start_broker: bool) -> None:
    """Everything `make run` promises: broker, topics, processors, simulator; Ctrl-C stops it all cleanly."""
    from deploy.kafka.launcher import KafkaCluster

    stopper = Stopper()
    cluster = KafkaCluster() if start_broker else None
    started = cluster.start() if cluster is not None else False
    if cluster is not None:
        log.info("kafka_up", bootstrap=cluster.bootstrap_servers, started=started)
    create_topics(settings)
    children = start_processors(REPO_ROOT / "var" / "log")
    log.info("processors_started", processors=list(children), logs=str(REPO_ROOT / "var" / "log"))
    try:
        run_simulator(settings, rate=rate, seed=seed, live=True, stopper=stopper, watch_processors=True)
    finally:
        stop_processors(children)
        log.info("processors_stopped")
        if cluster is not None and started:
            cluster.stop()
            log.info("kafka_stopped")
