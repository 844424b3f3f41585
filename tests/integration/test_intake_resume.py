"""A first deploy over existing history (a new consumer group on the same topics) forwards nothing twice
and dead-letters nothing twice: the intake resumes after what its output already holds.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from kafka import KafkaProducer

from services.bus.catalogue import create_topics
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.reading import end_offsets
from services.bus.settings import BusSettings
from services.registry.intake import intake_spec
from services.registry.settings import RegistrySettings
from services.registry.topics import OBSERVATIONS, REGISTRY_TOPICS
from services.runtime.intake import Counter, Intake, IntakeCounters
from services.sim.simulator import TrafficSimulator


def total(settings: BusSettings, topic: str) -> int:
    return sum(end_offsets(settings, settings.topic(topic)).values())


def publish(settings: BusSettings, count: int, seed: int) -> None:
    now = datetime.now(UTC)
    sim = TrafficSimulator(seed, start=now - timedelta(days=30), booking=False)  # none of it for the registry
    with Publisher(settings) as publisher:
        publisher.publish_many(
            (s.event, EventMeta(source=s.source, time=min(s.time, now))) for s in sim.next_batch(count)
        )


def run_intake(settings: BusSettings, done) -> IntakeCounters:
    """An intake in this process until ``done(counters)`` says so (or 90 s)."""
    counters = IntakeCounters()
    stop = threading.Event()
    spec = intake_spec(RegistrySettings(datadir="/tmp/unused", web_port=0))
    intake = Intake(settings, spec, counters, should_stop=stop.is_set)
    thread = threading.Thread(target=intake.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not done(counters):
        time.sleep(0.2)
    stop.set()
    thread.join(30)
    assert done(counters)
    return counters


class TestRedeploy:
    def test_a_new_group_resumes_after_what_was_forwarded_and_refused(
        self, bus_settings: BusSettings
    ) -> None:
        """300 events and 3 bad records handled by a first intake; a second one under another group id (a
        redeploy whose offsets are gone) forwards none of them again and dead-letters none again, then
        forwards the next events exactly once.
        """
        create_topics(bus_settings)
        create_topics(bus_settings, REGISTRY_TOPICS)
        publish(bus_settings, 300, seed=71)
        producer = KafkaProducer(**producer_config(bus_settings))
        for _ in range(3):
            producer.send(bus_settings.topic("citizen"), b"not avro", key=b"k", headers=[("ce_id", b"x")])
        producer.flush(30)
        producer.close()
        run_intake(
            bus_settings, lambda c: c.get(Counter.CONSUMED) >= 300 and c.get(Counter.DEADLETTERED) >= 3
        )
        forwarded, refused = total(bus_settings, OBSERVATIONS), total(bus_settings, "bus.deadletter")
        assert forwarded > 0
        assert refused == 3

        redeployed = bus_settings.model_copy(update={"client_id": "mission-bus-redeployed"})
        settled = run_intake(
            redeployed,
            lambda c: time.time() - c.get(Counter.COMMITTED_AT) < 1 and c.get(Counter.WAITING) == 0,
        )
        assert settled.get(Counter.FORWARDED) == 0
        assert total(bus_settings, OBSERVATIONS) == forwarded
        assert total(bus_settings, "bus.deadletter") == refused

        publish(bus_settings, 40, seed=72)
        more = run_intake(redeployed, lambda c: c.get(Counter.CONSUMED) >= 40)
        assert more.get(Counter.CONSUMED) == 40
        assert total(bus_settings, OBSERVATIONS) == forwarded + more.get(Counter.FORWARDED)
