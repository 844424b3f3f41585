"""The dead-letter topic: what a component refused, with the reason, the original bytes and where it was.

Value = the original bytes, key = the original key, the original headers are kept and ``dlq_*`` headers
are added; so a dead letter can be re-published to its topic once whatever was wrong is fixed.

A dead letter must always fit on its topic, or the partition it came from would loop on it: a record just
under the broker's limit no longer fits once the ``dlq_*`` headers are added. Such a letter keeps its
headers and a truncated value, and says the original value's length and SHA-256 (``dlq_original_length``,
``dlq_original_sha256``) and what was cut (``dlq_truncated``), so it can still be matched with its source.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError
from kafka.record.default_records import DefaultRecordBatchBuilder

from services.bus.decoder import RawRecord
from services.bus.envelope import Headers, is_uuid
from services.bus.errors import BusError
from services.bus.logs import get_logger
from services.bus.metrics import EVENTS_DEADLETTERED
from services.bus.settings import BusSettings

log = get_logger("deadletter")
DLQ_PREFIX = "dlq_"
DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
"""The broker's default ``max.message.bytes`` (a record batch, 1 MiB + 12); used when it cannot be read."""
KEPT_KEY_BYTES = 1024
KEPT_HEADER_BYTES = 1024
"""What is kept of a key or of each header, only when they alone would not fit (a hostile record)."""
_DETAIL_CHARS = 500
_MARKS = ("dlq_original_length", "dlq_original_sha256", "dlq_truncated")
_WORST_MARKS: Headers = [
    ("dlq_original_length", b"9" * 20),
    ("dlq_original_sha256", b"0" * 64),
    ("dlq_truncated", b"key,headers,value"),
]


def _text(value: str) -> bytes:
    """UTF-8 of text that may hold lone surrogates (never raises)."""
    return value.encode("utf-8", "replace")


def _name(value: str) -> str:
    """A header name the producer can write and every consumer can read back: valid UTF-8."""
    return _text(value).decode("utf-8")


def record_size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """Upper bound of the record batch holding this one record: what the producer and broker check."""
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    return size


def deadletter_headers(raw: RawRecord, error: BusError, component: str) -> Headers:
    """The original headers plus where the record was and why it was refused."""
    kept = [(_name(k), b"" if v is None else v) for k, v in raw.headers if not k.startswith(DLQ_PREFIX)]
    return [*kept, *_where_and_why(raw, error, component)]


def _where_and_why(raw: RawRecord, error: BusError, component: str) -> Headers:
    return [
        ("dlq_topic", _text(raw.topic)),
        ("dlq_partition", str(raw.partition).encode()),
        ("dlq_offset", str(raw.offset).encode()),
        ("dlq_timestamp", str(raw.timestamp).encode()),
        ("dlq_reason", _text(error.reason)),
        ("dlq_detail", _text(error.message[:_DETAIL_CHARS])),
        ("dlq_component", _text(component)),
        ("dlq_refused_at", str(int(time.time() * 1000)).encode()),
    ]


@dataclass(frozen=True)
class DeadLetterRecord:
    """What goes to the dead-letter topic for one refused record."""

    key: bytes | None
    value: bytes | None
    headers: Headers

    @property
    def truncated(self) -> bool:
        """Whether something of the original had to be cut to fit."""
        return any(k == "dlq_truncated" for k, _ in self.headers)


def deadletter_record(
    raw: RawRecord, error: BusError, component: str, *, limit: int = DEFAULT_MAX_MESSAGE_BYTES
) -> DeadLetterRecord:
    """The dead letter of ``raw``, at most ``limit`` bytes as a record batch.

    As it was plus ``dlq_*`` headers when that fits; otherwise the value is cut to what fits beside the
    headers. Only when the key and headers alone exceed the limit are they cut too (each to about 1 KiB,
    and headers beyond the room dropped): such a record was built to hurt, and the reason still fits.
    """
    own = _where_and_why(raw, error, component)
    kept = [(_name(k), b"" if v is None else v) for k, v in raw.headers if not k.startswith(DLQ_PREFIX)]
    # Kafka clients cannot send a record with neither key nor value: such a one keeps an empty value.
    key, value = raw.key, b"" if raw.key is None and raw.value is None else raw.value
    if record_size(key, value, [*kept, *own]) <= limit:
        return DeadLetterRecord(key, value, [*kept, *own])
    cut: list[str] = []
    if record_size(key, b"", [*kept, *own, *_WORST_MARKS]) > limit:
        key, kept, cut = _shrink(key, kept, [*own, *_WORST_MARKS], limit)
    original = value or b""
    room = limit - record_size(key, b"", [*kept, *own, *_WORST_MARKS]) - 5  # 5: the value's length varint
    kept_value = original[: max(room, 0)]
    cut.append("value")
    marks: Headers = [
        ("dlq_original_length", str(len(original)).encode()),
        ("dlq_original_sha256", hashlib.sha256(original).hexdigest().encode()),
        ("dlq_truncated", ",".join(cut).encode()),
    ]
    return DeadLetterRecord(key, kept_value if value is not None else None, [*kept, *own, *marks])


def _shrink(
    key: bytes | None, headers: Headers, fixed: Headers, limit: int
) -> tuple[bytes | None, Headers, list[str]]:
    """Cut an outsized key and headers down: each to ~1 KiB, then only as many headers as leave half the
    room for the value (whatever the record held, the letter's own headers always fit).
    """
    cut: list[str] = []
    if key is not None and len(key) > KEPT_KEY_BYTES:
        key, cut = key[:KEPT_KEY_BYTES], ["key"]
    small = [(_name(k[:KEPT_HEADER_BYTES]), v[:KEPT_HEADER_BYTES]) for k, v in headers]
    kept: Headers = []
    budget = limit // 2
    for header in small:
        if record_size(key, b"", [*kept, header, *fixed]) > budget:
            break
        kept.append(header)
    if kept != headers:
        cut.append("headers")
    return key, kept, cut


def topic_max_bytes(settings: BusSettings, topic: str) -> int:
    """The topic's ``max.message.bytes`` as the broker says, or the broker default if it cannot say."""
    admin: Any = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id=settings.client_id)
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, ["max.message.bytes"])
        found = admin.describe_configs([resource], config_filter="all")
        return int(found["topic"][topic]["max.message.bytes"]["value"])
    except (KafkaError, KeyError, TypeError, ValueError, OSError) as exc:
        log.warning("deadletter_limit_unknown", topic=topic, error=type(exc).__name__)
        return DEFAULT_MAX_MESSAGE_BYTES
    finally:
        if admin is not None:
            admin.close()


@dataclass(frozen=True)
class DeadLetter:
    """A record read back from the dead-letter topic."""

    offset: int
    partition: int
    topic: str
    original_partition: int
    original_offset: int
    reason: str
    detail: str
    component: str
    key: bytes | None
    value: bytes | None
    original_headers: Headers
    original_length: int | None = None
    original_sha256: str | None = None
    truncated: str = ""

    @classmethod
    def from_raw(cls, raw: RawRecord) -> DeadLetter:
        """Read a dead letter's ``dlq_*`` headers (any of them may be missing or garbled: someone else may
        write to the topic); the original headers are kept without them.
        """
        length = _int(raw.header("dlq_original_length"), -1)
        return cls(
            offset=raw.offset,
            partition=raw.partition,
            topic=raw.header("dlq_topic") or "",
            original_partition=_int(raw.header("dlq_partition"), -1),
            original_offset=_int(raw.header("dlq_offset"), -1),
            reason=raw.header("dlq_reason") or "",
            detail=raw.header("dlq_detail") or "",
            component=raw.header("dlq_component") or "",
            key=raw.key,
            value=raw.value,
            original_headers=[(k, v) for k, v in raw.headers if not k.startswith(DLQ_PREFIX)],
            original_length=length if length >= 0 else None,
            original_sha256=raw.header("dlq_original_sha256"),
            truncated=raw.header("dlq_truncated") or "",
        )


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


class DeadLetterWriter:
    """Sends refused records to ``bus.deadletter`` and waits for the acknowledgement before returning.

    ``max_bytes`` is the dead-letter topic's ``max.message.bytes``; without it, the broker is asked once,
    at the first dead letter. The producer's own ``max_request_size`` caps it too.
    """

    def __init__(
        self, settings: BusSettings, producer: KafkaProducer, component: str, *, max_bytes: int | None = None
    ) -> None:
        self.settings = settings
        self.topic = settings.topic(settings.deadletter_topic)
        self.producer = producer
        self.component = component
        self._max_bytes = max_bytes
        self.sent = 0
        """Dead letters acknowledged so far (what a processor reports as refused)."""

    @property
    def limit(self) -> int:
        """The largest record batch a dead letter may be: the topic's limit and the producer's, whichever
        is smaller.
        """
        if self._max_bytes is None:
            self._max_bytes = topic_max_bytes(self.settings, self.topic)
        config = getattr(self.producer, "config", None)
        request = config.get("max_request_size") if isinstance(config, dict) else None
        return min(self._max_bytes, request) if isinstance(request, int) else self._max_bytes

    def send(self, raw: RawRecord, error: BusError, timeout: float = 30.0) -> None:
        """Dead-letter one record, waiting up to ``timeout`` for the acknowledgement; logs ids only."""
        self.send_many([(raw, error)], timeout)

    def send_many(self, refused: Sequence[tuple[RawRecord, BusError]], timeout: float = 30.0) -> None:
        """Dead-letter records, then wait for every acknowledgement (raises on the first that fails)."""
        if not refused:
            return
        limit = self.limit
        sent = []
        for raw, error in refused:
            letter = deadletter_record(raw, error, self.component, limit=limit)
            future = self.producer.send(self.topic, letter.value, key=letter.key, headers=letter.headers)
            sent.append((raw, error, letter, future))
        for raw, error, letter, future in sent:
            future.get(timeout)
            self.sent += 1
            EVENTS_DEADLETTERED.labels(raw.topic, error.reason, self.component).inc()
            log.warning(
                "deadlettered",
                topic=raw.topic,
                partition=raw.partition,
                offset=raw.offset,
                reason=error.reason,
                detail=error.message,
                truncated=letter.truncated,
                event_id=_event_id(raw),
            )


def _event_id(raw: RawRecord) -> str | None:
    """The record's ``ce_id`` for the log, only if it is a UUID: a refused header may hold anything."""
    found = raw.header("ce_id")
    return found if is_uuid(found) else None
