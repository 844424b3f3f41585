"""SDK publish (validate + key + encode + envelope + send, acks=all) against raw kafka-python sending the
same already-encoded bytes and headers with the same producer settings, to the same broker in one run.

Goal: SDK >= 0.7x raw. ``publish_many`` pauses Python's cyclic collector for its batch (its objects are
freed by reference counting); the raw side is timed with the collector paused too, so neither pays a pass
over the bench process's other objects. Rounds alternate SDK and raw on fresh topics so neither gets a
warmer broker.
"""

from __future__ import annotations

import gc
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer

from bench.common import broker_for, write_result
from deploy.kafka.launcher import KafkaCluster
from services.bus.catalogue import create_topics
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator

EVENTS = 20_000
ROUNDS = 3


def main(cluster: KafkaCluster | None = None) -> dict[str, Any]:
    """SDK against raw kafka-python on ``cluster`` (a broker of its own when None)."""
    sim = TrafficSimulator(42, start=datetime.now(UTC) - timedelta(days=60))
    batch = [(s.event, EventMeta(source=s.source, time=s.time)) for s in sim.next_batch(EVENTS)]
    sdk_rates: list[float] = []
    raw_rates: list[float] = []
    with broker_for(cluster) as used:
        for round_no in range(ROUNDS):
            sdk_settings = BusSettings(
                bootstrap_servers=used.bootstrap_servers, topic_prefix=f"sdk{round_no}."
            )
            raw_settings = BusSettings(
                bootstrap_servers=used.bootstrap_servers, topic_prefix=f"raw{round_no}."
            )
            create_topics(sdk_settings)
            create_topics(raw_settings)
            with Publisher(sdk_settings) as publisher:
                publisher.publish_many(batch[:200])  # connect and warm up outside the timing
                started = time.perf_counter()
                publisher.publish_many(batch)
                sdk_rates.append(EVENTS / (time.perf_counter() - started))
                encoded = [publisher.prepare(p, m) for p, m in batch]
            producer = KafkaProducer(**producer_config(raw_settings))
            for o in encoded[:200]:
                producer.send(
                    raw_settings.topic(o.topic.split(".", 1)[1]), o.value, key=o.key, headers=o.headers
                )
            producer.flush()
            gc.disable()  # as publish_many does for its batch: neither side pays a collector pass
            started = time.perf_counter()
            futures = [
                producer.send(
                    raw_settings.topic(o.topic.split(".", 1)[1]), o.value, key=o.key, headers=o.headers
                )
                for o in encoded
            ]
            producer.flush()
            for f in futures:
                f.get(60)
            raw_rates.append(EVENTS / (time.perf_counter() - started))
            gc.enable()
            producer.close()
    sdk, raw = statistics.median(sdk_rates), statistics.median(raw_rates)
    ratio = sdk / raw
    result = {
        "events": EVENTS,
        "rounds": ROUNDS,
        "sdk_events_per_s": sdk_rates,
        "raw_events_per_s": raw_rates,
        "sdk_median": round(sdk),
        "raw_median": round(raw),
        "ratio": round(ratio, 3),
        "goal_ratio": 0.7,
    }
    path = write_result("publish", result)
    print(
        f"publish: SDK {sdk:,.0f} events/s, raw kafka-python {raw:,.0f}, SDK/raw {ratio:.2f}x; "
        f"written to {path}"
    )
    return result
