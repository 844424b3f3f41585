"""The publish path's shortcuts give what the plain code gave: event ids, times, headers, HMAC keys, cached
contract attributes, and the publisher's counting and collector handling. No broker needed.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from kafka.errors import KafkaTimeoutError
from kafka.producer.future import FutureProduceResult, FutureRecordMetadata
from prometheus_client import REGISTRY

from services.bus import envelope as envelope_module
from services.bus.envelope import (
    CONTENT_TYPE,
    SPECVERSION,
    Envelope,
    Headers,
    dataschema_uri,
    format_time,
    new_event_id,
    require_utc,
    truncate_ms,
)
from services.bus.errors import InvalidEnvelope, PublishError, UnknownSource
from services.bus.keys import citizen_key, hmac_sha256_hex, keyed_hash
from services.bus.publisher import EventMeta, Outgoing, Publisher
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings
from services.contracts.base import EventModel
from services.sim.simulator import TrafficSimulator

MOMENTS = [
    datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=UTC),
    datetime(2026, 11, 23, 8, 30, 15, 999999, tzinfo=UTC),
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2000, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
    datetime(2026, 3, 1, 1, 2, 3, 4000, tzinfo=timezone(timedelta(hours=14))),
    datetime(2026, 3, 1, 1, 2, 3, 4500, tzinfo=timezone(timedelta(hours=-12))),
    datetime(2026, 6, 1, 12, tzinfo=ZoneInfo("Asia/Jakarta")),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1000, 1, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 7000, tzinfo=UTC),
]


class _Bits:
    """Stands in for the module's PRNG: hands out chosen numbers."""

    def __init__(self, values: list[int]) -> None:
        self.values = iter(values)

    def getrandbits(self, _bits: int) -> int:
        return next(self.values)


class TestEventIds:
    def test_the_text_is_what_uuid_makes_of_the_same_bits(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Formatted without the UUID object, ``ce_id`` is still ``str(uuid.UUID(int=bits, version=4))``."""
        rng = random.Random(5)
        values = [0, 2**128 - 1, 1, 2**127, *(rng.getrandbits(128) for _ in range(2000))]
        monkeypatch.setattr(envelope_module, "_RANDOM", _Bits(values))
        for bits in values:
            assert new_event_id() == str(uuid.UUID(int=bits, version=4))


class TestTimes:
    @pytest.mark.parametrize("moment", MOMENTS)
    def test_format_time_is_the_strftime_form(self, moment: datetime) -> None:
        utc = moment.astimezone(UTC)
        assert format_time(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

    @pytest.mark.parametrize("moment", MOMENTS)
    def test_truncate_ms_drops_the_microseconds(self, moment: datetime) -> None:
        expected = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        truncated = truncate_ms(moment)
        assert truncated == expected
        assert (truncated.tzinfo, truncated.fold) == (expected.tzinfo, expected.fold)

    def test_a_whole_millisecond_is_kept_as_it_is(self) -> None:
        moment = datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
        assert truncate_ms(moment) is moment

    @pytest.mark.parametrize(
        "zone",
        [UTC, timezone(timedelta(0)), ZoneInfo("UTC"), ZoneInfo("Etc/UTC"), timezone(timedelta(0), "Z")],
    )
    def test_every_spelling_of_utc_is_utc(self, zone: Any) -> None:
        moment = datetime(2026, 1, 1, tzinfo=zone)
        assert require_utc(moment) is moment

    @pytest.mark.parametrize(
        "zone", [None, timezone(timedelta(hours=7)), ZoneInfo("Asia/Jakarta"), ZoneInfo("Europe/London")]
    )
    def test_anything_else_is_refused(self, zone: Any) -> None:
        moment = datetime(2026, 7, 1, tzinfo=zone)
        with pytest.raises(InvalidEnvelope, match=r"event time must be in UTC \(a zone offset of zero"):
            require_utc(moment)


def plain_headers(env: Envelope) -> Headers:
    """The headers as the plain code built them, one ``encode`` per value."""
    utc = env.time.astimezone(UTC)
    headers: Headers = [
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", env.id.encode()),
        ("ce_source", env.source.encode()),
        ("ce_type", env.type.encode()),
        ("ce_time", (utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z").encode()),
        ("ce_dataschema", env.dataschema.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    if env.subject is not None:
        headers.append(("ce_subject", env.subject.encode()))
    if env.traceparent is not None:
        headers.append(("ce_traceparent", env.traceparent.encode()))
    headers.extend((k, v.encode()) for k, v in env.extensions.items())
    return headers


class TestHeaders:
    @pytest.mark.parametrize("moment", MOMENTS)
    @pytest.mark.parametrize("subject", [None, "ab" * 32])
    @pytest.mark.parametrize("extensions", [{}, {"bus_keyid": "dev-1"}, {"bus_keyid": "k", "bus_sig": "s"}])
    def test_the_same_headers_in_the_same_order(
        self, moment: datetime, subject: str | None, extensions: dict[str, str]
    ) -> None:
        env = Envelope(
            id=new_event_id(),
            source="kjri-new-york",
            type="id.go.kemlu.bus.citizen.v1.StayReported",
            time=moment,
            dataschema="urn:avro:id.go.kemlu.bus.citizen.v1.StayReported:87f2b724449f684a",
            subject=subject,
            traceparent=None if subject is None else "00-" + "1" * 32 + "-" + "2" * 16 + "-01",
            extensions=extensions,
        )
        assert env.to_headers() == plain_headers(env)

    def test_each_call_gives_a_list_of_its_own(self) -> None:
        """The constant headers are shared immutable pairs; the list is new, so a caller may append."""
        env = Envelope.new(source="kjri-new-york", type="t", dataschema="d")
        first, second = env.to_headers(), env.to_headers()
        first.append(("x", b"y"))
        assert first is not second
        assert second == plain_headers(env)


class TestHmac:
    @pytest.mark.parametrize("size", [0, 1, 30, 63, 64, 65, 200])
    def test_the_padded_states_give_hmac_sha256(self, size: int) -> None:
        """RFC 2104 from kept states: equal to ``hmac.new`` for keys shorter, as long as and longer than
        a SHA-256 block (a longer key is hashed first).
        """
        rng = random.Random(size)
        secret = bytes(rng.getrandbits(8) for _ in range(size))
        for length in (0, 16, 64, 100):
            data = bytes(rng.getrandbits(8) for _ in range(length))
            assert hmac_sha256_hex(data, secret) == hmac.new(secret, data, hashlib.sha256).hexdigest()

    def test_citizen_key_and_keyed_hash(self) -> None:
        secret = b"dev-only-citizen-key-change-me"
        nik = "3174055705900001"
        expected = hmac.new(secret, nik.encode("ascii"), hashlib.sha256).hexdigest()
        assert citizen_key(nik, secret) == keyed_hash(nik, secret) == expected
        assert (
            keyed_hash("Dewi Lestarí", secret)
            == hmac.new(secret, "Dewi Lestarí".encode(), "sha256").hexdigest()
        )


class TestContracts:
    def test_dataschema_and_frame_bytes_are_made_once(self) -> None:
        for contract in load_registry(get_settings().schemas_dir):
            assert contract.dataschema == dataschema_uri(contract.fullname, contract.fingerprint)
            assert contract.dataschema is contract.dataschema
            assert contract.fingerprint_bytes == contract.fingerprint.to_bytes(8, "little")


# --- the publisher -------------------------------------------------------------------------------------


def acknowledged(topic: str, offset: int) -> FutureRecordMetadata:
    result = FutureProduceResult((topic, 0))
    future = FutureRecordMetadata(result, 0, 0, None, 1, 1, 1)
    result.success((offset, -1, None))
    return future


def refused() -> FutureRecordMetadata:
    result = FutureProduceResult(("t", 0))
    future = FutureRecordMetadata(result, 0, 0, None, 1, 1, 1)
    result.failure(KafkaTimeoutError("no answer"))
    return future


class _Pending:
    """A future not done when looked at: its value comes from ``get``."""

    def __init__(self, done: FutureRecordMetadata) -> None:
        self.done = done
        self.waited: list[float | None] = []

    def succeeded(self) -> bool:
        return False

    def get(self, timeout: float | None = None) -> Any:
        self.waited.append(timeout)
        return self.done.get(timeout)


class FakeProducer:
    """Answers each send with the next of ``answers`` (acknowledged by default)."""

    def __init__(self, answers: dict[int, Any] | None = None) -> None:
        self.answers = answers or {}
        self.sent: list[tuple[str, bytes, bytes, Headers]] = []

    def send(self, topic: str, value: bytes, *, key: bytes, headers: Headers) -> Any:
        index = len(self.sent)
        self.sent.append((topic, value, key, headers))
        return self.answers.get(index) or acknowledged(topic, index)

    def flush(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture(scope="module")
def events() -> list[tuple[EventModel, EventMeta]]:
    sim = TrafficSimulator(3, start=datetime.now(UTC) - timedelta(days=30))
    return [(s.event, EventMeta(source=s.source, time=s.time)) for s in sim.next_batch(300)]


def published(event_type: str, source: str) -> float:
    return (
        REGISTRY.get_sample_value("bus_events_published_total", {"type": event_type, "source": source}) or 0.0
    )


def failures(event_type: str, reason: str) -> float:
    return (
        REGISTRY.get_sample_value("bus_publish_failures_total", {"type": event_type, "reason": reason}) or 0.0
    )


def counts(batch: list[Outgoing]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for out in batch:
        labels = (out.envelope.type, out.envelope.source)
        found[labels] = found.get(labels, 0) + 1
    return found


class TestSendPrepared:
    def test_every_acknowledged_event_is_counted_once_under_its_type_and_source(
        self, events: list[tuple[EventModel, EventMeta]]
    ) -> None:
        publisher = Publisher(BusSettings(topic_prefix="t."), producer=FakeProducer())
        batch = [publisher.prepare(p, m) for p, m in events]
        before = {labels: published(*labels) for labels in counts(batch)}
        results = publisher.send_prepared(batch)
        assert [r.event_id for r in results] == [o.envelope.id for o in batch]
        assert [r.offset for r in results] == list(range(len(batch)))
        assert {r.topic for r in results} == {o.topic for o in batch}
        for labels, count in counts(batch).items():
            assert published(*labels) == before[labels] + count

    def test_a_refused_event_stops_the_batch_and_the_acknowledged_ones_before_it_count(
        self, events: list[tuple[EventModel, EventMeta]]
    ) -> None:
        publisher = Publisher(BusSettings(), producer=FakeProducer({5: refused()}))
        batch = [publisher.prepare(p, m) for p, m in events[:10]]
        before = {labels: published(*labels) for labels in counts(batch)}
        failed_before = failures(batch[5].envelope.type, "KafkaTimeoutError")
        with pytest.raises(PublishError, match=f"event {batch[5].envelope.id} was not acknowledged"):
            publisher.send_prepared(batch)
        for labels, count in counts(batch[:5]).items():
            assert published(*labels) == before[labels] + count
        for labels in set(counts(batch)) - set(counts(batch[:5])):
            assert published(*labels) == before[labels]
        assert failures(batch[5].envelope.type, "KafkaTimeoutError") == failed_before + 1

    def test_a_future_not_yet_done_is_waited_for(self, events: list[tuple[EventModel, EventMeta]]) -> None:
        pending = _Pending(acknowledged("x", 41))
        publisher = Publisher(BusSettings(), producer=FakeProducer({0: pending}))
        results = publisher.send_prepared([publisher.prepare(*events[0])], timeout=7.0)
        assert pending.waited == [7.0]
        assert results[0].offset == 41


class TestPublishMany:
    @pytest.fixture
    def collecting(self) -> Iterator[None]:
        was = gc.isenabled()
        yield
        if was:
            gc.enable()
        else:
            gc.disable()

    @pytest.mark.usefixtures("collecting")
    def test_the_collector_is_back_on_after_a_batch(self, events: list[tuple[EventModel, EventMeta]]) -> None:
        gc.enable()
        producer = FakeProducer()
        results = Publisher(BusSettings(), producer=producer).publish_many(events)
        assert len(results) == len(producer.sent) == len(events)
        assert gc.isenabled()

    @pytest.mark.usefixtures("collecting")
    def test_a_collector_switched_off_by_the_caller_stays_off(
        self, events: list[tuple[EventModel, EventMeta]]
    ) -> None:
        gc.disable()
        Publisher(BusSettings(), producer=FakeProducer()).publish_many(events[:5])
        assert not gc.isenabled()

    @pytest.mark.usefixtures("collecting")
    def test_the_collector_is_back_on_after_a_refusal(
        self, events: list[tuple[EventModel, EventMeta]]
    ) -> None:
        """One bad event: nothing sent, the error as before, the collector on again."""
        gc.enable()
        producer = FakeProducer()
        bad = (events[1][0], EventMeta(source="nowhere", time=events[1][1].time))
        with pytest.raises(UnknownSource, match="ce_source is not a known office"):
            Publisher(BusSettings(), producer=producer).publish_many([events[0], bad, events[2]])
        assert producer.sent == []
        assert gc.isenabled()


def test_topics_carry_the_prefix_of_each_publisher(events: list[tuple[EventModel, EventMeta]]) -> None:
    first = Publisher(BusSettings(topic_prefix="a."), producer=object())
    second = Publisher(BusSettings(topic_prefix="b."), producer=object())
    payload, meta = events[0]
    assert first.prepare(payload, meta).topic == f"a.{payload.TOPIC}"
    assert second.prepare(payload, meta).topic == f"b.{payload.TOPIC}"
