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
    headers, value, key = list(good.headers), good.value, good.key
    own = good.topic
    other = topic(next(t for t in DOMAIN_TOPICS if topic(t) != own))
    later = format_time(now + timedelta(days=1)).encode()
    other_type = next(name for name in codec.registry.names() if name != good.envelope.type)
    foreign_schema = codec.registry.latest(other_type).dataschema.encode()

    def bad(
        reason: str, *, value: bytes = value, headers: Headers = headers, to: str = own, key: bytes = key
    ) -> BadRecord:
        return BadRecord(reason, to, key, value, list(headers))

    records = [
        bad("MALFORMED", value=b"not an avro single-object frame"),
        bad("UNKNOWN_SCHEMA", value=value[:2] + os.urandom(8) + value[10:]),
        bad("INVALID_ENVELOPE", headers=_replace(headers, "ce_id", None)),
        bad("UNKNOWN_SOURCE", headers=_replace(headers, "ce_source", b"kbri-atlantis")),
        bad("FUTURE_EVENT", headers=_replace(headers, "ce_time", later)),
        bad("TIME_OUT_OF_RANGE", headers=_replace(headers, "ce_time", b"1999-12-31T23:00:00Z")),
        bad("WRONG_TOPIC", to=other),
        bad("DATASCHEMA_MISMATCH", headers=_replace(headers, "ce_dataschema", foreign_schema)),
    ]
    decoded = codec.decode(value)
    personal = decoded.record.get("personal")
    records.append(bad("KEY_MISMATCH", key=b"0" * 64))  # not what the payload gives (HMAC, ref, id)
    nik = personal.get("nik") if isinstance(personal, dict) else None
    if nik and any(name == "bus_keyid" for name, _ in headers):  # keyed by the HMAC of its NIK
        records += [
            bad("MISSING_KEY_ID", headers=_replace(headers, "bus_keyid", None)),
            bad("UNKNOWN_KEY_ID", headers=_replace(headers, "bus_keyid", b"no-such-key")),
        ]
    if "office" in decoded.record:  # a well-formed body naming an office that does not exist
        broken = {**decoded.record, "office": "kbri-atlantis"}
        records.append(bad("INVALID_EVENT", value=codec.encode(decoded.writer.fullname, broken)))
    return records
