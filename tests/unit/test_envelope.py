"""CloudEvents binary-mode headers: exactly the attribute names of the Kafka protocol binding."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.bus.envelope import (
    Envelope,
    SchemaRef,
    dataschema_uri,
    format_time,
    is_uuid,
    new_event_id,
    parse_dataschema,
    parse_time,
    require_utc,
    single_headers,
)
from services.bus.errors import InvalidEnvelope


def an_envelope() -> Envelope:
    return Envelope.new(
        source="kbri-tokyo",
        type="id.go.kemlu.bus.citizen.v1.StayReported",
        dataschema="urn:avro:id.go.kemlu.bus.citizen.v1.StayReported:0123456789abcdef",
        time=datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=9))),
        subject="ab" * 32,
        extensions={"bus_keyid": "dev-1"},
    )


class TestHeaders:
    def test_names_follow_the_cloudevents_kafka_binding(self) -> None:
        """ce_* attributes plus content-type, with ce_time in UTC RFC 3339 at millisecond precision."""
        headers = dict(an_envelope().to_headers())
        assert set(headers) == {
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "ce_dataschema",
            "content-type",
            "ce_subject",
            "ce_traceparent",
            "bus_keyid",
        }
        assert headers["ce_specversion"] == b"1.0"
        assert headers["content-type"] == b"application/avro"
        assert headers["ce_time"] == b"2026-10-31T23:30:15.123Z"
        uuid.UUID(headers["ce_id"].decode())

    def test_round_trip_is_exact(self) -> None:
        """Headers read back give the same envelope, extensions included."""
        env = an_envelope()
        assert Envelope.from_headers(env.to_headers()) == env

    @pytest.mark.parametrize("missing", ["ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion"])
    def test_missing_required_attribute_is_refused(self, missing: str) -> None:
        """Each required attribute is checked."""
        headers = [(k, v) for k, v in an_envelope().to_headers() if k != missing]
        with pytest.raises(InvalidEnvelope, match=missing):
            Envelope.from_headers(headers)

    def test_bad_traceparent_and_id_are_refused(self) -> None:
        """A non-UUID id or a malformed W3C traceparent is an envelope error."""
        good = an_envelope().to_headers()
        with pytest.raises(InvalidEnvelope, match="UUID"):
            Envelope.from_headers([(k, b"x" if k == "ce_id" else v) for k, v in good])
        with pytest.raises(InvalidEnvelope, match="traceparent"):
            Envelope.from_headers([(k, b"00-zz" if k == "ce_traceparent" else v) for k, v in good])

    def test_naive_time_is_refused(self) -> None:
        """A timestamp without a zone is ambiguous across 132 offices in many time zones."""
        with pytest.raises(InvalidEnvelope):
            format_time(datetime(2026, 1, 1))
        assert format_time(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"


class TestTimesAtTheEdges:
    @pytest.mark.parametrize(
        "text",
        [
            "0001-01-01T00:00:00+01:00",  # year 0 in UTC: OverflowError before, a crash loop in the intake
            "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
        ],
    )
    def test_a_time_outside_the_calendar_in_utc_is_an_envelope_error(self, text: str) -> None:
        with pytest.raises(InvalidEnvelope, match="outside the calendar"):
            parse_time(text)

    @pytest.mark.parametrize(
        "text",
        [
            "2026-W01-1T00:00:00Z",  # week date: fromisoformat takes it, RFC 3339 does not
            "20260101T000000Z",  # basic format
            "2026-01-01T00:00:00+00:00:30",  # offset with seconds
            "2026-01-01T00:00:00",  # no offset
            "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # full-width digits
            "2026-02-29T00:00:00Z",  # no such day
            "2026-01-01T00:00:00Z\n",
            "",
        ],
    )
    def test_only_rfc_3339_is_accepted(self, text: str) -> None:
        with pytest.raises(InvalidEnvelope):
            parse_time(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-23T08:30:15.123Z", datetime(2026, 11, 23, 8, 30, 15, 123000, tzinfo=UTC)),
            ("2026-11-23t08:30:15.123456789z", datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=UTC)),
            ("2026-11-23 15:30:15+07:00", datetime(2026, 11, 23, 8, 30, 15, tzinfo=UTC)),
            ("2026-11-23 15:30:15.123456789+07:00", datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=UTC)),
            ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),  # parses; check_event refuses it
        ],
    )
    def test_rfc_3339_in_any_offset_is_read_as_utc(self, text: str, expected: datetime) -> None:
        """Consumers take any offset (Java nanoseconds included); a publisher must send UTC."""
        assert parse_time(text) == expected

    def test_a_publisher_must_send_utc(self) -> None:
        assert parse_time("2026-11-23T08:30:15Z", utc_only=True).hour == 8
        with pytest.raises(InvalidEnvelope, match="UTC"):
            parse_time("2026-11-23T15:30:15+07:00", utc_only=True)
        with pytest.raises(InvalidEnvelope, match="UTC"):
            require_utc(datetime(2026, 1, 1))


class TestAmbiguousHeaders:
    @pytest.mark.parametrize(
        "name", ["ce_source", "ce_id", "ce_time", "ce_subject", "content-type", "bus_keyid"]
    )
    def test_an_own_header_given_twice_is_refused(self, name: str) -> None:
        """Whichever copy a consumer read, another could read the other: refused, named."""
        headers = [*an_envelope().to_headers(), (name, b"kbri-tokyo")]
        with pytest.raises(InvalidEnvelope, match=f"{name} appears more than once"):
            Envelope.from_headers(headers)

    def test_a_null_copy_counts_too(self) -> None:
        with pytest.raises(InvalidEnvelope, match="more than once"):
            Envelope.from_headers([*an_envelope().to_headers(), ("ce_source", None)])

    def test_a_non_utf8_header_is_refused_without_its_name_when_it_is_not_ours(self) -> None:
        """A header name may be anything (a NIK): only the bus's own names are repeated in the error."""
        nik = "3174055705900001"
        with pytest.raises(InvalidEnvelope) as caught:
            Envelope.from_headers([*an_envelope().to_headers(), (nik, b"\xff")])
        assert nik not in caught.value.message
        with pytest.raises(InvalidEnvelope, match="ce_subject is not UTF-8"):
            Envelope.from_headers(
                [(k, b"\xff" if k == "ce_subject" else v) for k, v in an_envelope().to_headers()]
            )

    @pytest.mark.parametrize(
        "event_id",
        [
            "{1b4e28ba-2fa1-11d2-883f-0016d3cca427}",
            "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "1b4e28ba2fa111d2883f0016d3cca427",
            "\u0661b4e28ba-2fa1-11d2-883f-0016d3cca427",  # an Arabic-Indic digit: uuid.UUID accepts it
        ],
    )
    def test_other_spellings_of_a_uuid_are_refused(self, event_id: str) -> None:
        """Consumers deduplicate on the text: one UUID must have one spelling."""
        headers = [(k, event_id.encode() if k == "ce_id" else v) for k, v in an_envelope().to_headers()]
        with pytest.raises(InvalidEnvelope, match="UUID"):
            Envelope.from_headers(headers)

    def test_single_headers_keeps_only_what_can_be_trusted(self) -> None:
        """For repairing a refused record: repeated or non-UTF-8 headers are left out."""
        headers = [
            ("ce_source", b"a"),
            ("ce_source", b"b"),
            ("ce_id", b"\xff"),
            ("ce_type", b"t"),
            ("x", None),
        ]
        assert single_headers(headers) == {"ce_type": "t"}


class TestDataschema:
    def test_the_uri_carries_the_fingerprint_big_endian_and_reads_back(self) -> None:
        """16 hex digits, most significant first (as Java's Long.toHexString, zero-padded), and back."""
        uri = dataschema_uri("id.go.kemlu.bus.citizen.v1.StayReported", 0x87F2B724449F684A)
        assert uri == "urn:avro:id.go.kemlu.bus.citizen.v1.StayReported:87f2b724449f684a"
        assert parse_dataschema(uri) == SchemaRef(
            "id.go.kemlu.bus.citizen.v1.StayReported", 0x87F2B724449F684A
        )
        assert dataschema_uri("a.B", 1).endswith(":0000000000000001")

    def test_a_well_formed_header_is_kept_on_the_envelope(self) -> None:
        env = Envelope.from_headers(an_envelope().to_headers())
        assert env.schema_ref == SchemaRef("id.go.kemlu.bus.citizen.v1.StayReported", 0x0123456789ABCDEF)

    def test_a_missing_header_is_no_schema_ref(self) -> None:
        """Optional in CloudEvents: an envelope without it says nothing about the frame."""
        headers = [(k, v) for k, v in an_envelope().to_headers() if k != "ce_dataschema"]
        assert Envelope.from_headers(headers).schema_ref is None

    @pytest.mark.parametrize(
        "value", [b"", b"urn:avro:a.B", b"urn:avro:a.B:123", b"urn:avro::0123456789abcdef", b"x" * 400]
    )
    def test_a_malformed_header_is_refused_without_its_value(self, value: bytes) -> None:
        headers = [(k, value if k == "ce_dataschema" else v) for k, v in an_envelope().to_headers()]
        with pytest.raises(InvalidEnvelope, match="ce_dataschema is not urn:avro:") as caught:
            Envelope.from_headers(headers)
        assert value.decode() not in caught.value.message or not value


class TestEventIds:
    def test_fresh_ids_are_version_4_uuids_and_never_repeat(self) -> None:
        """Ids come from the process's PRNG: still RFC 4122 version 4 text, 100,000 of them all distinct."""
        ids = [new_event_id() for _ in range(100_000)]
        assert len(set(ids)) == len(ids)
        for text in ids[:1000]:
            parsed = uuid.UUID(text)
            assert is_uuid(text)
            assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)

    def test_a_forked_child_does_not_repeat_its_parents_ids(self) -> None:
        """A child of fork() reseeds: the ids it makes next differ from the ones its parent makes next."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: send its next id and leave at once
            os.write(write, new_event_id().encode())
            os._exit(0)
        os.close(write)
        child = os.read(read, 64).decode()
        os.waitpid(pid, 0)
        os.close(read)
        assert child != new_event_id()
        assert is_uuid(child)
