"""Avro bodies written straight from payload models: byte for byte what fastavro writes from ``to_avro()``,
and for anything the generated writer does not take, the very bytes or error of the general path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from services.bus.codec import AvroCodec
from services.bus.modelwriter import Unfit, long_bytes, model_writer, writer_source
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts import EVENT_MODELS
from services.contracts.base import ContractModel, EventModel
from services.contracts.citizen import StayReported
from services.contracts.registry import MatchConfirmed, RecordSplit
from services.sim.simulator import TrafficSimulator

STAY = "id.go.kemlu.bus.citizen.v1.StayReported"


@pytest.fixture(scope="module")
def codec() -> AvroCodec:
    return AvroCodec(load_registry(get_settings().schemas_dir))


@pytest.fixture(scope="module")
def simulated() -> list[EventModel]:
    sim = TrafficSimulator(11, start=datetime(2026, 6, 1, tzinfo=UTC))
    return [s.event for s in sim.next_batch(6000)]


def fastavro_body(schema: dict[str, Any], record: object) -> bytes:
    out = BytesIO()
    schemaless_writer(out, schema, record)
    return out.getvalue()


def written(codec: AvroCodec, model: EventModel) -> bytes:
    """The generated writer's own body for ``model`` (no fallback: Unfit fails the test)."""
    write = model_writer(codec.registry.latest(model.SCHEMA).schema)
    assert write is not None
    out = bytearray()
    write(out, model)
    return bytes(out)


def outcome(call: Any) -> tuple[str, object]:
    """What a call gives: its bytes, or the type and text of what it raised."""
    try:
        return ("bytes", call())
    except Exception as exc:  # noqa: BLE001 - the very error is what is compared
        return (type(exc).__name__, str(exc))


class TestTheBytes:
    def test_every_simulated_event_is_written_as_fastavro_writes_it(
        self, codec: AvroCodec, simulated: list[EventModel]
    ) -> None:
        """Every event type the simulator makes: the generated writer's body is fastavro's, byte for byte."""
        assert len({type(e) for e in simulated}) >= 20
        for event in simulated:
            schema = codec.registry.latest(event.SCHEMA).schema
            assert written(codec, event) == fastavro_body(schema, event.to_avro()), type(event).__name__

    def test_encode_model_is_encode_of_to_avro(self, codec: AvroCodec, simulated: list[EventModel]) -> None:
        """The framed value too (magic, fingerprint, body)."""
        for event in simulated:
            assert codec.encode_model(event) == codec.encode(event.SCHEMA, event.to_avro())

    def test_every_event_contract_gets_a_writer(self, codec: AvroCodec) -> None:
        """No event of the base ``to_avro`` silently takes the slow way: each contract is covered."""
        for fullname, model in EVENT_MODELS.items():
            if model.to_avro is EventModel.to_avro:
                assert model_writer(codec.registry.latest(fullname).schema) is not None, fullname

    def test_arrays_of_strings_as_tuples(self, codec: AvroCodec) -> None:
        """Decision events carry tuples (anchors, ids): written as fastavro writes their lists."""
        confirmed = MatchConfirmed.model_validate(
            {
                "decision_id": "dec-1",
                "candidate_id": "cand-" + "0" * 20,
                "anchors": ["nik:" + "a" * 64, "passport:" + "b" * 64],
                "office": "kjri-new-york",
                "reason": "same-passport-photo",
                "officer_id": "officer-7",
            }
        )
        assert written(codec, confirmed) == fastavro_body(
            codec.registry.latest(confirmed.SCHEMA).schema, confirmed.to_avro()
        )
        assert codec.encode_model(confirmed) == codec.encode(confirmed.SCHEMA, confirmed.to_avro())
        split = RecordSplit.model_validate(
            {
                "decision_id": "dec-2",
                "citizen_id": "cit-" + "1" * 20,
                "moved": ["app:A-1", "case:C-1"],
                "kept": ["nik:" + "c" * 64],
                "office": "kjri-new-york",
                "reason": "two-people",
                "officer_id": "officer-7",
            }
        )
        assert written(codec, split) == fastavro_body(
            codec.registry.latest(split.SCHEMA).schema, split.to_avro()
        )

    @pytest.mark.parametrize(
        "change",
        [
            {"office_record_ref": "x" * 2047},  # the largest length with a 2-byte varint table entry
            {"office_record_ref": "x" * 2048},
            {"office_record_ref": "é" * 70_000},  # a 3-byte length
            {"city": "Ḩawallī 城市 🏙"},
            {"household_size": 1},
            {"household_size": 63},
            {"household_size": 64},
            {"household_size": 2**31 - 1},
            {"arrival_date": "1970-01-01", "expected_departure_date": "1970-01-02"},
            {"arrival_date": "1900-02-28", "expected_departure_date": "9999-12-31"},
            {"occupation": "", "officer_id": "o"},
            {"personal": {"nik": None, "full_name": "A", "sex": "MALE", "date_of_birth": "1969-12-31"}},
        ],
    )
    def test_edge_values(self, codec: AvroCodec, change: dict[str, Any]) -> None:
        """Long and multi-byte strings, varint boundaries, dates before and far after 1970."""
        base = {
            "office": "kjri-new-york",
            "office_record_ref": "NY-1",
            "personal": {"nik": "3174055705900001"},
            "country": "US",
            "city": "New York",
            "purpose": "STUDY",
            "arrival_date": "2026-08-20",
            "channel": "WEB",
        }
        event = StayReported.model_validate({**base, **change})
        assert written(codec, event) == fastavro_body(codec.registry.latest(STAY).schema, event.to_avro())


class TestTheGeneralPath:
    @pytest.mark.parametrize(
        "change",
        [
            {"household_size": True},
            {"household_size": 2**31},
            {"household_size": -(2**31) - 1},
            {"household_size": 2**63},
            {"household_size": -3},
            {"city": 5},
            {"city": None},
            {"city": b"bytes"},
            {"purpose": "NOPE"},
            {"purpose": 3},
            {"purpose": None},
            {"arrival_date": "2026-01-01"},
            {"arrival_date": datetime(2026, 1, 1, 5, tzinfo=UTC)},
            {"personal": None},
            {"personal": {"nik": None}},
            {"office_record_ref": "\ud800"},
            {"occupation": ("a", "b")},
        ],
    )
    def test_a_value_the_writer_does_not_take_gives_what_fastavro_gives(
        self, codec: AvroCodec, change: dict[str, Any]
    ) -> None:
        """A model built without validation: the same bytes, or the same EncodeError, as before (the
        writer takes -3; it leaves every other value here to fastavro).
        """
        valid = StayReported.model_validate(
            {
                "office": "kjri-new-york",
                "office_record_ref": "NY-1",
                "personal": {"nik": "3174055705900001", "sex": "FEMALE"},
                "country": "US",
                "city": "New York",
                "purpose": "STUDY",
                "arrival_date": "2026-08-20",
                "channel": "WEB",
            }
        )
        odd = StayReported.model_construct(**{**valid.__dict__, **change})
        assert outcome(lambda: codec.encode_model(odd)) == outcome(lambda: codec.encode(STAY, odd.to_avro()))

    def test_the_writer_leaves_what_it_does_not_take(self, codec: AvroCodec) -> None:
        """The generated writer itself raises Unfit for a value fastavro would judge differently."""
        valid = StayReported.model_validate(
            {
                "office": "kjri-new-york",
                "office_record_ref": "NY-1",
                "personal": {},
                "country": "US",
                "city": "New York",
                "purpose": "STUDY",
                "arrival_date": "2026-08-20",
                "channel": "WEB",
            }
        )
        write = model_writer(codec.registry.latest(STAY).schema)
        assert write is not None
        for change in (
            {"household_size": True},
            {"city": None},
            {"arrival_date": "2026-01-01"},
            {"purpose": 3},
        ):
            with pytest.raises(Unfit):
                write(bytearray(), StayReported.model_construct(**{**valid.__dict__, **change}))

    def test_a_missing_field_raises_what_to_avro_raises(self, codec: AvroCodec) -> None:
        """A field the model lacks altogether: ``to_avro``'s AttributeError, as before."""
        valid = StayReported.model_validate(
            {
                "office": "kjri-new-york",
                "office_record_ref": "NY-1",
                "personal": {},
                "country": "US",
                "city": "New York",
                "purpose": "STUDY",
                "arrival_date": "2026-08-20",
                "channel": "WEB",
            }
        )
        fields = {k: v for k, v in valid.__dict__.items() if k != "city"}
        odd = StayReported.model_construct(**fields)
        assert "city" not in odd.__dict__
        with pytest.raises(AttributeError) as caught:
            codec.encode_model(odd)
        with pytest.raises(AttributeError) as before:
            codec.encode(STAY, odd.to_avro())
        assert str(caught.value) == str(before.value)

    def test_a_model_with_its_own_to_avro_keeps_it(self, codec: AvroCodec) -> None:
        """Classes that override ``to_avro`` (views, decisions) are encoded from it, as before."""
        assert MatchConfirmed.to_avro is not EventModel.to_avro
        assert codec._model_writer(MatchConfirmed) is None
        assert codec._model_writer(StayReported) is not None


class TestCoverage:
    @pytest.mark.parametrize(
        "field_type",
        [
            {"type": "map", "values": "string"},
            "float",
            "double",
            "bytes",
            {"type": "fixed", "name": "F", "size": 4},
            {"type": "long", "logicalType": "timestamp-millis"},
            ["null", "string", "int"],
            ["string", "int"],
            {"type": "array", "items": {"type": "enum", "name": "E", "symbols": ["A"]}},
            {"type": "array", "items": {"type": "int", "logicalType": "date"}},
        ],
    )
    def test_types_not_covered_give_no_writer(self, field_type: object) -> None:
        """Those schemas stay with fastavro altogether."""
        schema = parse_schema({"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type}]})
        assert writer_source(schema) is None

    def test_a_recursive_record_gives_no_writer(self) -> None:
        schema = parse_schema(
            {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]}
        )
        assert writer_source(schema) is None

    def test_other_shapes_against_fastavro(self) -> None:
        """Null second in a union, a null field, booleans, longs, dates, arrays of ints and booleans."""

        class Shapes(ContractModel):  # existing contract field names only: nothing new to suggest
            city: str | None
            office: None = None
            caller_is_subject: bool
            household_size: int
            arrival_date: date
            anchors: tuple[int, ...]
            fingerprints: list[bool]

        schema = parse_schema(
            {
                "type": "record",
                "name": "Shapes",
                "fields": [
                    {"name": "city", "type": ["string", "null"]},
                    {"name": "office", "type": "null"},
                    {"name": "caller_is_subject", "type": "boolean"},
                    {"name": "household_size", "type": "long"},
                    {"name": "arrival_date", "type": {"type": "int", "logicalType": "date"}},
                    {"name": "anchors", "type": {"type": "array", "items": "int"}},
                    {"name": "fingerprints", "type": ["null", {"type": "array", "items": "boolean"}]},
                ],
            }
        )
        write = model_writer(schema)
        assert write is not None
        for city, flag, number, day, ints, bools in [
            ("x", True, 0, date(1970, 1, 1), (), []),
            (None, False, -(2**63), date(1, 1, 1), (1, -1, 2**31 - 1, -(2**31)), [True, False]),
            ("ü" * 100, True, 2**63 - 1, date(9999, 12, 31), tuple(range(200)), [False] * 70),
        ]:
            shapes = Shapes(
                city=city,
                caller_is_subject=flag,
                household_size=number,
                arrival_date=day,
                anchors=ints,
                fingerprints=bools,
            )
            out = bytearray()
            write(out, shapes)
            record = {**shapes.model_dump(), "anchors": list(ints)}
            assert bytes(out) == fastavro_body(schema, record)


@pytest.mark.parametrize(
    "value",
    [
        0,
        1,
        -1,
        63,
        -64,
        64,
        -65,
        2047,
        2048,
        8191,
        8192,
        10**6,
        -(10**6),
        2**31 - 1,
        -(2**31),
        2**63 - 1,
        -(2**63),
    ],
)
def test_long_bytes_is_avro_zigzag_varint(value: int) -> None:
    assert long_bytes(value) == fastavro_body(parse_schema("long"), value)


PLAIN_SCHEMA = parse_schema(
    {
        "type": "record",
        "name": "Plain",
        "namespace": "test.plain",
        "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "maybe", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
            {"name": "tags", "type": {"type": "map", "values": "string"}},
            {
                "name": "parts",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Part",
                        "fields": [
                            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
                            {"name": "note", "type": ["null", "string"]},
                        ],
                    },
                },
            },
            {"name": "count", "type": "long", "default": 7},
            {
                "name": "origins",
                "type": {
                    "type": "map",
                    "values": {
                        "type": "record",
                        "name": "Origin",
                        "fields": [
                            {"name": "name", "type": "string"},
                            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                        ],
                    },
                },
                "default": {},
            },
        ],
    }
)


class TestPlainRecords:
    """Views' plain Avro data (dicts) written by the generated writer: fastavro's bytes, or ``Unfit``."""

    @pytest.mark.parametrize(
        "record",
        [
            {
                "at": datetime(2026, 3, 1, 12, 0, 0, 123999, tzinfo=UTC),
                "maybe": None,
                "tags": {"b": "2", "a": "1"},
                "parts": [{"kind": "B", "note": None}, {"kind": "A"}],
                "count": 3,
                "origins": {"x": {"name": "one", "at": datetime(2026, 3, 1, tzinfo=UTC)}},
            },
            {
                "at": datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                "maybe": datetime(1970, 1, 1, tzinfo=UTC),
                "tags": {},
                "parts": [],
                "origins": {},
            },
        ],
    )
    def test_the_bytes_are_fastavros(self, record: dict[str, Any]) -> None:
        """Timestamps rounded as fastavro rounds them (before the epoch too), maps in the dict's order,
        missing fields as their default or null.
        """
        write = model_writer(PLAIN_SCHEMA, plain=True)
        assert write is not None
        out = bytearray()
        write(out, record)
        assert bytes(out) == fastavro_body(PLAIN_SCHEMA, record)

    def test_map_values_shared_by_several_keys_are_written_in_full_each_time(self) -> None:
        """A record shared by several keys is encoded once per write and its bytes repeated; a write
        after the shared record changed writes what it holds then.
        """
        write = model_writer(PLAIN_SCHEMA, plain=True)
        assert write is not None
        shared = {"name": "event-1", "at": datetime(2026, 3, 1, tzinfo=UTC)}
        record = {
            "at": datetime(2026, 3, 1, tzinfo=UTC),
            "maybe": None,
            "tags": {},
            "parts": [],
            "origins": {"a": shared, "b": {"name": "event-2", "at": shared["at"]}, "c": shared},
        }
        for name in ("event-1", "event-3"):
            shared["name"] = name
            out = bytearray()
            write(out, record)
            assert bytes(out) == fastavro_body(PLAIN_SCHEMA, record)
            assert bytes(out).count(name.encode()) == 2

    def test_what_it_does_not_take_is_unfit(self) -> None:
        """A naive time, a model instead of a dict, a missing field without default: the general way."""
        write = model_writer(PLAIN_SCHEMA, plain=True)
        assert write is not None
        good = {
            "at": datetime(2026, 1, 1, tzinfo=UTC),
            "maybe": None,
            "tags": {},
            "parts": [],
            "origins": {},
        }
        for bad in (
            {**good, "at": datetime(2026, 1, 1)},
            {key: value for key, value in good.items() if key != "at"},
            {**good, "parts": [{"kind": "C"}]},
        ):
            with pytest.raises(Unfit):
                write(bytearray(), bad)


@settings(max_examples=1000, deadline=None)
@given(value=st.integers(-(2**63), 2**63 - 1))
def test_long_bytes_over_the_whole_range(value: int) -> None:
    """The varint tables (fourteen bits at a time) give fastavro's bytes for every long."""
    assert long_bytes(value) == fastavro_body(parse_schema("long"), value)


MICROS_SCHEMA = parse_schema(
    {
        "type": "record",
        "name": "Micros",
        "namespace": "test.plain",
        "fields": [
            {"name": "time", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "maybe", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        ],
    }
)


class TestMicroseconds:
    @settings(max_examples=300, deadline=None)
    @given(
        moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
        offset=st.integers(-14 * 60, 14 * 60),
        maybe=st.none() | st.just(datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
    )
    def test_timestamp_micros_as_fastavro_writes_them(
        self, moment: datetime, offset: int, maybe: Any
    ) -> None:
        """Aware times of any zone and microsecond, before the epoch too: fastavro's bytes."""
        record = {"time": moment.replace(tzinfo=timezone(timedelta(minutes=offset))), "maybe": maybe}
        write = model_writer(MICROS_SCHEMA, plain=True)
        assert write is not None
        out = bytearray()
        write(out, record)
        assert bytes(out) == fastavro_body(MICROS_SCHEMA, record)

    def test_a_naive_time_is_unfit(self) -> None:
        write = model_writer(MICROS_SCHEMA, plain=True)
        assert write is not None
        with pytest.raises(Unfit):
            write(bytearray(), {"time": datetime(2026, 1, 1), "maybe": None})

    def test_model_writers_still_leave_timestamps(self) -> None:
        """A contract model's writer covers no timestamp (``to_avro`` decides what they become)."""
        assert writer_source(MICROS_SCHEMA) is None
