"""The passport service's fair booking: decisions per second, and request -> decision at 500 requests/s.

Throughput: 10,000 appointment requests (the integration test's race: touts, repeats, people without
identity, 20 offices) wait on ``passport`` before one worker starts; the clock runs from the first decision
on ``passport.decisions`` until every request has its decision, through the intake and the three stages.
Latency: requests published at a steady 500/s for 20 s to a ready worker; a consumer of
``passport.decisions`` notes when each request's decision arrives. A request undecided after 10 s counts
as 10 s. Goal (the issue's): >= 2,000 decisions/s, p99 <= 250 ms at 500 requests/s.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from bench.common import broker_for, latency_figures, write_result
from deploy.kafka.launcher import KafkaCluster, free_port
from services.bus.catalogue import CATALOGUE, create_topics
from services.bus.codec import AvroCodec
from services.bus.publisher import EventMeta, Publisher
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.passport.topics import DECISIONS, PASSPORT_TOPICS
from tests.integration.passport_harness import Race, passport_worker, publish, race, wait_for_decisions
from tests.integration.registry_harness import ProcessorWorker

PARTITIONS = 3
RATE = 500
SECONDS = 20
TRACK_SECONDS = 10.0


def _settings(bootstrap: str, prefix: str) -> BusSettings:
    settings = BusSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=PARTITIONS)
    create_topics(settings, (*CATALOGUE, *PASSPORT_TOPICS))
    return settings


def _traffic(settings: BusSettings, requests: int, seed: int) -> Race:
    """The integration test's race scaled to ``requests``: 3 % repeats, a tout per thousand requests with 40
    requests each, 1 % without identity, 1 % made for someone else, the rest citizens asking once; 20
    offices with 25 places each.
    """
    share = requests // 100
    touts = max(1, share // 10)
    return race(
        settings,
        offices=20,
        capacity=25,
        citizens=requests - 3 * share - 40 * touts - 2 * share,
        repeats=3 * share,
        touts=touts,
        per_tout=40,
        nameless=share,
        proxies=share,
        seed=seed,
    )


def _worker(settings: BusSettings, tmp: Path) -> ProcessorWorker:
    port = free_port()
    worker = passport_worker(settings, tmp, "w0", port, [port])
    worker.datadir.parent.mkdir(parents=True, exist_ok=True)
    worker.start()
    return worker


def throughput(bootstrap: str, tmp: Path, requests: int = 10_000) -> dict[str, float]:
    """Decisions/s through intake and stages, one worker, on a backlog of requests."""
    settings = _settings(bootstrap, "ptp.")
    traffic = _traffic(settings, requests, seed=21)
    publish(settings, traffic)
    worker = _worker(settings, tmp / "tp")
    started = time.perf_counter()
    first: float | None = None
    try:
        consumer = _decision_consumer(settings)
        seen: set[str] = set()
        codec = AvroCodec(load_registry(settings.schemas_dir))
        while len(seen) < len(traffic.requests):
            for records in consumer.poll(timeout_ms=200).values():
                for message in records:
                    seen.add(str(codec.decode(message.value).record["request_id"]))
            if seen and first is None:
                first = time.perf_counter()
            if time.perf_counter() - started > 900:
                raise AssertionError(f"only {len(seen)} decided in 900 s:\n{worker.tail()}")
        consumer.close()
        now = time.perf_counter()
    finally:
        worker.stop()
    assert first is not None
    return {
        "requests": len(traffic.requests),
        "seconds": round(now - first, 2),
        "decisions_per_s": len(traffic.requests) / (now - first),
        "seconds_from_start": round(now - started, 2),
    }


def _decision_consumer(settings: BusSettings) -> KafkaConsumer:
    consumer = KafkaConsumer(
        settings.topic(DECISIONS),
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    consumer.poll(timeout_ms=0)
    return consumer


def latency(bootstrap: str, tmp: Path) -> dict[str, float]:
    """Request published -> its decision on ``passport.decisions``, at ``RATE`` requests/s, one worker."""
    settings = _settings(bootstrap, "plat.")
    traffic = _traffic(settings, RATE * SECONDS, seed=22)
    publish(settings, Race(day=traffic.day, capacity=traffic.capacity, quotas=traffic.quotas))
    worker = _worker(settings, tmp / "lat")
    worker.wait_until(lambda: (worker.get("/stats") or {}).get("ready", False), 120, "ready")
    sent: dict[str, float] = {}
    decided: dict[str, float] = {}
    done = threading.Event()
    codec = AvroCodec(load_registry(settings.schemas_dir))

    def follow() -> None:
        consumer = _decision_consumer(settings)
        try:
            while not done.is_set():
                for records in consumer.poll(timeout_ms=50).values():
                    arrived = time.perf_counter()
                    for message in records:
                        decided.setdefault(str(codec.decode(message.value).record["request_id"]), arrived)
        finally:
            consumer.close()

    follower = threading.Thread(target=follow, name="decision-follower")
    follower.start()
    try:
        with Publisher(settings) as publisher:
            tick = 0.05
            per_tick = int(RATE * tick)
            next_tick = time.perf_counter()
            for lo in range(0, len(traffic.requests), per_tick):
                batch = traffic.requests[lo : lo + per_tick]
                now = time.perf_counter()
                publisher.send_prepared([publisher.prepare(r, EventMeta(source=r.office)) for r in batch])
                sent.update((r.request_id, now) for r in batch)
                next_tick += tick
                time.sleep(max(0.0, next_tick - time.perf_counter()))
        wait_for_decisions(settings, len(traffic.requests), 60 + TRACK_SECONDS, lambda: None)
    finally:
        done.set()
        follower.join()
        worker.stop()
    latencies = [min(decided.get(rid, at + TRACK_SECONDS) - at, TRACK_SECONDS) for rid, at in sent.items()]
    return {"rate": RATE, "seconds": SECONDS, **latency_figures(latencies, TRACK_SECONDS)}


def main(cluster: KafkaCluster | None = None) -> dict[str, Any]:
    """Throughput, then latency, on ``cluster`` (its own broker when None)."""
    with broker_for(cluster) as used, tempfile.TemporaryDirectory(prefix="bench-passport-") as tmp:
        rate = throughput(used.bootstrap_servers, Path(tmp))
        lat = latency(used.bootstrap_servers, Path(tmp))
    result = {"throughput": rate, "latency": lat, "goal_decisions_per_s": 2_000, "goal_p99_ms": 250}
    path = write_result("passport", result)
    print(
        f"passport: {rate['decisions_per_s']:,.0f} decisions/s on one worker; request->decision p50/p99 "
        f"at {RATE:,}/s {lat['p50_ms']:,.0f}/{lat['p99_ms']:,.0f} ms; written to {path}"
    )
    return result
