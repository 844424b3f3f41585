"""Application status, a pure fold of one application's ``passport`` events (keyed by application id).

The steps run in one order: submitted, biometrics captured, payment received, printed, ready for pickup,
collected. An event applied twice (same event id) changes nothing; a step that does not follow the last one
is refused with its reason (``StepRefused``, dead-lettered by the runtime). An office may ask for an action
(NEEDS_ACTION, cleared by the next step) or refuse the application (REFUSED, its end). Every change yields
one ``NotificationRequested`` whose id is derived from the event that caused it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from services.bus.errors import BusError
from services.contracts.common import Personal
from services.contracts.passport import (
    ApplicationSubmitted,
    AppointmentBooked,
    BiometricsCaptured,
    Collected,
    PassportPrinted,
    PaymentReceived,
    ReadyForPickup,
)
from services.contracts.passport_booking import (
    ActionRequired,
    ApplicationRefused,
    AppointmentRequested,
    NotificationChannel,
    NotificationRequestedModel,
)
from services.passport.booking import NAMESPACE

__all__ = ["STEPS", "Application", "ApplicationStatus", "StatusEvent", "StepRefused", "apply_status"]


class ApplicationStatus(enum.StrEnum):
    """Where an application stands."""

    BOOKED = "BOOKED"
    SUBMITTED = "SUBMITTED"
    BIOMETRICS_CAPTURED = "BIOMETRICS_CAPTURED"
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED"
    PRINTED = "PRINTED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    COLLECTED = "COLLECTED"
    NEEDS_ACTION = "NEEDS_ACTION"
    REFUSED = "REFUSED"


Step = (
    ApplicationSubmitted | BiometricsCaptured | PaymentReceived | PassportPrinted | ReadyForPickup | Collected
)
STEPS: tuple[tuple[type[Step], ApplicationStatus], ...] = (
    (ApplicationSubmitted, ApplicationStatus.SUBMITTED),
    (BiometricsCaptured, ApplicationStatus.BIOMETRICS_CAPTURED),
    (PaymentReceived, ApplicationStatus.PAYMENT_RECEIVED),
    (PassportPrinted, ApplicationStatus.PRINTED),
    (ReadyForPickup, ApplicationStatus.READY_FOR_PICKUP),
    (Collected, ApplicationStatus.COLLECTED),
)
_RANK = {kind: rank for rank, (kind, _) in enumerate(STEPS, start=1)}
Payload = Step | ApplicationRefused | ActionRequired | AppointmentRequested | AppointmentBooked


class StepRefused(BusError):
    """A status event that does not fit the application; ``reason`` says why (no personal data)."""

    def __init__(self, event: str, reason: str, status: str) -> None:
        super().__init__(f"{event} refused: {reason} (application is {status})")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One event of the application with the envelope facts the fold needs."""

    event_id: str
    time: datetime
    payload: Payload


@dataclass(frozen=True, slots=True)
class Application:
    """One application's state: its status, the dates the answer needs, the second factor, the contact."""

    application_id: str
    office: str
    status: ApplicationStatus
    rank: int = 0
    applied: frozenset[str] = frozenset()
    submitted_on: date | None = None
    paid_on: date | None = None
    ready_from: date | None = None
    collected_on: date | None = None
    action: str | None = None
    refusal: str | None = None
    birth_date: date | None = None
    renewal: bool = False
    contact: tuple[NotificationChannel, str] | None = None


def _contact(personal: Personal, pseudonym: Callable[[str], str]) -> tuple[NotificationChannel, str] | None:
    if personal.phone:
        return NotificationChannel.WHATSAPP, pseudonym(personal.phone)
    if personal.email:
        return NotificationChannel.EMAIL, pseudonym(personal.email.lower())
    if personal.nik:
        return NotificationChannel.SMS, pseudonym(personal.nik)
    return None


def apply_status(
    app: Application | None, event: StatusEvent, pseudonym: Callable[[str], str]
) -> tuple[Application, NotificationRequestedModel | None]:
    """The application after ``event``, and the notification of its change (None when nothing changed).

    Raises ``StepRefused`` for a step out of order; the application is then unchanged.
    """
    payload = event.payload
    if app is None:
        app = Application(payload.application_id, payload.office, ApplicationStatus.BOOKED)
    if event.event_id in app.applied:
        return app, None
    applied = app.applied | {event.event_id}
    if isinstance(payload, AppointmentRequested):
        contact = app.contact or (
            (NotificationChannel.WHATSAPP, payload.phone_key) if payload.phone_key else None
        )
        return replace(app, applied=applied, contact=contact or _contact(payload.personal, pseudonym)), None
    if isinstance(payload, AppointmentBooked):
        return replace(
            app, applied=applied, contact=app.contact or _contact(payload.personal, pseudonym)
        ), None
    name = type(payload).__name__
    if app.status in {ApplicationStatus.REFUSED, ApplicationStatus.COLLECTED}:
        raise StepRefused(name, "APPLICATION_CLOSED", app.status)
    if isinstance(payload, ApplicationRefused):
        new = replace(app, applied=applied, status=ApplicationStatus.REFUSED, refusal=payload.reason)
    elif isinstance(payload, ActionRequired):
        if app.rank == 0:
            raise StepRefused(name, "NOT_SUBMITTED", app.status)
        new = replace(app, applied=applied, status=ApplicationStatus.NEEDS_ACTION, action=payload.action)
    else:
        new = _step(app, payload, event, applied, pseudonym)
    return new, _notification(new, event)


def _step(
    app: Application,
    payload: Step,
    event: StatusEvent,
    applied: frozenset[str],
    pseudonym: Callable[[str], str],
) -> Application:
    name = type(payload).__name__
    rank = _RANK[type(payload)]
    if rank == app.rank:
        raise StepRefused(name, "ALREADY_DONE", app.status)
    if rank != app.rank + 1:
        raise StepRefused(name, "NOT_SUBMITTED" if app.rank == 0 else "OUT_OF_ORDER", app.status)
    day = event.time.date()
    new = replace(
        app, applied=applied, rank=rank, status=STEPS[rank - 1][1], action=None, office=payload.office
    )
    if isinstance(payload, ApplicationSubmitted):
        return replace(
            new,
            submitted_on=day,
            birth_date=payload.personal.date_of_birth,
            renewal=payload.service != "NEW",
            contact=app.contact or _contact(payload.personal, pseudonym),
        )
    if isinstance(payload, PaymentReceived):
        return replace(new, paid_on=day)
    if isinstance(payload, ReadyForPickup):
        return replace(new, ready_from=payload.pickup_from)
    if isinstance(payload, Collected):
        return replace(new, collected_on=day)
    return new


def _notification(app: Application, event: StatusEvent) -> NotificationRequestedModel | None:
    if app.contact is None:
        return None
    channel, recipient = app.contact
    return NotificationRequestedModel(
        notification_id=str(uuid.uuid5(NAMESPACE, f"notify|{event.event_id}")),
        application_id=app.application_id,
        office=app.office,
        template=f"passport.status.{app.status.lower()}",
        channel=channel,
        recipient_key=recipient,
        caused_by=event.event_id,
        requested_at=event.time,
    )
