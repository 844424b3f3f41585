"""No single record, header or decision may stop a view: each hostile input of the issue, without a broker.

The bounded run of mutated records against the real broker is tests/integration/test_poison.py; the
hypothesis fuzzing of the decoder is tests/unit/test_fuzz_decoder.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka import TopicPartition
from kafka.errors import CorruptRecordError

from services.bus.consumer import Unreadable, poll_raw, sort_polled
from services.bus.deadletter import DeadLetter, deadletter_record, record_size
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import (
    BusError,
    CorruptRecord,
    InvalidEnvelope,
    InvalidEvent,
    MalformedPayload,
    TimeOutOfRange,
    WrongTopic,
)
from services.bus.publisher import EventMeta, Outgoing, Publisher
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.deadletters import Salvaged
from services.cli.jsoninput import resolve_type, to_event
from services.registry.decisions import DecisionConflict, confirm, reject
from services.registry.model import RegistryModel
from services.sim.simulator import TrafficSimulator
from tests.unit.registry.builders import DC, DEWI, NY, at, hasher, obs_of, stay

NIK = "3174055705900001"
SETTINGS = BusSettings()
LIMIT = 1_048_588


def prepared(settings: BusSettings = SETTINGS, topic: str = "citizen") -> tuple[Outgoing, Any]:
    """A valid event of ``topic`` as the SDK prepares it, with its simulated source."""
    sim = TrafficSimulator(3, start=datetime.now(UTC) - timedelta(days=3))
    s = next(x for x in sim.next_batch(200) if topic == x.event.TOPIC)
    out = Publisher(settings, producer=object()).prepare(s.event, EventMeta(source=s.source, time=s.time))
    return out, s


def raw_of(
    out: Outgoing, *, topic: str | None = None, headers: list[tuple[str, bytes]] | None = None
) -> RawRecord:
    return RawRecord(
        topic or out.topic, 0, 0, 0, out.key, out.value, out.headers if headers is None else headers
    )


def decode(raw: RawRecord, settings: BusSettings = SETTINGS) -> Any:
    return EventDecoder(settings, load_registry(settings.schemas_dir)).decode(raw)


def with_time(out: Outgoing, text: str) -> list[tuple[str, bytes]]:
    return [(k, text.encode() if k == "ce_time" else v) for k, v in out.headers]


class TestReusedDecisionId:
    def test_restore_skips_a_conflicting_decision_exactly_as_the_live_path_does(self) -> None:
        """MatchConfirmed dec-h-4 then MatchRejected dec-h-4: live, the second raises DecisionConflict
        (the core logs decision_refused and goes on); the restart's rebuild skips it the same way instead
        of raising on every start, and ends with the very index the live worker had.
        """
        observations = [
            obs_of(stay(DEWI.personal(nik=False), NY, "NY-9", at(0), "a")),
            obs_of(stay(DEWI.personal(nik=False), DC, "DC-2", at(1), "b", city="Washington")),
        ]
        live = RegistryModel(hasher=hasher)
        for obs in observations:
            live.apply_item(obs)
        (candidate,) = live.candidates.values()
        confirmed = confirm(candidate, decision_id="dec-h-4")
        rejected = reject(candidate, decision_id="dec-h-4")
        live.apply_item(confirmed)
        with pytest.raises(DecisionConflict):
            live.apply_item(rejected)

        restored = RegistryModel(hasher=hasher)
        skipped = restored.restore_index([*observations, confirmed, rejected])

        assert skipped == 1
        assert restored.state.decisions == {"dec-h-4": confirmed}
        assert restored.state.owner == live.state.owner
        assert restored.state.confirmed == live.state.confirmed
        assert restored.state.rejected == live.state.rejected == {}
        assert restored.candidates == live.candidates == {}
        assert len(set(live.state.owner.values())) == 1  # the confirmation did merge them

    def test_the_same_decision_twice_is_not_a_conflict(self) -> None:
        """A redelivered decision (same id, same content) is a duplicate, not skipped as a conflict."""
        obs = [
            obs_of(stay(DEWI.personal(nik=False), o, r, at(i), r))
            for i, (o, r) in enumerate([(NY, "a"), (DC, "b")])
        ]
        model = RegistryModel(hasher=hasher)
        for o in obs:
            model.apply_item(o)
        decision = confirm(next(iter(model.candidates.values())), decision_id="dec-h-5")
        assert RegistryModel(hasher=hasher).restore_index([*obs, decision, decision]) == 0


class TestTimes:
    def test_year_one_with_a_positive_offset_is_an_envelope_error_not_an_overflow(self) -> None:
        """0001-01-01T00:00:00+01:00 is year 0 in UTC: refused as INVALID_ENVELOPE, never OverflowError."""
        out, _ = prepared()
        with pytest.raises(InvalidEnvelope, match="outside the calendar"):
            decode(raw_of(out, headers=with_time(out, "0001-01-01T00:00:00+01:00")))

    @pytest.mark.parametrize(
        "text", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59.999Z"]
    )
    def test_consumers_refuse_a_time_before_2000(self, text: str) -> None:
        """A default or typo time is its own reason, so a producer can tell it from a malformed header."""
        out, _ = prepared()
        with pytest.raises(TimeOutOfRange) as caught:
            decode(raw_of(out, headers=with_time(out, text)))
        assert caught.value.reason == "TIME_OUT_OF_RANGE"

    def test_the_bound_itself_is_accepted(self) -> None:
        """2000-01-01T00:00:00Z is the first accepted instant."""
        out, _ = prepared()
        assert decode(raw_of(out, headers=with_time(out, "2000-01-01T00:00:00Z"))).envelope.time.year == 2000

    @pytest.mark.parametrize(
        ("moment", "error"),
        [
            (datetime(2026, 1, 1, 8, 0), InvalidEnvelope),  # naive: would take the machine's zone
            (datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=7))), InvalidEnvelope),
            (datetime(1999, 12, 31, 23, 59, tzinfo=UTC), TimeOutOfRange),
            (datetime(1, 1, 1, tzinfo=UTC), TimeOutOfRange),
        ],
    )
    def test_the_sdk_refuses_what_consumers_would(self, moment: datetime, error: type[BusError]) -> None:
        """Publisher.prepare: naive or non-UTC times, and times before 2000, are never published."""
        _, s = prepared()
        with pytest.raises(error):
            Publisher(SETTINGS, producer=object()).prepare(s.event, EventMeta(source=s.source, time=moment))

    @pytest.mark.parametrize(
        "event_id", ["not-a-uuid", NIK, "{12345678-1234-1234-1234-123456789012}", "1" * 32]
    )
    def test_the_sdk_refuses_an_id_that_is_not_a_uuid(self, event_id: str) -> None:
        """Only the 36-character form: consumers deduplicate on the text, so one id has one spelling."""
        _, s = prepared()
        with pytest.raises(InvalidEnvelope, match="UUID") as caught:
            Publisher(SETTINGS, producer=object()).prepare(
                s.event, EventMeta(source=s.source, event_id=event_id)
            )
        assert NIK not in caught.value.message


class TestAmbiguity:
    def test_a_forged_source_placed_last_is_refused(self) -> None:
        """Kafka keeps both ce_source headers; "last one wins" used to accept the forgery."""
        out, _ = prepared()
        forged = [*out.headers, ("ce_source", b"kbri-tokyo")]
        with pytest.raises(InvalidEnvelope, match="ce_source appears more than once"):
            decode(raw_of(out, headers=forged))

    @pytest.mark.parametrize("name", ["ce_id", "ce_type", "ce_time", "content-type", "bus_keyid"])
    def test_any_own_header_twice_is_refused(self, name: str) -> None:
        """Even two identical copies: the rule is simple to state to an outside producer."""
        out, _ = prepared()
        copy = (
            next((k, v) for k, v in out.headers if k == name)
            if name != "content-type"
            else (name, b"application/avro")
        )
        with pytest.raises(InvalidEnvelope, match="more than once"):
            decode(raw_of(out, headers=[*out.headers, copy]))

    def test_other_headers_may_repeat(self) -> None:
        """Headers the bus gives no meaning to are the producer's business."""
        out, _ = prepared()
        assert decode(raw_of(out, headers=[*out.headers, ("x-trace", b"1"), ("x-trace", b"2")]))

    def test_a_citizen_event_on_the_passport_topic_is_wrong_topic(self) -> None:
        """Its own reason: the record is fine, only where it was sent is not."""
        out, _ = prepared()
        with pytest.raises(WrongTopic) as caught:
            decode(raw_of(out, topic="passport"))
        assert caught.value.reason == "WRONG_TOPIC"
        assert "citizen" in caught.value.message

    def test_the_home_topic_carries_the_deployment_prefix(self) -> None:
        """With BUS_TOPIC_PREFIX set, the unprefixed name is another deployment's topic."""
        prefixed = BusSettings(topic_prefix="t42.")
        out, _ = prepared(prefixed, topic="passport")
        assert out.topic == "t42.passport"
        assert decode(raw_of(out), prefixed).payload.TOPIC == "passport"
        with pytest.raises(WrongTopic):
            decode(raw_of(out, topic="passport"), prefixed)


class TestNothingEchoed:
    def test_a_nik_typed_as_the_type_is_not_echoed(self) -> None:
        with pytest.raises(InvalidEnvelope) as caught:
            resolve_type(NIK)
        assert NIK not in caught.value.message
        assert "unknown event type" in caught.value.message

    @pytest.mark.parametrize("where", ["personal", "data"])
    def test_a_nik_typed_as_a_key_is_not_echoed(self, where: str) -> None:
        """An unknown key that is not shaped like a field name is withheld; its place is still named."""
        _, s = prepared()
        data = s.event.model_dump(mode="json")
        (data["personal"] if where == "personal" else data)[NIK] = "x"
        doc = {"type": "StayReported", "source": s.source, "data": data}
        with pytest.raises(InvalidEvent) as caught:
            to_event(doc)
        assert NIK not in caught.value.message
        assert "unknown field" in caught.value.message
        if where == "personal":
            assert caught.value.message.startswith("StayReported: personal: ")

    def test_a_misspelt_field_is_named_with_a_suggestion(self) -> None:
        _, s = prepared()
        data = s.event.model_dump(mode="json")
        data["arival_date"] = data.pop("arrival_date")
        with pytest.raises(InvalidEvent) as caught:
            to_event({"type": "StayReported", "source": s.source, "data": data})
        assert "arival_date: unknown field" in caught.value.message
        assert "did you mean arrival_date?" in caught.value.message

    @pytest.mark.parametrize(
        ("extra", "match"),
        [
            ({"id": 12345}, "UUID"),
            ({"id": NIK}, "UUID"),
            ({"time": 20260101}, "RFC 3339"),
            ({"time": "2026-01-01T08:00:00+07:00"}, "UTC"),
            ({"time": "2026-01-01T08:00:00"}, "RFC 3339"),
            ({"type": ["x"]}, "strings"),
            ({"source": {"nik": NIK}}, "strings"),
        ],
    )
    def test_envelope_fields_of_a_document_are_checked_without_echo(
        self, extra: dict[str, Any], match: str
    ) -> None:
        """Wrong types and shapes are refused as BusErrors (exit 2 in `bus publish`), never a traceback."""
        _, s = prepared()
        doc = {"type": "StayReported", "source": s.source, "data": s.event.model_dump(mode="json"), **extra}
        with pytest.raises(InvalidEnvelope, match=match) as caught:
            to_event(doc)
        assert NIK not in caught.value.message


@dataclass
class FakeFetcher:
    _next_partition_records: Any = None


@dataclass
class FakeConsumer:
    """Just what poll_raw touches of kafka-python's KafkaConsumer, failing the way 3.0.12 fails."""

    assigned: set[TopicPartition]
    failed: TopicPartition | None
    at: int
    _fetcher: FakeFetcher = field(default_factory=FakeFetcher)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.failed is not None:
            self._fetcher._next_partition_records = type(
                "PartitionRecords", (), {"topic_partition": self.failed}
            )()

    def poll(self, **_: Any) -> dict[TopicPartition, list[Any]]:
        raise CorruptRecordError("Found invalid record structure: UnicodeDecodeError('utf-8', b'\\xff', ...)")

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def position(self, _tp: TopicPartition) -> int:
        return self.at

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


class TestUnreadableRecords:
    def test_the_failed_partition_is_skipped_one_offset_and_reported(self) -> None:
        """CorruptRecordError names no partition: the fetcher's in-line records do, the position is the
        offset; the consumer is moved past it and the record comes back as CORRUPT_RECORD.
        """
        a, b = TopicPartition("citizen", 0), TopicPartition("citizen", 1)
        consumer = FakeConsumer({a, b}, failed=b, at=7)
        (item,) = poll_raw(consumer, timeout_ms=10)  # type: ignore[arg-type]
        assert isinstance(item, Unreadable)
        assert (item.raw.topic, item.raw.partition, item.raw.offset) == ("citizen", 1, 7)
        assert item.raw.value is None
        assert item.error.reason == "CORRUPT_RECORD"
        assert "not UTF-8" in item.error.message
        assert "xff" not in item.error.message  # the bytes of the key are not repeated
        assert consumer.seeks == [(b, 8)]

    def test_a_single_assigned_partition_needs_no_fetcher_state(self) -> None:
        a = TopicPartition("passport", 2)
        consumer = FakeConsumer({a}, failed=None, at=3)
        (item,) = poll_raw(consumer, timeout_ms=10)  # type: ignore[arg-type]
        assert isinstance(item, Unreadable)
        assert consumer.seeks == [(a, 4)]

    def test_an_unknown_partition_among_several_stops_loudly(self) -> None:
        """Skipping a guessed partition could drop a good record: it raises instead."""
        consumer = FakeConsumer({TopicPartition("c", 0), TopicPartition("c", 1)}, failed=None, at=3)
        with pytest.raises(CorruptRecordError):
            poll_raw(consumer, timeout_ms=10)  # type: ignore[arg-type]
        assert consumer.seeks == []

    def test_sorting_a_poll_never_raises_and_keeps_every_record(self) -> None:
        """Unreadable, hostile and valid records: each is either accepted or refused with a reason."""
        out, _ = prepared()
        unreadable = Unreadable(RawRecord("citizen", 0, 5, -1, None, None, []), CorruptRecord("x"))
        polled = [
            raw_of(out),
            unreadable,
            raw_of(out, headers=with_time(out, "0001-01-01T00:00:00+01:00")),
            RawRecord("citizen", 0, 9, 0, None, b"\xc3\x01" + b"\xff" * 20, [("\udcff", b"")]),
            raw_of(out, topic="passport"),
        ]
        decoder = EventDecoder(SETTINGS, load_registry(SETTINGS.schemas_dir))
        accepted, refused = sort_polled(decoder, polled)
        assert [raw for raw, _ in accepted] == [polled[0]]
        assert [e.reason for _, e in refused] == [
            "CORRUPT_RECORD",
            "INVALID_ENVELOPE",
            "INVALID_ENVELOPE",
            "WRONG_TOPIC",
        ]


sizes = st.integers(0, LIMIT)


class TestDeadLettersAlwaysFit:
    def test_a_record_just_under_the_limit_keeps_its_headers_and_a_truncated_body(self) -> None:
        """It fits on the topic; with the dlq_* headers it would not: the body is cut, and the headers say
        the original length and SHA-256.
        """
        out, _ = prepared()
        filler = LIMIT - record_size(out.key, out.value, out.headers) - 40
        value = out.value + bytes(range(256)) * (filler // 256)
        assert record_size(out.key, value, out.headers) <= LIMIT
        raw = RawRecord(out.topic, 1, 42, 0, out.key, value, out.headers)
        letter = deadletter_record(raw, MalformedPayload("trailing bytes"), "test", limit=LIMIT)
        assert record_size(letter.key, letter.value, letter.headers) <= LIMIT
        assert letter.key == out.key
        assert letter.value is not None
        assert value.startswith(letter.value)
        assert len(letter.value) > LIMIT - 4096  # cut only by what the headers need
        headers = dict(letter.headers)
        assert headers["dlq_original_length"] == str(len(value)).encode()
        assert headers["dlq_original_sha256"] == hashlib.sha256(value).hexdigest().encode()
        assert headers["dlq_truncated"] == b"value"
        assert [h for h in letter.headers if not h[0].startswith("dlq_")] == out.headers
        read_back = DeadLetter.from_raw(
            RawRecord("bus.deadletter", 0, 0, 0, letter.key, letter.value, letter.headers)
        )
        assert (read_back.original_length, read_back.truncated, read_back.original_offset) == (
            len(value),
            "value",
            42,
        )

    def test_a_small_record_is_kept_whole(self) -> None:
        out, _ = prepared()
        letter = deadletter_record(raw_of(out), MalformedPayload("x"), "test", limit=LIMIT)
        assert (letter.key, letter.value) == (out.key, out.value)
        assert not letter.truncated

    @settings(max_examples=150, deadline=None)
    @given(
        key=st.one_of(st.none(), sizes),
        value=st.one_of(st.none(), sizes),
        headers=st.lists(st.tuples(st.integers(0, 64), sizes), max_size=4),
        many=st.integers(0, 3000),
        limit=st.sampled_from([LIMIT, 1_048_576, 100_000, 20_000]),
    )
    def test_whatever_the_record_its_dead_letter_fits(
        self, key: int | None, value: int | None, headers: list[tuple[int, int]], many: int, limit: int
    ) -> None:
        """Keys, values and headers of any size up to the limit, and thousands of headers: the letter never
        exceeds the limit, always says why, and a cut value is a prefix with the original's length and hash.
        """
        raw = RawRecord(
            "citizen",
            0,
            1,
            0,
            None if key is None else b"k" * key,
            None if value is None else b"v" * value,
            [("h" * n + "\udcff", b"x" * size) for n, size in headers] + [("x", b"")] * many,
        )
        letter = deadletter_record(raw, MalformedPayload("m"), "test", limit=limit)
        assert record_size(letter.key, letter.value, letter.headers) <= limit
        names = dict(letter.headers)
        assert names["dlq_reason"] == b"MALFORMED"
        for name, _ in letter.headers:
            name.encode("utf-8")  # the producer can write every name; no lone surrogate is left
        if letter.truncated:
            original = raw.value or b""
            assert names["dlq_original_length"] == str(len(original)).encode()
            assert names["dlq_original_sha256"] == hashlib.sha256(original).hexdigest().encode()
            assert original.startswith(letter.value or b"")


class TestDeadLetterRepair:
    def test_garbled_dlq_headers_still_read(self) -> None:
        """Someone else may write to the topic: a letter with nonsense numbers is still listed."""
        raw = RawRecord(
            "bus.deadletter", 0, 3, 0, None, None, [("dlq_partition", b"x"), ("dlq_offset", b"\xff")]
        )
        letter = DeadLetter.from_raw(raw)
        assert (letter.original_partition, letter.original_offset, letter.original_length) == (-1, -1, None)

    def test_what_parses_of_a_refused_envelope_is_salvaged_attribute_by_attribute(self) -> None:
        """A forged second ce_source makes the source unusable; the id, type and time still serve a fix."""
        out, _ = prepared()
        headers = [*out.headers, ("ce_source", b"kbri-tokyo")]
        letter = DeadLetter(0, 0, out.topic, 0, 0, "INVALID_ENVELOPE", "", "t", out.key, out.value, headers)
        salvaged = Salvaged.of(letter)
        assert salvaged.source is None
        assert (salvaged.id, salvaged.type, salvaged.time) == (
            out.envelope.id,
            out.envelope.type,
            out.envelope.time,
        )

    def test_an_unparsable_time_is_not_salvaged(self) -> None:
        out, _ = prepared()
        letter = DeadLetter(
            0, 0, out.topic, 0, 0, "", "", "t", None, None, with_time(out, "0001-01-01T00:00:00+01:00")
        )
        assert Salvaged.of(letter).time is None
        assert Salvaged.of(letter).id == out.envelope.id


def test_bad_input_table_lists_every_reason_code() -> None:
    """Every reason a record can be refused with is documented for outside producers."""
    from pathlib import Path

    import services.bus.errors as errors

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Bad input") :]
    codes = {
        cls.reason
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, BusError) and cls is not BusError
    }
    not_refusals = {"REJECTED", "ENCODE_FAILED", "PUBLISH_FAILED", "TOPIC_MISSING"}  # no record is refused
    missing = sorted(c for c in codes - not_refusals if f"`{c}`" not in table)
    assert missing == [], json.dumps(missing)
