"""The protection-case view: throughput on one worker and on two, and publish -> case visible at 1,000/s.

Throughput: 20,000 simulated protection events wait on the ``protection`` topic (4 partitions) before the
workers start; the clock runs from the first item folded until every item of ``protection.items`` is
applied by the workers (intake and core both), once with one worker and once with two in one group.
Latency: protection events published at a steady 1,000/s for 20 s on one worker; every 50th is tracked:
one poller asks the HTTP view for its case (each ask a recorded lookup, as an officer's would be) until
the event is in the case's history or refused list. An event not visible within 10 s counts as 10 s.
Goal (the issue's): >= 5,000 events/s per worker, p99 <= 250 ms at 1,000/s.
"""

from __future__ import annotations

import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from bench.common import broker_for, latency_figures, write_result
from deploy.kafka.launcher import KafkaCluster, free_port
from services.bus.catalogue import CATALOGUE, create_topics
from services.bus.publisher import Publisher
from services.bus.reading import end_offsets
from services.bus.settings import BusSettings
from services.protection.topics import ITEMS, PROTECTION_TOPICS
from services.registry.topics import REGISTRY_TOPICS
from tests.integration.protection_harness import WHO, case_traffic, get, protection_worker, send
from tests.integration.registry_harness import ProcessorWorker

PARTITIONS = 4
THROUGHPUT_EVENTS = 20_000
RATE = 1_000
SECONDS = 20
SAMPLE_EVERY = 50
TRACK_SECONDS = 10.0
POLL_SECONDS = 0.01


def _settings(bootstrap: str, prefix: str) -> BusSettings:
    settings = BusSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=PARTITIONS)
    create_topics(settings, (*CATALOGUE, *REGISTRY_TOPICS, *PROTECTION_TOPICS))
    return settings


def _workers(settings: BusSettings, tmp: Path, count: int) -> list[ProcessorWorker]:
    ports = [free_port() for _ in range(count)]
    workers = [protection_worker(settings, tmp, f"w{n}", port, ports) for n, port in enumerate(ports)]
    for worker in workers:
        worker.datadir.parent.mkdir(parents=True, exist_ok=True)
        worker.start()
    return workers


def _applied(workers: list[ProcessorWorker]) -> int:
    """Items applied over every partition, each counted once (by the worker that owns it)."""
    progress: dict[str, int] = {}
    for worker in workers:
        for partition, entry in ((worker.get("/stats") or {}).get("partitions") or {}).items():
            progress[partition] = max(progress.get(partition, 0), entry["progress"])
    return sum(progress.values())


def throughput(bootstrap: str, tmp: Path, count: int) -> dict[str, float]:
    """Events/s through intake and core with ``count`` workers on a backlog of protection events."""
    settings = _settings(bootstrap, f"tp{count}.")
    outgoing, _ = case_traffic(settings, THROUGHPUT_EVENTS, seed=11, days=400)
    send(settings, outgoing)
    workers = _workers(settings, tmp / f"tp{count}", count)
    first: tuple[float, int] | None = None
    started = time.perf_counter()
    try:
        while True:
            applied = _applied(workers)
            now = time.perf_counter()
            if first is None and applied > 0:
                first = (now, applied)
            ends = end_offsets(settings, settings.topic(ITEMS))
            if sum(ends.values()) >= THROUGHPUT_EVENTS and applied >= sum(ends.values()):
                break
            if now - started > 600:
                raise AssertionError(f"the backlog was not folded in 600 s:\n{workers[0].tail()}")
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.stop()
    assert first is not None
    return {
        "workers": count,
        "events": THROUGHPUT_EVENTS,
        "items": applied,
        "seconds": round(now - first[0], 2),
        "events_per_s": THROUGHPUT_EVENTS * (applied - first[1]) / applied / (now - first[0]),
    }


def latency(bootstrap: str, tmp: Path) -> dict[str, float]:
    """Publish -> case visible in the HTTP view at ``RATE`` events/s, one worker."""
    settings = _settings(bootstrap, "lat.")
    outgoing, events = case_traffic(settings, RATE * SECONDS, seed=12, days=400)
    (worker,) = _workers(settings, tmp / "lat", 1)
    worker.wait_until(lambda: (worker.get("/stats") or {}).get("ready", False), 120, "ready")
    pending: list[tuple[str, str, float]] = []
    latencies: list[float] = []
    lock = threading.Lock()
    done = threading.Event()

    def track() -> None:
        while not done.is_set() or pending:
            with lock:
                current = list(pending)
            for item in current:
                case_id, event_id, sent_at = item
                status, body = get(worker, f"/protection/cases/{urllib.parse.quote(case_id, safe='')}", WHO)
                waited = time.perf_counter() - sent_at
                seen = status == 200 and any(
                    entry.get("event_id") == event_id
                    for entry in (*body.get("history", ()), *body.get("refused", ()))
                )
                if not seen and waited < TRACK_SECONDS:
                    continue
                with lock:
                    pending.remove(item)
                    latencies.append(waited if seen else TRACK_SECONDS)
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=track, name="latency-poller")
    poller.start()
    publisher = Publisher(settings)
    try:
        tick = 0.05
        per_tick = int(RATE * tick)
        next_tick = time.perf_counter()
        for lo in range(0, len(outgoing), per_tick):
            batch = outgoing[lo : lo + per_tick]
            sent_at = time.perf_counter()
            publisher.send_prepared(batch)
            for n, event in enumerate(events[lo : lo + per_tick], start=lo):
                if n % SAMPLE_EVERY == 0:
                    with lock:
                        pending.append((str(event.payload.case_id), event.id, sent_at))  # type: ignore[attr-defined]
            next_tick += tick
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        done.set()
        poller.join()
    finally:
        done.set()
        publisher.close()
        worker.stop()
    return {"rate": RATE, "seconds": SECONDS, **latency_figures(latencies, TRACK_SECONDS)}


def main(cluster: KafkaCluster | None = None) -> dict[str, Any]:
    """Throughput on one and two workers, then latency, on ``cluster`` (its own broker when None)."""
    with broker_for(cluster) as used, tempfile.TemporaryDirectory(prefix="bench-protection-") as tmp:
        rates = [throughput(used.bootstrap_servers, Path(tmp), count) for count in (1, 2)]
        lat = latency(used.bootstrap_servers, Path(tmp))
    result = {"throughput": rates, "latency": lat, "goal_events_per_s": 5_000, "goal_p99_ms": 250}
    path = write_result("protection", result)
    print(
        f"protection: {rates[0]['events_per_s']:,.0f} events/s on one worker, "
        f"{rates[1]['events_per_s']:,.0f} on two; publish->case p50/p99 at {RATE:,}/s "
        f"{lat['p50_ms']:,.0f}/{lat['p99_ms']:,.0f} ms; written to {path}"
    )
    return result
