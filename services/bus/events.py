"""A bus event: envelope + payload model + key, and the rules every event must pass on both sides.

The same ``check_event`` runs when publishing and when consuming, so a producer in another language that
skips it is caught by the first consumer instead of corrupting a view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from services.bus.envelope import EARLIEST_TIME, Envelope
from services.bus.errors import (
    FutureEvent,
    InvalidEnvelope,
    InvalidEvent,
    TimeOutOfRange,
    UnknownSchema,
    UnknownSource,
)
from services.contracts import EVENT_MODELS, VIEW_MODELS
from services.contracts.base import EventModel, format_validation_error
from services.contracts.registry_fields import ViewModel
from services.reference.offices import is_known_office


@dataclass(frozen=True)
class Enveloped:
    """What every record of the bus carries: its CloudEvents envelope."""

    envelope: Envelope

    @property
    def id(self) -> str:
        """The record's id (``ce_id``)."""
        return self.envelope.id

    @property
    def type(self) -> str:
        """The record's type (``ce_type``): its payload's Avro full name."""
        return self.envelope.type


@dataclass(frozen=True)
class BusEvent(Enveloped):
    """One event as producers send it and consumers see it."""

    payload: EventModel
    key: str


@dataclass(frozen=True)
class ViewEvent(Enveloped):
    """One record of a view topic (a processor's published state, e.g. a golden citizen record) as a
    consumer that follows another view sees it: its envelope, its validated view model, its key.
    """

    view: ViewModel
    key: str


def view_model_for(fullname: str) -> type[ViewModel]:
    """The pydantic model of a view's Avro full name; UnknownSchema when there is none."""
    try:
        return VIEW_MODELS[fullname]
    except KeyError:
        raise UnknownSchema(f"no view model for {fullname}") from None


def model_for(fullname: str) -> type[EventModel]:
    """The pydantic model of an Avro full name; UnknownSchema when there is none."""
    try:
        return EVENT_MODELS[fullname]
    except KeyError:
        raise UnknownSchema(f"no event model for {fullname}") from None


def build_payload(fullname: str, record: dict[str, Any]) -> EventModel:
    """Validate a decoded or user-supplied record into its model; errors name fields, never values."""
    try:
        return model_for(fullname).from_avro(record)
    except ValidationError as exc:
        raise InvalidEvent(f"{fullname.rsplit('.', 1)[-1]}: {format_validation_error(exc)}") from None


def check_event(
    envelope: Envelope, payload: EventModel, *, skew: timedelta, now: datetime | None = None
) -> None:
    """Refuse an unknown source, a type that disagrees with the payload, or a time from the future or
    before the bus's lower bound.
    """
    if not is_known_office(envelope.source):
        raise UnknownSource("ce_source is not a known office or agency code")
    if envelope.type != payload.SCHEMA:
        raise InvalidEnvelope(f"ce_type does not match the payload {payload.SCHEMA}")
    limit = (now or datetime.now(UTC)) + skew
    if envelope.time > limit:
        raise FutureEvent(f"event time is more than {int(skew.total_seconds())}s in the future")
    if envelope.time < EARLIEST_TIME:
        raise TimeOutOfRange(f"event time is before {EARLIEST_TIME:%Y-%m-%dT%H:%M:%SZ}")
