"""Bad records for demonstrations and the dead-letter figures: each one a way an outside producer gets
the bus wrong, made from one valid record, each refused with its own reason by every consumer.

``make run`` sends a set once a minute, so the dead-letter figures always have something to show and an
operator sees what each refusal looks like. Not sent: ``PROCESSING_FAILED`` needs a defect in a
processor, and ``CORRUPT_RECORD`` (a header name that is not UTF-8) would take the valid events that share
its producer batch down with it (a client cannot read past it within the batch).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.bus.codec import AvroCodec
from services.bus.envelope import Headers, format_time
from services.bus.publisher import Outgoing

DOMAIN_TOPICS = ("citizen", "passport", "protection")


@dataclass(frozen=True)
class BadRecord:
    """A record to send raw, and the reason every consumer gives for refusing it."""

    reason: str
    topic: str
    key: bytes
    value: bytes
    headers: Headers


def _replace(headers: Headers, name: str, value: bytes | None) -> Headers:
    """``headers`` with ``name`` set to ``value`` (removed when None)."""
    kept = [(k, v) for k, v in headers if k != name]
    return kept if value is None else [*kept, (name, value)]


def bad_records(
    good: Outgoing, codec: AvroCodec, now: datetime, topic: Callable[[str], str]
) -> list[BadRecord]:
    """One bad record per reason, each derived from the valid record ``good`` (sent to ``topic(name)``)."""
    headers, value = list(good.headers), good.value
    own = good.topic
    other = topic(next(t for t in DOMAIN_TOPICS if topic(t) != own))
    unknown_fingerprint = value[:2] + os.urandom(8) + value[10:]
    cases: list[tuple[str, str, bytes, Headers]] = [
        ("MALFORMED", own, b"not an avro single-object frame", headers),
        ("UNKNOWN_SCHEMA", own, unknown_fingerprint, headers),
        ("INVALID_ENVELOPE", own, value, _replace(headers, "ce_id", None)),
        ("UNKNOWN_SOURCE", own, value, _replace(headers, "ce_source", b"kbri-atlantis")),
        (
            "FUTURE_EVENT",
            own,
            value,
            _replace(headers, "ce_time", format_time(now + timedelta(days=1)).encode()),
        ),
        ("TIME_OUT_OF_RANGE", own, value, _replace(headers, "ce_time", b"1999-12-31T23:00:00Z")),
        ("WRONG_TOPIC", other, value, headers),
    ]
    decoded = codec.decode(value)
    personal = decoded.record.get("personal")
    if isinstance(personal, dict) and personal.get("nik"):
        broken = {**decoded.record, "personal": {**personal, "nik": "0000000000000000"}}  # no such province
        cases.append(("INVALID_EVENT", own, codec.encode(decoded.writer.fullname, broken), headers))
    return [BadRecord(reason, name, good.key, body, list(hdrs)) for reason, name, body, hdrs in cases]
