"""Turning a raw Kafka record into a validated BusEvent: pure, so faust agents and replays share it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.bus.codec import AvroCodec
from services.bus.envelope import Envelope
from services.bus.errors import InvalidEnvelope, MalformedPayload
from services.bus.events import BusEvent, build_payload, check_event
from services.bus.schemas import ContractRegistry
from services.bus.settings import BusSettings


@dataclass(frozen=True)
class RawRecord:
    """A record as Kafka delivered it, whatever client read it."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first non-null header of that name as text, or None."""
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode("utf-8", "replace")
        return None


class EventDecoder:
    """Envelope, framing, schema, model and domain rules, in that order; the first failure raises."""

    def __init__(self, settings: BusSettings, registry: ContractRegistry) -> None:
        self.codec = AvroCodec(registry)
        self.skew = settings.max_future_skew

    def decode(self, raw: RawRecord, *, now: datetime | None = None) -> BusEvent:
        """The validated event; the first check it fails raises its BusError."""
        if raw.value is None:
            raise MalformedPayload("record has no value (a tombstone on a domain topic)")
        envelope = Envelope.from_headers(raw.headers)
        decoded = self.codec.decode(raw.value)
        if decoded.writer.fullname != envelope.type:
            raise InvalidEnvelope(
                f"ce_type {envelope.type} does not match the payload {decoded.writer.fullname}"
            )
        payload = build_payload(decoded.reader.fullname, decoded.record)
        check_event(envelope, payload, skew=self.skew, now=now)
        key = raw.key.decode("utf-8", "replace") if raw.key is not None else ""
        return BusEvent(envelope=envelope, payload=payload, key=key)
