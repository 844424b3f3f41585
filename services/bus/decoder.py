"""Turning a raw Kafka record into a validated BusEvent: pure, so faust agents and replays share it.

Decoding is total: whatever a record's key, value and headers hold, ``EventDecoder.decode`` returns an
event or raises a BusError, so one hostile record can be dead-lettered and never stop a view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from services.bus.codec import AvroCodec, Decoded
from services.bus.envelope import Envelope
from services.bus.errors import (
    BusError,
    DataschemaMismatch,
    DecodeFailed,
    InvalidEnvelope,
    InvalidEvent,
    MalformedPayload,
    WrongTopic,
)
from services.bus.events import BusEvent, ViewEvent, build_payload, check_event, model_for, view_model_for
from services.bus.keys import KEYID_HEADER, check_key, citizen_keyring
from services.bus.schemas import Contract, ContractRegistry
from services.bus.settings import BusSettings
from services.contracts.base import format_validation_error


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


def _named(contract: Contract) -> str:
    return f"urn:avro:{contract.fullname}:{contract.fingerprint_hex} (revision {contract.revision})"


def check_dataschema(envelope: Envelope, writer: Contract, registry: ContractRegistry) -> None:
    """DATASCHEMA_MISMATCH when ``ce_dataschema`` names another schema or fingerprint than the frame's
    writer schema (a missing one contradicts nothing: the attribute is optional in CloudEvents).

    The detail gives both sides by full name and fingerprint; of the header's side only what a contract
    in ``schemas/`` has (a header may carry anything, a NIK included: 16 digits are 16 hex digits).
    """
    if envelope.dataschema == writer.dataschema:  # the very URI the writer's contract gives: it agrees
        return
    said = envelope.schema_ref
    if said is None or (said.fullname, said.fingerprint) == (writer.fullname, writer.fingerprint):
        return
    name = said.fullname if said.fullname in registry.names() else "<a full name no contract has>"
    other = registry.find(said.fingerprint)
    if other is None:
        header = f"urn:avro:{name}:<a fingerprint no contract has>"
    elif other.fullname == said.fullname:
        header = _named(other)
    else:
        header = (
            f"urn:avro:{name}:{other.fingerprint_hex} (that of {other.fullname} revision {other.revision})"
        )
    hint = ""
    if said.fingerprint == int.from_bytes(writer.fingerprint_bytes, "big"):
        hint = "; the header's fingerprint is the frame's bytes reversed: ce_dataschema gives it big-endian"
    raise DataschemaMismatch(f"ce_dataschema says {header}, the frame carries {_named(writer)}{hint}")


class EventDecoder:
    """Envelope, framing, schema, topic, model, domain and key rules, in that order; the first failure
    raises.
    """

    def __init__(self, settings: BusSettings, registry: ContractRegistry) -> None:
        self.codec = AvroCodec(registry)
        self.settings = settings
        self.skew = settings.max_future_skew
        self.keyring = citizen_keyring(settings)

    def decode(self, raw: RawRecord, *, now: datetime | None = None) -> BusEvent:
        """The validated event; the first check it fails raises its BusError, and so does anything else.

        The rules below are meant to be total on their own (the fuzz tests hold them to it); the last
        clause is the guarantee for an input nobody thought of: it becomes DECODE_FAILED, not a crash.
        """
        return _total(lambda: self._decode(raw, now))

    def decode_view(self, raw: RawRecord) -> ViewEvent:
        """A record of a view topic, validated into its view model; the first rule it breaks raises.

        Views are written by the bus's own processors, keyed by their own ids (not citizen keys), so the
        event rules (source, time, key) do not apply; envelope, framing, schema and topic rules do.
        """
        return _total(lambda: self._decode_view(raw))

    def _framed(
        self, raw: RawRecord, model_of: Callable[[str], type[Any]], where: str
    ) -> tuple[Envelope, Decoded, type[Any]]:
        """Envelope, framing, schema and topic rules, shared by events and views: the envelope, the
        decoded body and the model it is, on its own topic.
        """
        if raw.value is None:
            raise MalformedPayload(f"record has no value (a tombstone on a {where} topic)")
        envelope = Envelope.from_headers(raw.headers)
        decoded = self.codec.decode(raw.value)
        if decoded.writer.fullname != envelope.type:
            raise InvalidEnvelope(f"ce_type does not match the payload {decoded.writer.fullname}")
        check_dataschema(envelope, decoded.writer, self.codec.registry)
        model = model_of(decoded.reader.fullname)
        home = self.settings.topic(model.TOPIC)
        if raw.topic != home:
            raise WrongTopic(f"{model.__name__} belongs on topic {home}, not on {raw.topic}")
        return envelope, decoded, model

    def _decode_view(self, raw: RawRecord) -> ViewEvent:
        envelope, decoded, model = self._framed(raw, view_model_for, "view")
        try:
            view = model.from_avro(decoded.record)
        except ValidationError as exc:
            raise InvalidEvent(f"{model.__name__}: {format_validation_error(exc)}") from None
        return ViewEvent(envelope=envelope, view=view, key=_key_text(raw))

    def _decode(self, raw: RawRecord, now: datetime | None) -> BusEvent:
        envelope, decoded, _ = self._framed(raw, model_for, "domain")
        payload = build_payload(decoded.reader.fullname, decoded.record)
        check_event(envelope, payload, skew=self.skew, now=now)
        check_key(payload, raw.key, envelope.extensions.get(KEYID_HEADER), self.keyring)
        return BusEvent(envelope=envelope, payload=payload, key=_key_text(raw))


T = TypeVar("T")


def _total(decode: Callable[[], T]) -> T:
    """``decode()``, with anything but a BusError made DECODE_FAILED: one record never stops a consumer."""
    try:
        return decode()
    except BusError:
        raise
    except Exception as exc:  # noqa: BLE001 - see EventDecoder.decode: one record must never stop a consumer
        raise DecodeFailed(f"the decoder failed on this record ({type(exc).__name__})") from None


def _key_text(raw: RawRecord) -> str:
    """The record key as text (an empty one when the record has none)."""
    return raw.key.decode("utf-8", "replace") if raw.key is not None else ""
