"""Publishing through the SDK and consuming with the helper, on the real broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.bus.catalogue import create_topics
from services.bus.consumer import BusConsumer
from services.bus.events import BusEvent
from services.bus.publisher import EventMeta, Publisher
from services.bus.reading import read_one
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator


def consume(settings: BusSettings, topics: list[str], want: int, timeout: float = 60.0) -> list[BusEvent]:
    """Read until ``want`` events arrived (or the timeout), committing as a processor would."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    got: list[BusEvent] = []
    with BusConsumer(topics, group_id=f"g-{uuid.uuid4().hex}", component="test", settings=settings) as c:
        while len(got) < want and datetime.now(UTC) < deadline:
            got.extend(c.poll(timeout_ms=500))
            c.commit()
    return got


class TestPublishConsume:
    def test_events_keys_and_headers_arrive_identical(self, bus_settings: BusSettings) -> None:
        """Every simulated event type published comes back with the same payload, key and envelope."""
        create_topics(bus_settings)
        sim = TrafficSimulator(7, start=datetime.now(UTC) - timedelta(days=10))
        batch = sim.next_batch(600)
        with Publisher(bus_settings) as publisher:
            outgoing = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in batch]
            results = publisher.send_prepared(outgoing)
        assert len(results) == len(batch)
        sent = {o.envelope.id: (o, s.event) for o, s in zip(outgoing, batch, strict=True)}
        got = consume(bus_settings, ["citizen", "passport", "passport.quotas", "protection"], len(batch))
        assert len(got) == len(batch)
        for event in got:
            o, payload = sent[event.id]
            assert event.key.encode() == o.key
            assert event.envelope == o.envelope
            assert event.payload == payload
        assert {e.payload.SCHEMA for e in got} == {s.event.SCHEMA for s in batch}

    def test_per_key_order_is_kept(self, bus_settings: BusSettings) -> None:
        """Events of one aggregate are consumed in the order they were published."""
        create_topics(bus_settings)
        sim = TrafficSimulator(11, start=datetime.now(UTC) - timedelta(days=10))
        batch = sim.next_batch(800)
        with Publisher(bus_settings) as publisher:
            outgoing = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in batch]
            publisher.send_prepared(outgoing)
        sent_order: dict[bytes, list[str]] = {}
        for o in outgoing:
            sent_order.setdefault(o.key, []).append(o.envelope.id)
        got_order: dict[bytes, list[str]] = {}
        for e in consume(bus_settings, ["citizen", "passport", "passport.quotas", "protection"], len(batch)):
            got_order.setdefault(e.key.encode(), []).append(e.id)
        assert got_order == sent_order

    def test_idempotent_producer_is_really_on(self, bus_settings: BusSettings) -> None:
        """The producer runs with idempotence: acks=all and a broker-assigned producer id."""
        create_topics(bus_settings)
        sim = TrafficSimulator(3, start=datetime.now(UTC) - timedelta(days=1))
        with Publisher(bus_settings) as publisher:
            s = sim.next_batch(1)[0]
            publisher.publish(s.event, EventMeta(source=s.source, time=s.time))
            producer = publisher.producer
            assert producer.config["enable_idempotence"] is True
            assert producer.config["acks"] == -1 or producer.config["acks"] == "all"
            pid = producer._transaction_manager.producer_id_and_epoch.producer_id
            assert pid >= 0

    def test_publish_returns_the_stored_offset(self, bus_settings: BusSettings) -> None:
        """The partition and offset returned are where the record really is."""
        create_topics(bus_settings)
        sim = TrafficSimulator(5, start=datetime.now(UTC) - timedelta(days=1))
        s = sim.next_batch(1)[0]
        with Publisher(bus_settings) as publisher:
            result = publisher.publish(s.event, EventMeta(source=s.source, time=s.time))
        record = read_one(bus_settings, result.topic, result.partition, result.offset)
        assert record is not None
        assert dict(record.headers)["ce_id"].decode() == result.event_id
