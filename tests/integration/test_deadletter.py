"""Bad input on a domain topic: the consumer neither crashes nor skips it; it lands in bus.deadletter."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.bus.catalogue import create_topics
from services.bus.consumer import BusConsumer
from services.bus.publisher import EventMeta, Outgoing, Publisher, producer_config
from services.bus.settings import BusSettings
from services.cli.deadletters import read_deadletters, replay_deadletter
from services.sim.simulator import TrafficSimulator
from tests.integration.bad_input import bad_records


def a_valid_outgoing(settings: BusSettings, seed: int = 1) -> Outgoing:
    sim = TrafficSimulator(seed, start=datetime.now(UTC) - timedelta(days=3))
    s = next(x for x in sim.next_batch(50) if x.event.TOPIC == "citizen")
    with Publisher(settings) as publisher:
        return publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))


class TestDeadLetters:
    def test_each_kind_of_bad_input_is_deadlettered_with_its_reason(self, bus_settings: BusSettings) -> None:
        """Garbage, unknown fingerprint, truncated body, missing header, unknown source and a future time are
        each routed to bus.deadletter with reason, original bytes, topic, partition and offset; the valid
        record after them is still delivered.
        """
        create_topics(bus_settings)
        good = a_valid_outgoing(bus_settings)
        producer = KafkaProducer(**producer_config(bus_settings))
        sent = {}
        for label, (value, headers) in bad_records(good).items():
            meta = producer.send(good.topic, value, key=good.key, headers=headers).get(30)
            sent[label] = (value, meta)
        producer.send(good.topic, good.value, key=good.key, headers=good.headers).get(30)
        producer.close()

        accepted = []
        with BusConsumer(
            ["citizen"], group_id=f"g-{uuid.uuid4().hex}", component="test-consumer", settings=bus_settings
        ) as consumer:
            for _ in range(40):
                accepted.extend(consumer.poll(timeout_ms=500))
                consumer.commit()
                if accepted:
                    break
        assert [e.id for e in accepted] == [good.envelope.id]

        letters = {d.original_offset: d for d in read_deadletters(bus_settings, limit=100)}
        assert len(letters) == len(sent)
        expected_reason = {"TRUNCATED": "MALFORMED"}
        for label, (value, meta) in sent.items():
            letter = letters[meta.offset]
            assert letter.reason == expected_reason.get(label, label)
            assert letter.value == value
            assert letter.key == good.key
            assert letter.topic == good.topic
            assert letter.original_partition == meta.partition
            assert letter.component == "test-consumer"
            assert letter.detail

    def test_a_fixed_dead_letter_can_be_republished(self, bus_settings: BusSettings, tmp_path: Path) -> None:
        """A refused payload cannot be replayed as it was, but can with a fixed one; the re-published event
        keeps the original event id, key and source and is accepted by a consumer.
        """
        create_topics(bus_settings)
        sim = TrafficSimulator(2, start=datetime.now(UTC) - timedelta(days=3))
        s = next(x for x in sim.next_batch(50) if x.event.TOPIC == "citizen")
        with Publisher(bus_settings) as publisher:
            good = publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
        producer = KafkaProducer(**producer_config(bus_settings))
        producer.send(good.topic, b"not avro", key=good.key, headers=good.headers).get(30)
        producer.close()
        with BusConsumer(
            ["citizen"], group_id=f"g-{uuid.uuid4().hex}", component="c", settings=bus_settings
        ) as c:
            for _ in range(20):
                c.poll(timeout_ms=500)
                c.commit()
                if list(read_deadletters(bus_settings, limit=1)):
                    break
        letter = next(iter(read_deadletters(bus_settings, limit=1)))
        with pytest.raises(Exception, match=r"single-object"):
            replay_deadletter(bus_settings, partition=letter.partition, offset=letter.offset)
        fixed = tmp_path / "fixed.json"
        fixed.write_text(json.dumps(s.event.model_dump(mode="json")))
        result = replay_deadletter(
            bus_settings, partition=letter.partition, offset=letter.offset, fixed=fixed
        )
        assert result.event_id == good.envelope.id
        with BusConsumer(
            ["citizen"], group_id=f"g-{uuid.uuid4().hex}", component="c", settings=bus_settings
        ) as c:
            events = []
            for _ in range(20):
                events.extend(c.poll(timeout_ms=500))
                if events:
                    break
        assert [(e.id, e.key.encode(), e.envelope.source) for e in events] == [
            (good.envelope.id, good.key, good.envelope.source)
        ]
        assert events[0].payload == s.event

    def test_an_envelope_refusal_is_repaired_with_a_full_event_document(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """A forged second ce_source and a year-one ce_time are refused for their envelopes. --fixed takes a
        full event {type, source, time?, data}: the forged one is re-published with its original event id
        and time (they parse); the year-one one needs a time in the fix and keeps its original id. Both are
        then accepted; as they were, neither can be replayed.
        """
        from services.bus.errors import InvalidEnvelope

        create_topics(bus_settings)
        sim = TrafficSimulator(4, start=datetime.now(UTC) - timedelta(days=3))
        s = next(x for x in sim.next_batch(50) if x.event.TOPIC == "citizen")
        with Publisher(bus_settings) as publisher:
            good = publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
        forged = [*good.headers, ("ce_source", b"kbri-tokyo")]
        year_one = [(k, b"0001-01-01T00:00:00+01:00" if k == "ce_time" else v) for k, v in good.headers]
        producer = KafkaProducer(**producer_config(bus_settings))
        for headers in (forged, year_one):
            producer.send(good.topic, good.value, key=good.key, headers=headers).get(30)
        producer.close()
        with BusConsumer(
            ["citizen"], group_id=f"g-{uuid.uuid4().hex}", component="c", settings=bus_settings
        ) as c:
            for _ in range(40):
                c.poll(timeout_ms=500)
                c.commit()
                if len(list(read_deadletters(bus_settings, limit=2))) == 2:
                    break
        letters = {d.original_offset: d for d in read_deadletters(bus_settings, limit=2)}
        assert [letters[o].reason for o in sorted(letters)] == ["INVALID_ENVELOPE", "INVALID_ENVELOPE"]
        first, second = (letters[o] for o in sorted(letters))
        for letter in (first, second):
            with pytest.raises(InvalidEnvelope):
                replay_deadletter(bus_settings, partition=letter.partition, offset=letter.offset)

        fixed = tmp_path / "fixed.json"
        data = s.event.model_dump(mode="json")
        fixed.write_text(json.dumps({"type": "StayReported", "source": s.source, "data": data}))
        repaired = replay_deadletter(
            bus_settings, partition=first.partition, offset=first.offset, fixed=fixed
        )
        assert repaired.event_id == good.envelope.id
        with pytest.raises(InvalidEnvelope, match="time"):
            replay_deadletter(bus_settings, partition=second.partition, offset=second.offset, fixed=fixed)
        new_time = "2026-01-02T03:04:05.678Z"
        fixed.write_text(
            json.dumps({"type": "StayReported", "source": s.source, "time": new_time, "data": data})
        )
        again = replay_deadletter(bus_settings, partition=second.partition, offset=second.offset, fixed=fixed)
        assert again.event_id == good.envelope.id

        with BusConsumer(
            ["citizen"], group_id=f"g-{uuid.uuid4().hex}", component="c", settings=bus_settings
        ) as c:
            events = []
            for _ in range(40):
                events.extend(c.poll(timeout_ms=500))
                if len(events) == 2:
                    break
        assert [(e.id, e.envelope.source, e.payload) for e in events] == [
            (good.envelope.id, s.source, s.event),
            (good.envelope.id, s.source, s.event),
        ]
        assert sorted(e.envelope.time for e in events) == sorted(
            [good.envelope.time, datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)]
        )
