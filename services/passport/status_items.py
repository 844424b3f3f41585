"""The status view's input: each status fact of ``passport`` and ``passport.decisions`` as one
``StatusItemModel`` on ``passport.status`` (keyed by application id), and its Avro bytes.

The passport intake calls ``status_item`` for every record it reads and forwards what is not None with
``encode_status_item``; the view reads it back with ``decode_status_item``. Personal data stops here: the
birth date travels as ``hasher(<ISO date>)``, the contact as ``hasher`` of the phone (or the lower-case
e-mail, or the NIK), a request's phone as its own pseudonymous key; ``hasher`` is the bus's keyed hash
(``services.bus.keys.citizen_hasher``). A decision's item has the decision id as its event id and its
``decided_at`` (the request's time, also its ``ce_time``) as its time; an event's, its ``ce_id`` and
``ce_time``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from services.bus.codec import AvroCodec
from services.bus.events import BusEvent, ViewEvent
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts.common import Personal
from services.contracts.passport import (
    ApplicationSubmitted,
    AppointmentBooked,
    AppointmentCancelled,
    BiometricsCaptured,
    Collected,
    PassportPrinted,
    PaymentReceived,
    ReadyForPickup,
)
from services.contracts.passport_booking import (
    ActionRequired,
    ApplicationRefused,
    AppointmentConfirmedModel,
    AppointmentRefusedModel,
    AppointmentRequested,
    BookingCancelledModel,
    NotificationChannel,
)
from services.contracts.passport_items import STATUS_TOPIC, StatusItemKind, StatusItemModel

__all__ = [
    "STATUS_ITEM_SCHEMA",
    "STATUS_TOPIC",
    "Incoming",
    "decode_status_item",
    "encode_status_item",
    "status_item",
]

STATUS_ITEM_SCHEMA = StatusItemModel.SCHEMA
Hasher = Callable[[str], str]
Decision = AppointmentConfirmedModel | AppointmentRefusedModel | BookingCancelledModel
Incoming = BusEvent | ViewEvent | Decision
"""What the intake hands over: an event of ``passport`` (an office's own ``AppointmentCancelled`` too), a
decision of ``passport.decisions`` as a view record, or a decision's bare model."""
_K = StatusItemKind
_PLAIN_STEPS: dict[type[object], StatusItemKind] = {
    BiometricsCaptured: _K.BIOMETRICS_CAPTURED,
    PaymentReceived: _K.PAYMENT_RECEIVED,
    PassportPrinted: _K.PRINTED,
    Collected: _K.COLLECTED,
}


@cache
def _codec() -> AvroCodec:
    """The bus's codec over ``schemas/``, built once per process."""
    return AvroCodec(load_registry(get_settings().schemas_dir))


def encode_status_item(item: StatusItemModel) -> bytes:
    """``item`` as it travels on ``passport.status`` (Avro single-object; ``EncodeError`` if it won't fit)."""
    return _codec().encode(STATUS_ITEM_SCHEMA, item.to_avro())


def decode_status_item(data: bytes) -> StatusItemModel:
    """What ``encode_status_item`` wrote: the codec's ``BusError`` for bytes that are no ``StatusItem``,
    pydantic's ``ValidationError`` (its text names fields and rules, never values) for one that breaks a rule.
    """
    return StatusItemModel.from_avro(_codec().decode(data, expected=STATUS_ITEM_SCHEMA).record)


def _contact(personal: Personal | None, hasher: Hasher) -> dict[str, object]:
    """The contact fields: the phone (WhatsApp), else the e-mail, else the NIK (SMS)."""
    if personal is None:
        return {}
    if personal.phone:
        return {"contact_channel": NotificationChannel.WHATSAPP, "recipient_key": hasher(personal.phone)}
    if personal.email:
        key = hasher(personal.email.lower())
        return {"contact_channel": NotificationChannel.EMAIL, "recipient_key": key}
    if personal.nik:
        return {"contact_channel": NotificationChannel.SMS, "recipient_key": hasher(personal.nik)}
    return {}


def _birth(personal: Personal | None, hasher: Hasher) -> dict[str, object]:
    if personal is None or personal.date_of_birth is None:
        return {}
    return {"birth_date_key": hasher(personal.date_of_birth.isoformat())}


def _decision(decision: Decision) -> StatusItemModel:
    if isinstance(decision, AppointmentConfirmedModel):
        return StatusItemModel(
            event_id=decision.decision_id,
            kind=_K.CONFIRMED,
            application_id=decision.application_id,
            office=decision.office,
            time=decision.decided_at,
            slot_day=decision.slot_date,
            booking_code=decision.booking_code,
            reschedules=decision.reschedules,
            queue_number=decision.queue_number,
            service=decision.service,
        )
    if isinstance(decision, BookingCancelledModel):
        return StatusItemModel(
            event_id=decision.decision_id,
            kind=_K.CANCELLED,
            application_id=decision.application_id,
            office=decision.office,
            time=decision.decided_at,
            slot_day=decision.slot_date,
            booking_code=decision.booking_code,
            reason=decision.reason.value,
        )
    return StatusItemModel(
        event_id=decision.decision_id,
        kind=_K.BOOKING_REFUSED,
        application_id=decision.application_id,
        office=decision.office,
        time=decision.decided_at,
        slot_day=decision.wished_date,
        reason=decision.reason.value,
    )


def status_item(incoming: Incoming, hasher: Hasher) -> StatusItemModel | None:
    """The status item of ``incoming``; None for what is no status fact (a quota, a cancellation request,
    a legacy reschedule, any other view).
    """
    if isinstance(incoming, AppointmentConfirmedModel | AppointmentRefusedModel | BookingCancelledModel):
        return _decision(incoming)
    if isinstance(incoming, ViewEvent):
        view = incoming.view
        if isinstance(view, AppointmentConfirmedModel | AppointmentRefusedModel | BookingCancelledModel):
            return _decision(view)
        return None
    payload = incoming.payload
    facts = _facts(payload, hasher)
    if facts is None:
        return None
    base: dict[str, object] = {
        "event_id": incoming.id,
        "application_id": getattr(payload, "application_id"),  # noqa: B009 - every status fact has one
        "office": getattr(payload, "office"),  # noqa: B009
        "time": incoming.envelope.time,
    }
    return StatusItemModel.model_validate(base | facts)


def _requested(payload: AppointmentRequested, hasher: Hasher) -> dict[str, object]:
    facts: dict[str, object] = {"kind": _K.REQUESTED, "service": payload.service}
    if payload.phone_key:
        facts |= {"contact_channel": NotificationChannel.WHATSAPP, "recipient_key": payload.phone_key}
    else:
        facts |= _contact(payload.personal, hasher)
    return facts | _birth(payload.personal, hasher)


def _booked(payload: AppointmentBooked, hasher: Hasher) -> dict[str, object]:
    return {
        "kind": _K.BOOKED_LEGACY,
        "slot_day": payload.slot_date,
        "booking_code": payload.appointment_id,
        "queue_number": payload.queue_number,
        "service": payload.service,
        **_birth(payload.personal, hasher),
        **_contact(payload.personal, hasher),
    }


def _submitted(payload: ApplicationSubmitted, hasher: Hasher) -> dict[str, object]:
    return {
        "kind": _K.SUBMITTED,
        "service": payload.service,
        **_birth(payload.personal, hasher),
        **_contact(payload.personal, hasher),
    }


def _facts(payload: object, hasher: Hasher) -> dict[str, object] | None:
    """The kind and optional fields of an event's item; None for an event that is no status fact."""
    if isinstance(payload, AppointmentRequested):
        return _requested(payload, hasher)
    if isinstance(payload, AppointmentBooked):
        return _booked(payload, hasher)
    if isinstance(payload, ApplicationSubmitted):
        return _submitted(payload, hasher)
    facts: dict[str, object] | None = None
    if isinstance(payload, AppointmentCancelled):
        facts = {"kind": _K.CANCELLED, "booking_code": payload.appointment_id, "reason": payload.reason.value}
    elif isinstance(payload, ReadyForPickup):
        facts = {"kind": _K.READY_FOR_PICKUP, "pickup_from": payload.pickup_from}
    elif isinstance(payload, ActionRequired):
        facts = {"kind": _K.ACTION_REQUIRED, "action": payload.action}
    elif isinstance(payload, ApplicationRefused):
        facts = {"kind": _K.REFUSED, "reason": payload.reason}
    elif type(payload) in _PLAIN_STEPS:
        facts = {"kind": _PLAIN_STEPS[type(payload)]}
    return facts
