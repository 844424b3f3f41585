"""CloudEvents binary-mode headers: exactly the attribute names of the Kafka protocol binding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.bus.envelope import Envelope, format_time
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
