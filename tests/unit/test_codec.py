"""Avro single-object framing, fingerprints and schema resolution, without a broker."""

from __future__ import annotations

import pytest

from services.bus.codec import MAGIC, AvroCodec
from services.bus.errors import EncodeError, MalformedPayload, UnknownSchema
from services.bus.schemas import crc64_avro, load_registry
from services.bus.settings import get_settings

STAY = "id.go.kemlu.bus.citizen.v1.StayReported"


@pytest.fixture(scope="module")
def codec() -> AvroCodec:
    return AvroCodec(load_registry(get_settings().schemas_dir))


def a_stay_record() -> dict[str, object]:
    from datetime import date

    return {
        "office": "kjri-new-york",
        "office_record_ref": "NY-2026-000123",
        "personal": {
            "nik": None,
            "full_name": "Siti Aminah",
            "date_of_birth": date(1990, 5, 17),
            "place_of_birth": "Bandung",
            "sex": "FEMALE",
            "passport_number": None,
            "phone": None,
            "email": None,
            "address": None,
            "notes": None,
        },
        "country": "US",
        "city": "New York",
        "purpose": "WORK",
        "occupation": None,
        "arrival_date": date(2026, 1, 5),
        "expected_departure_date": None,
        "channel": "APP",
        "officer_id": None,
        "household_size": None,
    }


class TestFingerprint:
    def test_matches_the_avro_specification_vector(self) -> None:
        """CRC-64-AVRO of the canonical form "null" is the value the Avro spec's test suite lists."""
        assert crc64_avro(b'"null"') == 7195948357588979594

    def test_header_is_magic_plus_little_endian_fingerprint(self, codec: AvroCodec) -> None:
        """Bytes 0-1 are C3 01, bytes 2-9 the writer's fingerprint little-endian, as the spec frames it."""
        data = codec.encode(STAY, a_stay_record())
        contract = codec.registry.latest(STAY)
        assert data[:2] == MAGIC
        assert int.from_bytes(data[2:10], "little") == contract.fingerprint
        assert contract.dataschema == f"urn:avro:{STAY}:{contract.fingerprint:016x}"


class TestRoundTrip:
    def test_decode_gives_back_the_record_and_reencodes_byte_exact(self, codec: AvroCodec) -> None:
        """Encoding, decoding and encoding again yields the very same bytes."""
        data = codec.encode(STAY, a_stay_record())
        decoded = codec.decode(data)
        assert decoded.record == a_stay_record()
        assert codec.encode(STAY, decoded.record) == data

    def test_old_revision_is_read_into_the_latest(self, codec: AvroCodec) -> None:
        """Data written with revision 1 decodes with revision 2 as reader; the new field takes its default."""
        from io import BytesIO

        from fastavro import schemaless_writer

        old = codec.registry.revisions(STAY)[0]
        assert old.revision == 1
        record = a_stay_record()
        del record["household_size"]
        buf = BytesIO()
        buf.write(MAGIC + old.fingerprint_bytes)
        schemaless_writer(buf, old.schema, record)
        decoded = codec.decode(buf.getvalue())
        assert decoded.writer.revision == 1
        assert decoded.reader.revision == codec.registry.latest(STAY).revision
        assert decoded.record["household_size"] is None


class TestBadBytes:
    def test_garbage_is_malformed(self, codec: AvroCodec) -> None:
        """Bytes without the single-object marker are refused as MALFORMED."""
        with pytest.raises(MalformedPayload):
            codec.decode(b"\x00\x01hello")

    def test_unknown_fingerprint_is_unknown_schema(self, codec: AvroCodec) -> None:
        """A well-framed payload naming a schema nobody has is UNKNOWN_SCHEMA."""
        with pytest.raises(UnknownSchema):
            codec.decode(MAGIC + bytes(8) + b"\x00")

    @pytest.mark.parametrize("cut", [11, 20, -1])
    def test_truncated_body_is_malformed(self, codec: AvroCodec, cut: int) -> None:
        """A body cut short anywhere does not decode into a half record."""
        data = codec.encode(STAY, a_stay_record())
        with pytest.raises(MalformedPayload):
            codec.decode(data[:cut])

    def test_trailing_bytes_are_malformed(self, codec: AvroCodec) -> None:
        """Bytes after a complete body mean the frame is not what it claims."""
        with pytest.raises(MalformedPayload, match="trailing"):
            codec.decode(codec.encode(STAY, a_stay_record()) + b"\x00")

    def test_encode_error_does_not_echo_the_value(self, codec: AvroCodec) -> None:
        """A record that does not fit its schema raises EncodeError without quoting the data."""
        record = a_stay_record()
        record["country"] = 12345678
        with pytest.raises(EncodeError) as info:
            codec.encode(STAY, record)
        assert "12345678" not in str(info.value)


def zigzag(n: int) -> bytes:
    """Avro's long encoding of ``n``."""
    value, out = (n << 1) ^ (n >> 63), bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


HOSTILE_BODIES = {
    "huge length": zigzag(2**62) + b"abc",
    "negative length": zigzag(-5) + b"abc",
    "huge block count": zigzag(1) + b"d" + zigzag(1) + b"c" + zigzag(2**40) + zigzag(1) + b"a",
    "endless varint": b"\xff" * 64,
    "empty": b"",
    "max varints": (b"\xff" * 9 + b"\x01") * 8,
}


class TestHostileBodies:
    @pytest.mark.timeout(10)
    @pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
    def test_every_contract_refuses_a_hostile_body_quickly(self, codec: AvroCodec, body: bytes) -> None:
        """Lengths and counts far beyond the bytes there are never allocate or loop: each body, under
        each contract's fingerprint, is MALFORMED (no contract has an array of zero-byte items).
        """
        for contract in codec.registry:
            with pytest.raises(MalformedPayload):
                codec.decode(MAGIC + contract.fingerprint_bytes + body)

    def test_a_body_under_the_wrong_fingerprint_is_refused(self, codec: AvroCodec) -> None:
        """A valid StayReported body framed as another contract does not pass as that contract."""
        body = codec.encode(STAY, a_stay_record())[10:]
        other = codec.registry.latest("id.go.kemlu.bus.passport.v1.AppointmentBooked")
        with pytest.raises(MalformedPayload):
            codec.decode(MAGIC + other.fingerprint_bytes + body)
