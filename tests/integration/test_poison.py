"""No single record stops a view, against the real broker: the issue's stops, then a few thousand mutated
records, each either accepted or in bus.deadletter with its reason, and valid events still accepted after.

Records are sent with a raw kafka-python producer, as any outside producer could; a header name that is
not UTF-8 is sent through ``RawName`` (kafka-python writes ``name.encode("utf-8")`` as it comes back).
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer, TopicPartition

from services.bus import reading
from services.bus.catalogue import create_topics
from services.bus.consumer import BusConsumer
from services.bus.deadletter import DeadLetter, record_size
from services.bus.decoder import EventDecoder
from services.bus.errors import BusError
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.deadletters import read_deadletters
from services.sim.simulator import TrafficSimulator
from tests.unit.test_fuzz_decoder import CE_NAMES, EDGE_TIMES, MUTATIONS, Knobs, Sample, valid_samples

TOPICS = ("citizen", "passport", "protection")
LIMIT = 1_048_588  # the broker's default max.message.bytes
FUZZ_RECORDS = 5000


class RawName(str):
    """A header name held as text with lone surrogates for the bytes that are not UTF-8 (as
    ``bytes.decode("utf-8", "surrogateescape")`` gives them); it encodes back to those very bytes.
    """

    __slots__ = ()

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:  # noqa: ARG002 - always raw
        return str.encode(self, "utf-8", "surrogateescape")


def raw_producer(settings: BusSettings) -> KafkaProducer:
    """The bus's producer settings, but willing to send records up to the broker's own limit."""
    return KafkaProducer(**{**producer_config(settings), "max_request_size": 2 * LIMIT})


def wire_headers(sample: Sample) -> list[tuple[str, bytes]]:
    """Headers as kafka-python sends them: names with lone surrogates become their raw bytes."""
    out: list[tuple[str, bytes]] = []
    for name, value in sample.headers:
        has_raw = any(0xD800 <= ord(c) <= 0xDFFF for c in name)
        out.append((RawName(name) if has_raw else name, value or b""))
    return out


def sendable(sample: Sample) -> Sample:
    """kafka-python cannot send a null header value, nor a record with neither key nor value: what is sent,
    and so predicted, has b"" for such a value and a key for such a record.
    """
    key = b"no-key" if sample.key is None and sample.value is None else sample.key
    return replace(sample, key=key, headers=tuple((k, b"" if v is None else v) for k, v in sample.headers))


def send_all(settings: BusSettings, samples: list[Sample]) -> list[tuple[str, int, int]]:
    """Send every sample; where each landed. An unreadable one goes in a producer batch of its own, so
    it alone is unreadable (kafka-python cannot read past it within its batch).
    """
    producer = raw_producer(settings)
    futures = []
    for sample in samples:
        if sample.unreadable:
            producer.flush()
        futures.append(
            producer.send(
                settings.topic(sample.topic), sample.value, key=sample.key, headers=wire_headers(sample)
            )
        )
        if sample.unreadable:
            producer.flush()
    producer.flush()
    landed = [f.get(30) for f in futures]
    producer.close()
    return [(m.topic, m.partition, m.offset) for m in landed]


def predict(decoder: EventDecoder, settings: BusSettings, sample: Sample) -> str:
    """What every consumer must make of the sample: ACCEPTED or the reason code."""
    if sample.unreadable:
        return "CORRUPT_RECORD"
    try:
        decoder.decode(sample.raw(settings))
    except BusError as exc:
        return exc.reason
    return "ACCEPTED"


def consume_to_end(
    settings: BusSettings, consumer: BusConsumer, *, seconds: float = 60.0
) -> list[tuple[str, int, int, str]]:
    """Poll and commit until the consumer's positions reach the topics' end offsets; accepted events as
    (topic, partition, offset, event id).
    """
    ends = {
        TopicPartition(settings.topic(t), p): end
        for t in TOPICS
        for p, end in reading.end_offsets(settings, settings.topic(t)).items()
    }
    accepted: list[tuple[str, int, int, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for raw, event in consumer.poll_records(timeout_ms=300):
            accepted.append((raw.topic, raw.partition, raw.offset, event.id))
        consumer.commit()
        assigned = consumer.consumer.assignment()
        if assigned == set(ends) and all(consumer.consumer.position(tp) >= ends[tp] for tp in assigned):
            return accepted
    raise AssertionError("the consumer did not reach the end of the topics: a record stopped it")


def letters_by_place(settings: BusSettings) -> dict[tuple[str, int, int], DeadLetter]:
    letters = list(read_deadletters(settings, limit=10**6))
    by_place = {(d.topic, d.original_partition, d.original_offset): d for d in letters}
    assert len(by_place) == len(letters), "a record was dead-lettered twice"
    return by_place


def valid_citizen(settings: BusSettings, seed: int = 1) -> Any:
    sim = TrafficSimulator(seed, start=datetime.now(UTC) - timedelta(days=3))
    s = next(x for x in sim.next_batch(50) if x.event.TOPIC == "citizen")
    with Publisher(settings) as publisher:
        return publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))


def consumer_for(settings: BusSettings, component: str) -> BusConsumer:
    return BusConsumer(
        TOPICS, group_id=f"g-{uuid.uuid4().hex}", component=component, settings=settings, max_poll_records=500
    )


class TestThePoisonStops:
    def test_each_stop_is_deadlettered_with_its_reason_and_the_stream_goes_on(
        self, bus_settings: BusSettings
    ) -> None:
        """The issue's stops and ambiguities, each in its own producer batch: year-one time, a record just
        under the broker's limit, a header name that is not UTF-8, a forged ce_source placed last, a citizen
        event on the passport topic and a time before 2000. Each lands in bus.deadletter with its reason at
        its own offset, the near-limit one truncated with its original length and SHA-256, and the valid
        event sent after them all is accepted; the consumer ends at the topics' ends.
        """
        create_topics(bus_settings)
        good = valid_citizen(bus_settings)
        base = Sample("citizen", good.key, good.value, tuple(good.headers))
        # The broker's limit is for the record batch; estimate_size_in_bytes is an upper bound of it.
        padding = LIMIT - record_size(good.key, good.value, good.headers) - 16
        assert padding > 1_000_000
        big_value = good.value + bytes(range(256)) * (padding // 256)
        stops = {
            "year one": (
                replace(base, headers=_with(base, "ce_time", b"0001-01-01T00:00:00+01:00")),
                "INVALID_ENVELOPE",
            ),
            "near the limit": (replace(base, value=big_value), "MALFORMED"),
            "non-UTF-8 header name": (
                replace(base, headers=(*base.headers, ("\udcff\udcfe", b"x"))),
                "CORRUPT_RECORD",
            ),
            "forged source": (
                replace(base, headers=(*base.headers, ("ce_source", b"kbri-tokyo"))),
                "INVALID_ENVELOPE",
            ),
            "citizen on passport": (replace(base, topic="passport"), "WRONG_TOPIC"),
            "before 2000": (
                replace(base, headers=_with(base, "ce_time", b"1999-12-31T23:59:59Z")),
                "TIME_OUT_OF_RANGE",
            ),
        }
        samples = [sample for sample, _ in stops.values()]
        after = valid_citizen(bus_settings, seed=2)
        samples.append(Sample("citizen", after.key, after.value, tuple(after.headers)))
        places = send_all(bus_settings, samples)

        with consumer_for(bus_settings, "poison-stops") as consumer:
            accepted = consume_to_end(bus_settings, consumer)
        assert [a[3] for a in accepted] == [after.envelope.id]
        assert accepted[0][:3] == places[-1]

        letters = letters_by_place(bus_settings)
        assert set(letters) == set(places[:-1])
        for (label, (sample, reason)), place in zip(stops.items(), places, strict=False):
            letter = letters[place]
            assert (letter.reason, letter.component) == (reason, "poison-stops"), label
            assert letter.detail, label
            if label == "non-UTF-8 header name":
                assert (letter.key, letter.value, letter.original_headers) == (None, b"", [])
                assert "not UTF-8" in letter.detail
            elif label == "near the limit":
                assert letter.truncated == "value"
                assert letter.original_length == len(big_value)
                assert letter.original_sha256 == hashlib.sha256(big_value).hexdigest()
                assert letter.value is not None
                assert big_value.startswith(letter.value)
                assert letter.original_headers == list(good.headers)
            else:
                assert (letter.key, letter.value) == (sample.key, sample.value), label


def _with(sample: Sample, name: str, value: bytes) -> tuple[tuple[str, bytes | None], ...]:
    return tuple((k, value if k == name else v) for k, v in sample.headers)


def fuzz_samples(seed: int, count: int) -> list[Sample]:
    """``count`` records: the issue's stops a few times each, some valid events, the rest valid events
    with one to three of the unit fuzzer's mutations, all drawn from a seeded Random (reproducible).
    """
    rng = random.Random(seed)
    pool = valid_samples()
    names = [*CE_NAMES, "x-odd", "3174055705900001", "\udcff\udcfe", "\udce9t\udce9"]

    def knobs() -> Knobs:
        return Knobs(
            index=rng.randrange(2**16),
            data=rng.randbytes(rng.randrange(0, 24)),
            time=rng.choice(EDGE_TIMES),
            topic=rng.choice(TOPICS),
            name=rng.choice(names),
        )

    samples: list[Sample] = []
    for base in rng.sample(pool, 5):
        samples.append(replace(base, headers=_with(base, "ce_time", b"0001-01-01T00:00:00+01:00")))
        samples.append(replace(base, headers=(*base.headers, ("\udcff", b"x"))))
        samples.append(replace(base, headers=(*base.headers, ("ce_source", b"kbri-tokyo"))))
        samples.append(replace(base, topic=rng.choice([t for t in TOPICS if t != base.topic])))
    for base in rng.sample(pool, 3):
        room = LIMIT - record_size(base.key, base.value, list(base.headers)) - 16
        samples.append(replace(base, value=(base.value or b"") + b"\x00" * room))
    while len(samples) < count:
        sample = rng.choice(pool)
        if rng.random() < 0.9:
            for mutation in rng.sample(MUTATIONS, rng.randint(1, 3)):
                sample = mutation(sample, knobs())
        samples.append(sendable(sample))
    rng.shuffle(samples)
    return samples


class TestMutatedRecordsOnTheBroker:
    def test_every_record_is_accepted_or_deadlettered_and_valid_events_follow(
        self, bus_settings: BusSettings
    ) -> None:
        """5000 mutated records through one BusConsumer: accepted + dead-lettered == sent, each record's
        fate is the one the pure decoder predicts (CORRUPT_RECORD for a name kafka-python cannot read), every
        dead letter has a reason and a detail, and valid events published after them are accepted.
        """
        create_topics(bus_settings)
        samples = fuzz_samples(20261123, FUZZ_RECORDS)
        decoder = EventDecoder(bus_settings, load_registry(bus_settings.schemas_dir))
        expected = [predict(decoder, bus_settings, s) for s in samples]
        places = send_all(bus_settings, samples)

        with consumer_for(bus_settings, "poison-fuzz") as consumer:
            accepted = consume_to_end(bus_settings, consumer)
            letters = letters_by_place(bus_settings)
            assert len(accepted) + len(letters) == len(samples)
            fate = {a[:3]: "ACCEPTED" for a in accepted}
            assert len(fate) == len(accepted), "a record was accepted twice"
            fate.update({place: letter.reason for place, letter in letters.items()})
            got = [fate[place] for place in places]
            mismatches = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
            assert mismatches == [], mismatches[:10]
            assert all(letter.reason and letter.detail for letter in letters.values())
            reasons = Counter(expected)
            assert {"ACCEPTED", "CORRUPT_RECORD", "INVALID_ENVELOPE", "WRONG_TOPIC", "MALFORMED"} <= set(
                reasons
            )
            assert sum(1 for d in letters.values() if d.truncated) >= 3

            sim = TrafficSimulator(99, start=datetime.now(UTC) - timedelta(days=3))
            with Publisher(bus_settings) as publisher:
                published = publisher.publish_many(
                    (s.event, EventMeta(source=s.source, time=s.time)) for s in sim.next_batch(20)
                )
            after = consume_to_end(bus_settings, consumer)
        assert sorted(a[3] for a in after) == sorted(p.event_id for p in published)
