"""Turning a raw Kafka record into a validated BusEvent: pure, so faust agents and replays share it.

Decoding is total: whatever a record's key, value and headers hold, ``EventDecoder.decode`` returns an
event or raises a BusError, so one hostile record can be dead-lettered and never stop a view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.bus.codec import AvroCodec
from services.bus.envelope import Envelope
from services.bus.errors import BusError, DecodeFailed, InvalidEnvelope, MalformedPayload, WrongTopic
from services.bus.events import BusEvent, build_payload, check_event, model_for
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
    """Envelope, framing, schema, topic, model and domain rules, in that order; the first failure raises."""

    def __init__(self, settings: BusSettings, registry: ContractRegistry) -> None:
        self.codec = AvroCodec(registry)
        self.settings = settings
        self.skew = settings.max_future_skew

    def decode(self, raw: RawRecord, *, now: datetime | None = None) -> BusEvent:
        """The validated event; the first check it fails raises its BusError, and so does anything else.

        The rules below are meant to be total on their own (the fuzz tests hold them to it); the last
        clause is the guarantee for an input nobody thought of: it becomes DECODE_FAILED, not a crash.
        """
        try:
            return self._decode(raw, now)
        except BusError:
            raise
        except Exception as exc:  # noqa: BLE001 - see the docstring: one record must never stop a consumer
            raise DecodeFailed(f"the decoder failed on this record ({type(exc).__name__})") from None

    def _decode(self, raw: RawRecord, now: datetime | None) -> BusEvent:
        if raw.value is None:
            raise MalformedPayload("record has no value (a tombstone on a domain topic)")
        envelope = Envelope.from_headers(raw.headers)
        decoded = self.codec.decode(raw.value)
        if decoded.writer.fullname != envelope.type:
            raise InvalidEnvelope(f"ce_type does not match the payload {decoded.writer.fullname}")
        model = model_for(decoded.reader.fullname)
        home = self.settings.topic(model.TOPIC)
        if raw.topic != home:
            raise WrongTopic(f"{model.__name__} belongs on topic {home}, not on {raw.topic}")
        payload = build_payload(decoded.reader.fullname, decoded.record)
        check_event(envelope, payload, skew=self.skew, now=now)
        key = raw.key.decode("utf-8", "replace") if raw.key is not None else ""
        return BusEvent(envelope=envelope, payload=payload, key=key)
