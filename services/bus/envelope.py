"""CloudEvents 1.0 attributes as Kafka headers, binary content mode (the CloudEvents Kafka binding).

The payload stays pure Avro; the envelope says who (``ce_source``: an office code), what (``ce_type``: the
Avro full name, which carries the major version), when (``ce_time``), about which aggregate (``ce_subject``:
the record key, never personal data) and which writer schema (``ce_dataschema``).
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.bus.errors import InvalidEnvelope

SPECVERSION = "1.0"
CONTENT_TYPE = "application/avro"
_REQUIRED = ("ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion")
_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
Headers = list[tuple[str, bytes]]
_TRACE_RANDOM = random.Random()  # noqa: S311 - trace ids are not secrets; seeded from os.urandom


def new_traceparent() -> str:
    """A fresh W3C trace context: version 00, random trace and span ids, sampled.

    Trace ids correlate, they protect nothing, so the process's PRNG (seeded from the OS) makes them:
    two ``secrets`` calls were two system calls per event, 5% of the registry core's time.
    """
    trace, span = _TRACE_RANDOM.getrandbits(128) or 1, _TRACE_RANDOM.getrandbits(64) or 1
    return f"00-{trace:032x}-{span:016x}-01"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, the resolution Avro timestamps keep."""
    if moment.tzinfo is None:
        raise InvalidEnvelope("event time must carry a time zone")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def truncate_ms(moment: datetime) -> datetime:
    """Millisecond precision: what ``ce_time`` and Avro timestamp-millis keep, so a round trip is exact."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_time(text: str) -> datetime:
    """An RFC 3339 ``ce_time`` as UTC; InvalidEnvelope when malformed or without an offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEnvelope("ce_time is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidEnvelope("ce_time has no time zone offset")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Envelope:
    """The CloudEvents context of one event; ``extensions`` holds ``bus_*`` headers (key id, signature)."""

    id: str
    source: str
    type: str
    time: datetime
    dataschema: str
    subject: str | None = None
    traceparent: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def new(
        cls,
        *,
        source: str,
        type: str,  # noqa: A002 - the CloudEvents attribute's own name
        dataschema: str,
        time: datetime | None = None,
        subject: str | None = None,
        traceparent: str | None = None,
        event_id: str | None = None,
        extensions: Mapping[str, str] | None = None,
    ) -> Envelope:
        """A fresh envelope: new id and trace context unless given, the time in UTC to the millisecond."""
        return cls(
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=type,
            time=truncate_ms((time or datetime.now(UTC)).astimezone(UTC)),
            dataschema=dataschema,
            subject=subject,
            traceparent=traceparent or new_traceparent(),
            extensions=dict(extensions or {}),
        )

    @property
    def trace_id(self) -> str | None:
        """The trace id part of ``traceparent`` (None without one)."""
        return self.traceparent.split("-")[1] if self.traceparent else None

    def to_headers(self) -> Headers:
        """The envelope as Kafka headers: ``ce_*`` attributes, content type, then the extensions."""
        headers: Headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", format_time(self.time).encode()),
            ("ce_dataschema", self.dataschema.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.subject is not None:
            headers.append(("ce_subject", self.subject.encode()))
        if self.traceparent is not None:
            headers.append(("ce_traceparent", self.traceparent.encode()))
        headers.extend((k, v.encode()) for k, v in self.extensions.items())
        return headers

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes | None]]) -> Envelope:
        """Read the envelope back; a missing or malformed attribute raises InvalidEnvelope."""
        values: dict[str, str] = {}
        for key, raw in headers:
            if raw is None:
                continue
            try:
                values[key] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidEnvelope(f"header {key} is not UTF-8") from None
        missing = [name for name in _REQUIRED if not values.get(name)]
        if missing:
            raise InvalidEnvelope(f"missing CloudEvents headers: {', '.join(missing)}")
        if values["ce_specversion"] != SPECVERSION:
            raise InvalidEnvelope(f"unsupported ce_specversion {values['ce_specversion'][:8]!r}")
        if values.get("content-type", CONTENT_TYPE) != CONTENT_TYPE:
            raise InvalidEnvelope("content-type must be application/avro")
        try:
            uuid.UUID(values["ce_id"])
        except ValueError:
            raise InvalidEnvelope("ce_id is not a UUID") from None
        trace = values.get("ce_traceparent")
        if trace is not None and not _TRACEPARENT.match(trace):
            raise InvalidEnvelope("ce_traceparent is not W3C trace context")
        return cls(
            id=values["ce_id"],
            source=values["ce_source"],
            type=values["ce_type"],
            time=parse_time(values["ce_time"]),
            dataschema=values.get("ce_dataschema", ""),
            subject=values.get("ce_subject"),
            traceparent=trace,
            extensions={k: v for k, v in values.items() if k.startswith("bus_")},
        )
