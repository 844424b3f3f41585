"""Replay from Kafka: how fast ``bus replay`` rebuilds each view from history on the broker.

The history is 20,000 simulated events on the domain topics and 2,000 dead letters on ``bus.deadletter``,
loaded with a raw kafka-python producer of records encoded beforehand (so loading costs nothing of ours).
Each view is then replayed from the broker as ``bus replay`` does it (``services.audit.history``: read
and merged by log time, the dead letters read for what to skip, decoded, transformed, partitioned and
folded by the view's projection, rows made from the final state), and the history alone is read and
merged, without folding, to show what reading costs. Rates are source records read per second, beside
what one Kafka consumer fetches (``ConsumerPerformance`` of ``bench.limits``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer

from bench.common import broker_for, print_table, write_result
from deploy.kafka.launcher import KafkaCluster
from services.audit.history import input_partitions, merged, replay_kafka
from services.audit.views import VIEWS, plan
from services.bus.catalogue import CATALOGUE, create_topics, domain_topics
from services.bus.deadletter import deadletter_headers
from services.bus.decoder import RawRecord
from services.bus.errors import MalformedPayload
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator

EVENTS = 20_000
DEADLETTERS = 2_000


def load(settings: BusSettings) -> int:
    """The history on the broker, sent raw; the number of records sent."""
    now = datetime.now(UTC)
    sim = TrafficSimulator(17, start=now - timedelta(days=60))
    events = [s for s in sim.next_batch(EVENTS * 2) if s.time < now][:EVENTS]
    publisher = Publisher(settings, producer=object())
    encoded = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in events]
    letters = []
    for n, o in enumerate(encoded[:DEADLETTERS]):
        elsewhere = settings.topic("elsewhere")  # names no record a replay reads, so none is skipped for it
        raw = RawRecord(elsewhere, 0, n, int(now.timestamp() * 1000), o.key, b"x" + o.value, o.headers)
        letters.append(
            (o.key, b"x" + o.value, deadletter_headers(raw, MalformedPayload("bench"), "registry-intake"))
        )
    producer = KafkaProducer(**producer_config(settings))
    try:
        for o in encoded:
            producer.send(o.topic, o.value, key=o.key, headers=o.headers)
        for key, value, headers in letters:
            producer.send(settings.topic("bus.deadletter"), value, key=key, headers=headers)
        producer.flush(120)
    finally:
        producer.close(30)
    return len(encoded) + len(letters)


def main(cluster: KafkaCluster | None = None) -> dict[str, Any]:
    """Every view replayed from the broker, and the history read alone."""
    with broker_for(cluster) as used:
        settings = BusSettings(bootstrap_servers=used.bootstrap_servers, topic_prefix="replay.")
        create_topics(settings, CATALOGUE)
        loaded = load(settings)
        sources = [settings.topic(t) for t in (*domain_topics(), "bus.deadletter")]
        started = time.perf_counter()
        read = sum(1 for _ in merged(settings, sources))
        read_seconds = time.perf_counter() - started
        views: list[dict[str, Any]] = []
        for view in VIEWS:
            probe = plan(view, settings)
            replay_plan = plan(
                view, settings, partitions=input_partitions(settings, probe.projection.input_topic)
            )
            started = time.perf_counter()
            outcome = replay_kafka(settings, replay_plan)
            seconds = time.perf_counter() - started
            views.append(
                {
                    "view": view,
                    "records": outcome.counts.read,
                    "applied": outcome.counts.applied,
                    "rows": len(outcome.rows),
                    "seconds": round(seconds, 2),
                    "records_per_s": round(outcome.counts.read / seconds),
                }
            )
    total_records = sum(v["records"] for v in views)
    total_seconds = sum(v["seconds"] for v in views)
    read_rate = round(read / read_seconds)
    result: dict[str, Any] = {
        "loaded": loaded,
        "read_only": {
            "records": read,
            "seconds": round(read_seconds, 2),
            "records_per_s": read_rate,
        },
        "views": views,
        "all_views_records_per_s": round(total_records / total_seconds),
    }
    print_table(
        "replay from Kafka, per view",
        ["view", "records read", "applied", "rows", "s", "records/s"],
        [[v["view"], v["records"], v["applied"], v["rows"], v["seconds"], v["records_per_s"]] for v in views],
    )
    print(f"history read and merged alone: {read:,} records, {read_rate:,}/s")
    print(f"written to {write_result('replay', result)}")
    return result


if __name__ == "__main__":
    main()
