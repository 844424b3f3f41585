"""CloudEvents 1.0 attributes as Kafka headers, binary content mode (the CloudEvents Kafka binding).

The payload stays pure Avro; the envelope says who (``ce_source``: an office code), what (``ce_type``: the
Avro full name, which carries the major version), when (``ce_time``), about which aggregate (``ce_subject``:
the record key, never personal data) and which writer schema (``ce_dataschema``).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.bus.errors import InvalidEnvelope

SPECVERSION = "1.0"
CONTENT_TYPE = "application/avro"
_REQUIRED = ("ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion")
_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
# The 36-character text form only: uuid.UUID() also takes braces, "urn:uuid:", 32 bare digits and
# non-ASCII digits, and consumers deduplicate on the text, so two spellings of one id would both pass.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# RFC 3339 date-time, ASCII digits only: datetime.fromisoformat alone also takes week dates, the basic
# format and offsets with seconds, none of which a Java or .NET producer means by "RFC 3339".
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"  # date and time
    r"(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"  # fraction (Java gives up to 9 digits), offset
)
# `urn:avro:<full name>:<fingerprint>`: an Avro full name (dotted names), 16 hex digits of the unsigned
# CRC-64-AVRO fingerprint, most significant first (what Java's Long.toHexString gives, zero-padded).
_DATASCHEMA = re.compile(
    r"urn:avro:(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):(?P<fingerprint>[0-9a-fA-F]{16})"
)
# Names the bus gives meaning to: one of them twice is ambiguous (which one did the producer mean?).
_OWN_HEADER = re.compile(r"(?:ce|bus)_[a-z]{1,30}|content-type")
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""No event of the bus happened before this: an earlier time is a default value or a typo."""
Headers = list[tuple[str, bytes]]
_RANDOM = random.Random()  # noqa: S311 - event and trace ids are not secrets; seeded from os.urandom
os.register_at_fork(after_in_child=_RANDOM.seed)  # a forked child must not repeat its parent's ids
# What ``uuid.UUID(int=n, version=4)`` does to n: the variant bits 10 (RFC 4122), the version nibble 4.
_UUID4_KEEP = ~(0xC000 << 48) & ~(0xF000 << 64)
_UUID4_SET = 0x8000 << 48 | 4 << 76
_SPECVERSION_HEADER = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())
_ZERO = timedelta(0)


def new_event_id() -> str:
    """A fresh random (version 4) UUID for ``ce_id``.

    Ids must be unique, not unguessable: 122 bits of the process's PRNG (seeded from the OS, and again in
    a forked child) are as unique as ``uuid4``'s, without its system call per event, 4% of the registry
    core's time. The text is ``str(uuid.UUID(int=<those bits>, version=4))``, formatted without the
    object.
    """
    digits = f"{_RANDOM.getrandbits(128) & _UUID4_KEEP | _UUID4_SET:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def new_traceparent() -> str:
    """A fresh W3C trace context: version 00, random trace and span ids, sampled.

    Trace ids correlate, they protect nothing, so the process's PRNG (seeded from the OS) makes them:
    two ``secrets`` calls were two system calls per event, 5% of the registry core's time.
    """
    trace, span = _RANDOM.getrandbits(128) or 1, _RANDOM.getrandbits(64) or 1
    return f"00-{trace:032x}-{span:016x}-01"


def is_uuid(text: object) -> bool:
    """Whether ``text`` is a UUID in its standard 36-character form (what ``ce_id`` must hold)."""
    return isinstance(text, str) and _UUID.fullmatch(text) is not None


def is_traceparent(text: object) -> bool:
    """Whether ``text`` is W3C trace context as ``ce_traceparent`` carries it."""
    return isinstance(text, str) and _TRACEPARENT.fullmatch(text) is not None


@dataclass(frozen=True)
class SchemaRef:
    """What ``ce_dataschema`` names: an Avro full name and the writer schema's CRC-64-AVRO fingerprint."""

    fullname: str
    fingerprint: int


def dataschema_uri(fullname: str, fingerprint: int) -> str:
    """The ``ce_dataschema`` value: ``urn:avro:<full name>:<fingerprint as 16 hex digits, big-endian>``."""
    return f"urn:avro:{fullname}:{fingerprint:016x}"


def parse_dataschema(text: str) -> SchemaRef:
    """The schema a ``ce_dataschema`` value names; InvalidEnvelope (without echoing it) when malformed."""
    match = _DATASCHEMA.fullmatch(text) if len(text) <= 300 else None
    if match is None:
        raise InvalidEnvelope(
            "ce_dataschema is not urn:avro:<full name>:<fingerprint as 16 hex digits, big-endian>"
        )
    return SchemaRef(match["name"], int(match["fingerprint"], 16))


def shown_header(name: str) -> str:
    """A header name fit for an error text: the bus's own names as they are, any other name withheld
    (a producer may put anything in a name, personal data included).
    """
    return name if _OWN_HEADER.fullmatch(name) else "(a header of another name)"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, the resolution Avro timestamps keep."""
    if moment.tzinfo is None:
        raise InvalidEnvelope("event time must carry a time zone")
    utc = moment.astimezone(UTC)
    if utc.year >= 1000:  # what strftime below gives, a third of its cost (before 1000, %Y may not pad)
        return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 - the fastest of the three ways
            utc.year,
            utc.month,
            utc.day,
            utc.hour,
            utc.minute,
            utc.second,
            utc.microsecond // 1000,
        )
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def truncate_ms(moment: datetime) -> datetime:
    """Millisecond precision: what ``ce_time`` and Avro timestamp-millis keep, so a round trip is exact."""
    extra = moment.microsecond % 1000
    return moment.replace(microsecond=moment.microsecond - extra) if extra else moment


def require_utc(moment: datetime) -> datetime:
    """``moment`` if it is in UTC; InvalidEnvelope for a naive time (whose zone would be guessed from the
    publishing machine) or a non-zero offset (a local time that is easily meant as UTC, or the reverse).
    """
    if moment.tzinfo is not UTC and (moment.tzinfo is None or moment.utcoffset() != _ZERO):
        raise InvalidEnvelope("event time must be in UTC (a zone offset of zero, e.g. ...T08:30:15Z)")
    return moment


def parse_time(text: str, *, utc_only: bool = False) -> datetime:
    """An RFC 3339 ``ce_time`` as UTC; InvalidEnvelope when it is malformed, has no offset, or cannot be
    moved to UTC at all (year 1 with a positive offset). With ``utc_only``, a non-zero offset is refused
    too (what a publisher must send).
    """
    if len(text) > 40 or _RFC3339.fullmatch(text) is None:
        raise InvalidEnvelope("ce_time is not an RFC 3339 timestamp (e.g. 2026-11-23T08:30:15.123Z)")
    try:
        moment = datetime.fromisoformat(text.upper())
        utc = moment.astimezone(UTC)
    except ValueError:
        raise InvalidEnvelope("ce_time is not a valid date and time") from None
    except OverflowError:
        raise InvalidEnvelope("ce_time lies outside the calendar once moved to UTC") from None
    if utc_only:
        require_utc(moment)
    return utc


def single_headers(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """The headers that appear exactly once with a UTF-8 value, as text: what can still be trusted of
    an envelope that was refused (a dead letter being repaired).
    """
    seen: dict[str, int] = {}
    values: dict[str, str] = {}
    for key, raw in headers:
        seen[key] = seen.get(key, 0) + 1
        if raw is None:
            continue
        try:
            values[key] = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return {key: value for key, value in values.items() if seen[key] == 1}


def _header_values(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """Every non-null header as text; InvalidEnvelope for one that is not UTF-8, or for one of the bus's
    own names given twice (Kafka keeps both; "the last one wins" would let a forged value placed last in).
    """
    values: dict[str, str] = {}
    seen: set[str] = set()
    for key, raw in headers:
        if key in seen and _OWN_HEADER.fullmatch(key):  # the pattern only for a name met twice: cheap
            raise InvalidEnvelope(f"header {key} appears more than once")
        seen.add(key)
        if raw is None:
            continue
        try:
            values[key] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEnvelope(f"header {shown_header(key)} is not UTF-8") from None
    return values


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
            id=event_id or new_event_id(),
            source=source,
            type=type,
            time=truncate_ms((time or datetime.now(UTC)).astimezone(UTC)),
            dataschema=dataschema,
            subject=subject,
            traceparent=traceparent or new_traceparent(),
            extensions=dict(extensions or {}),
        )

    @property
    def schema_ref(self) -> SchemaRef | None:
        """The schema ``ce_dataschema`` names, or None without one (InvalidEnvelope if it is malformed)."""
        return parse_dataschema(self.dataschema) if self.dataschema else None

    @property
    def trace_id(self) -> str | None:
        """The trace id part of ``traceparent`` (None without one)."""
        return self.traceparent.split("-")[1] if self.traceparent else None

    def to_headers(self) -> Headers:
        """The envelope as Kafka headers: ``ce_*`` attributes, content type, then the extensions."""
        headers: Headers = [
            _SPECVERSION_HEADER,
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", format_time(self.time).encode()),
            ("ce_dataschema", self.dataschema.encode()),
            _CONTENT_TYPE_HEADER,
        ]
        if self.subject is not None:
            headers.append(("ce_subject", self.subject.encode()))
        if self.traceparent is not None:
            headers.append(("ce_traceparent", self.traceparent.encode()))
        for name, value in self.extensions.items():
            headers.append((name, value.encode()))
        return headers

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes | None]]) -> Envelope:
        """Read the envelope back; a missing, repeated or malformed attribute raises InvalidEnvelope."""
        values = _header_values(headers)
        missing = [name for name in _REQUIRED if not values.get(name)]
        if missing:
            raise InvalidEnvelope(f"missing CloudEvents headers: {', '.join(missing)}")
        if values["ce_specversion"] != SPECVERSION:
            raise InvalidEnvelope(f"unsupported ce_specversion (only {SPECVERSION} is)")
        if values.get("content-type", CONTENT_TYPE) != CONTENT_TYPE:
            raise InvalidEnvelope("content-type must be application/avro")
        if not is_uuid(values["ce_id"]):
            raise InvalidEnvelope("ce_id is not a UUID (the 36-character form, e.g. 1b4e28ba-2fa1-...)")
        trace = values.get("ce_traceparent")
        if trace is not None and not is_traceparent(trace):
            raise InvalidEnvelope("ce_traceparent is not W3C trace context")
        dataschema = values.get("ce_dataschema")
        if dataschema is not None:
            parse_dataschema(dataschema)  # optional (CloudEvents), but well-formed when given
        return cls(
            id=values["ce_id"],
            source=values["ce_source"],
            type=values["ce_type"],
            time=parse_time(values["ce_time"]),
            dataschema=dataschema or "",
            subject=values.get("ce_subject"),
            traceparent=trace,
            extensions={k: v for k, v in values.items() if k.startswith("bus_")},
        )
