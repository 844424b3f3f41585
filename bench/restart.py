"""Restart to ready: the registry worker SIGKILLed mid-stream and started again, five times.

Each round: the worker has folded what was published; it is SIGKILLed while events keep arriving, 200
more are published while it is down, and it is started again (same data directory, so the same static
group membership id). Measured from the start command: until ``/stats`` says ready (state restored and
caught up), and until the first item published while it was down is folded. Goal: under 5 s. Before static
membership the same took about 60 s (the dead member's session had to time out before its partitions
were handed to the new one).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import broker_for, write_result
from deploy.kafka.launcher import KafkaCluster
from services.bus.catalogue import create_topics
from services.bus.publisher import EventMeta, Publisher
from services.bus.settings import BusSettings
from services.registry.topics import OBSERVATIONS
from services.sim.simulator import TrafficSimulator
from tests.integration.registry_harness import RegistryWorker, end_offset_sum

ROUNDS = 5
WARM_EVENTS = 3_000
DOWN_EVENTS = 200


def folded(worker: RegistryWorker, settings: BusSettings, at_least: int) -> bool:
    applied: int = (worker.get("/registry/stats") or {}).get("next_offset", 0)
    return applied >= max(at_least, end_offset_sum(settings, OBSERVATIONS))


def applied_past(worker: RegistryWorker, before: int) -> bool:
    applied: int = (worker.get("/registry/stats") or {}).get("next_offset", 0)
    return applied > before


def rounds(bootstrap: str, tmp: Path) -> list[dict[str, float]]:
    settings = BusSettings(bootstrap_servers=bootstrap, topic_prefix="rs.")
    create_topics(settings)
    sim = TrafficSimulator(11, start=datetime.now(UTC) - timedelta(days=200))
    worker = RegistryWorker.create(settings, tmp)
    results = []
    with Publisher(settings) as publisher:

        def publish(count: int) -> None:
            now = datetime.now(UTC)
            publisher.publish_many(
                (s.event, EventMeta(source=s.source, time=min(s.time, now))) for s in sim.next_batch(count)
            )

        publish(WARM_EVENTS)
        worker.start()
        for _ in range(ROUNDS):
            worker.wait_until(lambda: folded(worker, settings, 1), 180, "everything folded")
            applied = (worker.get("/registry/stats") or {})["next_offset"]
            worker.kill()
            publish(DOWN_EVENTS)
            began = time.monotonic()
            worker.start()
            answered = time.monotonic() - began
            worker.wait_until(lambda: (worker.get("/stats") or {}).get("ready") is True, 120, "ready")
            ready = time.monotonic() - began
            worker.wait_until(partial(applied_past, worker, applied), 120, "a new item")
            first = time.monotonic() - began
            results.append({"http_s": answered, "ready_s": ready, "first_item_s": first})
        worker.stop()
    return results


def main(cluster: KafkaCluster | None = None) -> dict[str, Any]:
    """Five SIGKILL-and-restart rounds on ``cluster`` (a broker of its own when None)."""
    with broker_for(cluster) as used, tempfile.TemporaryDirectory(prefix="bench-restart-") as tmp:
        measured = rounds(used.bootstrap_servers, Path(tmp))
    medians = {
        name: statistics.median(r[name] for r in measured) for name in ("http_s", "ready_s", "first_item_s")
    }
    result = {"rounds": measured, "median": medians, "goal_ready_s": 5.0}
    path = write_result("restart", result)
    print(
        f"restart: ready {medians['ready_s']:.2f} s, first new item {medians['first_item_s']:.2f} s "
        f"after the start command (median of {ROUNDS}); written to {path}"
    )
    return result
