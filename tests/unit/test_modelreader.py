"""Avro bodies read by the generated readers: the very record fastavro reads, and for bytes the generated
reader does not read itself, fastavro's own record or error (the codec's BusError, naming no values).

The registry's items are the reader's hot path: every item of simulated traffic (observations and officer
decisions) and hypothesis-varied observations read back as fastavro reads them, and as the same ``Item``;
bytes broken every way hypothesis finds decode to what the general way gives, or fail as it fails.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import cache
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bus.codec import HEADER_SIZE, AvroCodec, Decoded
from services.bus.decoder import RawRecord
from services.bus.modelreader import Read, Unfit, long_at, model_reader, reader_source
from services.bus.modelwriter import model_writer
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts.audit import ArchivedRecordModel
from services.contracts.base import EventModel
from services.registry.facts import Observation
from services.registry.items import ITEM_SCHEMA, Item, decode_item, encode_item, item_record
from services.registry.observation import observe
from services.registry.projection import RegistryProjection
from services.sim.simulator import TrafficSimulator
from tests.unit.registry.builders import hasher, simulated
from tests.unit.registry.test_items import DECISIONS, _residences


@cache
def codec() -> AvroCodec:
    return AvroCodec(load_registry(get_settings().schemas_dir))


@cache
def simulated_events() -> tuple[EventModel, ...]:
    sim = TrafficSimulator(11, start=datetime(2026, 6, 1, tzinfo=UTC))
    return tuple(s.event for s in sim.next_batch(6000))


@cache
def simulated_items() -> tuple[Item, ...]:
    """Every observation the registry makes of simulated traffic (4 seeds), and the officer decisions."""
    found: list[Item] = []
    for seed in range(4):
        for event in simulated(seed, 1500):
            obs = observe(event, hasher=hasher)
            if obs is not None:
                found.append(obs)
    return (*found, *DECISIONS)


@st.composite
def varied_observations(draw: st.DrawFn) -> Observation:
    """A simulated observation, its time moved to any microsecond and its residence redrawn."""
    observations = [item for item in simulated_items() if isinstance(item, Observation)]
    obs = draw(st.sampled_from(observations))
    if draw(st.booleans()):
        when = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
        obs = replace(obs, time=when.replace(tzinfo=UTC))
    if draw(st.booleans()):
        obs = replace(obs, residence=draw(_residences()))
    return obs


def typed(value: object) -> object:
    """``value`` with the type of every part spelled out, so equal-but-differently-typed data differs."""
    if isinstance(value, dict):
        return ("dict", [(key, typed(part)) for key, part in value.items()])
    if isinstance(value, list):
        return ("list", [typed(part) for part in value])
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), value.tzinfo)
    return (type(value).__name__, value)


def fastavro_read(data: bytes) -> tuple[dict[str, Any], int]:
    """What fastavro reads of a framed body written with the latest revision, and where it stops."""
    contract = codec().writer_of(data)
    stream = BytesIO(data)
    stream.seek(HEADER_SIZE)
    record = schemaless_reader(stream, contract.schema, contract.schema)
    assert isinstance(record, dict)
    return record, stream.tell()


@cache
def reader_of(fingerprint: int) -> Read:
    read = model_reader(codec().registry.by_fingerprint(fingerprint).schema)
    assert read is not None
    return read


def generated_read(data: bytes) -> tuple[dict[str, Any], int]:
    """The generated reader's own record (no fall-back: whatever it does not read fails the test)."""
    return reader_of(codec().writer_of(data).fingerprint)(data, HEADER_SIZE)


def outcome(call: Any) -> tuple[str, object]:
    """What a call gives: its result with every type spelled out, or the type and text of its error."""
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - the very error is what is compared
        return (type(exc).__name__, str(exc))
    if isinstance(result, Decoded):
        return ("decoded", (typed(result.record), result.writer, result.reader))
    return ("item", result)


def general(data: bytes) -> Decoded:
    """The codec's general way (fastavro) for ``data``, as ``decode`` took it for every body before."""
    writer = codec().writer_of(data)
    return codec()._decode_general(data, writer, codec().registry.latest(writer.fullname))


class TestTheRecords:
    def test_every_simulated_item_reads_as_fastavro_reads_it(self) -> None:
        """Each item's record, to the type of every value, and where it ends; and the same ``Item``."""
        items = simulated_items()
        observations = [item for item in items if isinstance(item, Observation)]
        assert len(observations) > 1000
        assert any(obs.passport is not None for obs in observations)
        assert any(obs.case is not None for obs in observations)
        assert any(obs.stay is not None for obs in observations)
        assert any(None in obs.residence.values() for obs in observations)
        for item in items:
            data = encode_item(item)
            record, end = generated_read(data)
            expected, expected_end = fastavro_read(data)
            assert typed(record) == typed(expected)
            assert end == expected_end == len(data)
            assert decode_item(data) == item

    def test_every_simulated_item_is_written_as_fastavro_writes_it(self) -> None:
        """The other way: ``encode_item`` is the generated plain writer's own body (no fall-back), and
        fastavro writes the same bytes from the same record.
        """
        contract = codec().registry.latest(ITEM_SCHEMA)
        write = model_writer(contract.schema, plain=True)
        assert write is not None
        for item in simulated_items():
            record = item_record(item)
            body = bytearray()
            write(body, record)
            framed = b"\xc3\x01" + contract.fingerprint_bytes + bytes(body)
            assert encode_item(item) == framed == codec().encode(ITEM_SCHEMA, record)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(obs=varied_observations())
    def test_varied_observations_read_as_fastavro_reads_them(self, obs: Observation) -> None:
        """Any microsecond, any residence (parts absent, now unknown, set): fastavro's record exactly."""
        data = encode_item(obs)
        record, end = generated_read(data)
        expected, expected_end = fastavro_read(data)
        assert typed(record) == typed(expected)
        assert end == expected_end
        assert decode_item(data) == obs
        assert data == codec().encode(ITEM_SCHEMA, item_record(obs))

    def test_every_simulated_event_reads_as_fastavro_reads_it(self) -> None:
        """The SDK's decode path too: every event contract the simulator uses, to the type of every value."""
        seen = set()
        for event in simulated_events():
            data = codec().encode_model(event)
            record, end = generated_read(data)
            expected, expected_end = fastavro_read(data)
            assert typed(record) == typed(expected), event.SCHEMA
            assert end == expected_end == len(data)
            seen.add(event.SCHEMA)
        assert len(seen) >= 20

    def test_every_contract_gets_a_reader(self) -> None:
        """No contract of ``schemas/`` silently takes the slow way; but the archive's record, which holds
        bytes and lives in archive files fastavro reads, never on a topic the codec decodes.
        """
        for contract in codec().registry:
            if contract.fullname == ArchivedRecordModel.SCHEMA:
                assert reader_source(contract.schema) is None
                continue
            assert reader_source(contract.schema) is not None, contract.fullname

    def test_decode_uses_the_generated_reader_for_the_latest_revision(self) -> None:
        """The codec's record is the generated reader's own (not a fall-back that happens to agree)."""
        data = encode_item(DECISIONS[0])
        writer = codec().writer_of(data)
        assert codec()._read_generated(data, writer) == codec().decode(data).record


# --- bytes that are not an item ----------------------------------------------------------------------


@cache
def valid_bodies() -> tuple[bytes, ...]:
    observations = [item for item in simulated_items() if isinstance(item, Observation)]
    return tuple(encode_item(item) for item in (*observations[:40], *DECISIONS))


@st.composite
def broken(draw: st.DrawFn) -> bytes:
    """A valid item with its body changed: bytes overwritten, inserted, deleted, or cut off."""
    data = bytearray(draw(st.sampled_from(valid_bodies())))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(HEADER_SIZE, len(data)))
        how = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        byte = draw(st.integers(0, 255) | st.sampled_from([0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF]))
        if how == "set" and at < len(data):
            data[at] = byte
        elif how == "insert":
            data.insert(at, byte)
        elif how == "delete" and at < len(data):
            del data[at]
        else:
            del data[at:]
    return bytes(data)


REFUSALS = (
    rf"body does not decode as {re.escape(ITEM_SCHEMA)} \(\w+\)",
    rf"\d+ trailing bytes after a {re.escape(ITEM_SCHEMA)} body",
    r"not a registry item \(\w+\)",
)
"""Every text a refusal of broken item bytes may have: rules and error types, never a value read."""


def raw(value: bytes) -> RawRecord:
    return RawRecord(topic="registry.observations", partition=0, offset=7, timestamp=0, key=b"k", value=value)


class TestBrokenBytes:
    @settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=broken())
    def test_broken_bytes_decode_as_the_general_way_decodes_them(self, data: bytes) -> None:
        """The same record, or the same error (type and text), as fastavro alone gives; an item or the
        same refusal from ``decode_item``.
        """
        assert outcome(lambda: codec().decode(data, expected=ITEM_SCHEMA)) == outcome(lambda: general(data))

    @settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=broken())
    def test_a_refusal_is_the_codecs_error_and_names_no_value(self, data: bytes) -> None:
        """What the projection reads is an item, or a refusal (MALFORMED) whose text quotes nothing read."""
        kind, detail = outcome(lambda: RegistryProjection(hasher).read(raw(data)))
        assert kind in {"item", "MalformedPayload"}
        if kind == "MalformedPayload":
            assert isinstance(detail, str)
            assert any(re.fullmatch(form, detail) for form in REFUSALS), detail

    @pytest.mark.parametrize(
        "change",
        [
            lambda body: body[:-1],  # a string cut short: fastavro reads what is there
            lambda body: b"\x08" + body[1:],  # an enum index past the symbols
            lambda body: b"\x01" + body[1:],  # a negative enum index
            lambda body: body[:1] + b"\x04" + body[2:],  # a union index past the branches
            lambda body: body[:1] + b"\x80\x00" + body[2:],  # a union index in two bytes (overlong)
            lambda body: body[:1] + b"\xff" * 11 + body[2:],  # a varint past ten bytes
            lambda body: body + b"\x00",  # trailing bytes
            lambda _: b"",  # nothing at all
        ],
        ids=["cut", "enum-past", "enum-negative", "union-past", "overlong", "varint-11", "trailing", "empty"],
    )
    def test_edge_bytes_decode_as_the_general_way(self, change: Any) -> None:
        data = encode_item(DECISIONS[0])
        bad = data[:HEADER_SIZE] + change(data[HEADER_SIZE:])
        assert outcome(lambda: codec().decode(bad)) == outcome(lambda: general(bad))


# --- the reader itself, on shapes the contracts have ------------------------------------------------


def record_schema(name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """A record schema as ``fastavro.parse_schema`` returns it."""
    return parsed({"type": "record", "name": name, "fields": fields})


def parsed(schema: dict[str, Any]) -> dict[str, Any]:
    result = parse_schema(schema)
    assert isinstance(result, dict)
    return result


SHAPES = parsed(
    {
        "type": "record",
        "name": "Shapes",
        "namespace": "test.reader",
        "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "exact", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
            {"name": "flag", "type": "boolean"},
            {"name": "small", "type": "int"},
            {"name": "big", "type": "long"},
            {"name": "tags", "type": {"type": "map", "values": ["null", "string"]}},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B", "C"]}},
            {"name": "either", "type": ["string", "long", "null"]},
            {"name": "nothing", "type": "null"},
            {
                "name": "parts",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Part",
                        "fields": [
                            {"name": "kind", "type": "Kind"},
                            {"name": "note", "type": ["null", "string"]},
                            {"name": "numbers", "type": {"type": "array", "items": "long"}},
                        ],
                    },
                },
            },
        ],
    }
)
_TEXT = st.text(max_size=80) | st.integers(60, 9000).map(lambda n: "ü" * n)
_PART = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["A", "B", "C"]),
        "note": st.none() | _TEXT,
        "numbers": st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5),
    }
)
_SHAPES = st.fixed_dictionaries(
    {
        "at": st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
            lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
        ),
        "exact": st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
            lambda moment: moment.replace(tzinfo=UTC)
        ),
        "day": st.none() | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
        "flag": st.booleans(),
        "small": st.integers(-(2**31), 2**31 - 1),
        "big": st.integers(-(2**63), 2**63 - 1),
        "tags": st.dictionaries(st.text(max_size=10), st.none() | st.text(max_size=10), max_size=4),
        "kind": st.sampled_from(["A", "B", "C"]),
        "either": st.none() | _TEXT | st.integers(-(2**63), 2**63 - 1),
        "nothing": st.none(),
        "parts": st.lists(_PART, max_size=4),
    }
)


def body(record: dict[str, Any]) -> bytes:
    out = BytesIO()
    schemaless_writer(out, SHAPES, record)
    return out.getvalue()


class TestShapes:
    @settings(max_examples=300, deadline=None)
    @given(record=_SHAPES)
    def test_what_fastavro_writes_reads_back_as_fastavro_reads_it(self, record: dict[str, Any]) -> None:
        """Timestamps of both units, dates from year 1 to 9999, maps, enums, unions of three, nested
        arrays of records, the whole 64-bit range, strings of any length and script.
        """
        data = body(record)
        read = model_reader(SHAPES)
        assert read is not None
        got, end = read(data, 0)
        assert typed(got) == typed(schemaless_reader(BytesIO(data), SHAPES, None))
        assert end == len(data)

    def test_arrays_and_maps_in_several_blocks(self) -> None:
        """Counts of several blocks (positive counts) are read; a negative count is left to fastavro."""
        schema = record_schema("B", [{"name": "xs", "type": {"type": "array", "items": "int"}}])
        read = model_reader(schema)
        assert read is not None
        assert read(b"\x04\x02\x04\x02\x06\x00", 0) == ({"xs": [1, 2, 3]}, 6)
        with pytest.raises(Unfit):
            read(b"\x03\x04\x02\x04\x00", 0)

    @pytest.mark.parametrize(
        "field_type",
        [
            "float",
            "double",
            "bytes",
            {"type": "fixed", "name": "F", "size": 4},
            {"type": "string", "logicalType": "uuid"},
            {"type": "long", "logicalType": "local-timestamp-millis"},
        ],
    )
    def test_types_not_covered_give_no_reader(self, field_type: object) -> None:
        assert reader_source(record_schema("R", [{"name": "f", "type": field_type}])) is None

    def test_a_recursive_record_gives_no_reader(self) -> None:
        assert reader_source(record_schema("Node", [{"name": "next", "type": ["null", "Node"]}])) is None


@settings(max_examples=500, deadline=None)
@given(value=st.integers(-(2**63), 2**63 - 1))
def test_long_at_reads_what_fastavro_writes(value: int) -> None:
    out = BytesIO()
    schemaless_writer(out, parse_schema("long"), value)
    data = b"\x00" + out.getvalue() + b"\x00"
    assert long_at(data, 1) == (value, len(data) - 1)


def test_long_at_leaves_what_passes_64_bits() -> None:
    assert long_at(b"\xff" * 9 + b"\x01", 0) == (-(2**63), 10)
    with pytest.raises(Unfit):
        long_at(b"\xff" * 9 + b"\x02", 0)
    with pytest.raises(Unfit):
        long_at(b"\xff" * 10 + b"\x00", 0)


@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        (b"\x06abc", ("abc", 4)),
        (b"\x08abc", None),  # runs past the data: fastavro reads what is there
        (b"\x01abc", None),  # a negative length
        (b"\x80\x01" + b"a" * 64, ("a" * 64, 66)),  # a length in two bytes
        (b"\x80\x80\x01" + b"a" * 8192, ("a" * 8192, 8195)),  # and in three
    ],
    ids=["short", "past-the-end", "negative", "two-byte-length", "three-byte-length"],
)
def test_strings_of_every_length(data: bytes, outcome: tuple[str, int] | None) -> None:
    read = model_reader(record_schema("S", [{"name": "s", "type": "string"}]))
    assert read is not None
    if outcome is None:
        with pytest.raises(Unfit):
            read(data, 0)
    else:
        assert read(data, 0) == ({"s": outcome[0]}, outcome[1])
