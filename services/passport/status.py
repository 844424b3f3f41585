"""Application status, a pure fold of one application's facts (``StatusItemModel``, keyed by application id).

Two kinds of facts meet here, from two topics, so their order across kinds is not guaranteed:

- **Booking facts** (a request, the service's confirmation, refusal or cancellation, an office's legacy
  ``AppointmentBooked``) decide the status only before submission: REQUESTED, BOOKED, BOOKING_REFUSED,
  CANCELLED. They are never refused. The newest one by its time decides (a decision's time is its request's
  time), a refused request leaves an active booking as it is (a refused reschedule keeps the old booking),
  and a confirmation whose cancellation arrived first stays cancelled. Once the application is submitted
  (or refused) they only update the booking's fields: the status never moves backwards.
- **Steps** (``passport``, in order): SUBMITTED, BIOMETRICS_CAPTURED, PAYMENT_RECEIVED, PRINTED,
  READY_FOR_PICKUP, COLLECTED, each only after the one before; a step out of order is refused with its
  reason (``StepRefused``, dead-lettered by the runtime). An office may ask for an action (NEEDS_ACTION,
  cleared by the next step) or refuse the application (REFUSED, its end).

A fact applied twice (same event id) changes nothing. Every change the applicant must know of yields one
``NotificationRequested`` whose id is derived from the fact's event id, to the first contact a fact named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from services.bus.errors import BusError
from services.contracts.passport import PassportService
from services.contracts.passport_booking import NotificationChannel, NotificationRequestedModel
from services.contracts.passport_items import StatusItemKind, StatusItemModel
from services.contracts.passport_views import ApplicationStatus
from services.passport.booking import NAMESPACE

__all__ = [
    "BOOKING_FACTS",
    "STEPS",
    "Application",
    "ApplicationStatus",
    "StatusFact",
    "StepRefused",
    "apply_status",
    "notification_id",
]

StatusFact = StatusItemModel
"""What the fold reads: one status item, as the intake forwards it on ``passport.status``."""

_K = StatusItemKind
_S = ApplicationStatus
STEPS: tuple[tuple[StatusItemKind, ApplicationStatus], ...] = (
    (_K.SUBMITTED, _S.SUBMITTED),
    (_K.BIOMETRICS_CAPTURED, _S.BIOMETRICS_CAPTURED),
    (_K.PAYMENT_RECEIVED, _S.PAYMENT_RECEIVED),
    (_K.PRINTED, _S.PRINTED),
    (_K.READY_FOR_PICKUP, _S.READY_FOR_PICKUP),
    (_K.COLLECTED, _S.COLLECTED),
)
_RANK = {kind: rank for rank, (kind, _) in enumerate(STEPS, start=1)}
BOOKING_FACTS = frozenset({_K.REQUESTED, _K.BOOKED_LEGACY, _K.CONFIRMED, _K.BOOKING_REFUSED, _K.CANCELLED})
_CLOSED = frozenset({_S.REFUSED, _S.COLLECTED})


class StepRefused(BusError):
    """A status fact that does not fit the application; ``reason`` says why (no personal data)."""

    def __init__(self, fact: str, reason: str, status: str) -> None:
        super().__init__(f"{fact} refused: {reason} (application is {status})")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Application:
    """One application's state: its status, booking, the dates the answer needs, the second factor (as a
    key), the contact (as a key).
    """

    application_id: str
    office: str
    status: ApplicationStatus
    rank: int = 0
    """How many steps are done (0: not submitted)."""
    applied: frozenset[str] = frozenset()
    since: datetime | None = None
    """Time of the booking fact that set the status before submission (older ones do not move it)."""
    updated_at: datetime | None = None
    booking_code: str | None = None
    booked_day: date | None = None
    queue_number: int | None = None
    booking_refusal: str | None = None
    cancelled: frozenset[str] = frozenset()
    """Booking codes cancelled: a confirmation that arrives after its cancellation stays cancelled."""
    submitted_on: date | None = None
    paid_on: date | None = None
    ready_from: date | None = None
    collected_on: date | None = None
    action: str | None = None
    refusal: str | None = None
    birth_date_key: str | None = None
    renewal: bool = False
    contact: tuple[NotificationChannel, str] | None = None

    @property
    def open_for_booking(self) -> bool:
        """Whether booking facts still decide the status: not submitted, not refused."""
        return self.rank == 0 and self.status is not ApplicationStatus.REFUSED


def notification_id(event_id: str) -> str:
    """The one notification id a fact can cause."""
    return str(uuid.uuid5(NAMESPACE, f"notify|{event_id}"))


def apply_status(
    app: Application | None, fact: StatusItemModel
) -> tuple[Application, NotificationRequestedModel | None]:
    """The application after ``fact``, and the notification it causes (None when there is none).

    Raises ``StepRefused`` for a step that does not fit; nothing is changed then.
    """
    if app is None:
        app = Application(fact.application_id, fact.office, ApplicationStatus.REQUESTED)
    if fact.event_id in app.applied:
        return app, None
    if fact.kind in BOOKING_FACTS:
        new, template = _booking(app, fact)
    else:
        new = _progress(app, fact)
        template = f"passport.status.{new.status.lower()}"
    contact = app.contact
    if contact is None and fact.contact_channel is not None and fact.recipient_key is not None:
        contact = (fact.contact_channel, fact.recipient_key)
    birth_key = app.birth_date_key
    if fact.birth_date_key is not None and (birth_key is None or fact.kind is _K.SUBMITTED):
        birth_key = fact.birth_date_key  # the counter's check at submission has the last word
    new = replace(
        new,
        applied=app.applied | {fact.event_id},
        updated_at=fact.time if app.updated_at is None else max(app.updated_at, fact.time),
        contact=contact,
        birth_date_key=birth_key,
    )
    return new, _notification(new, fact, template)


def _booking(app: Application, fact: StatusItemModel) -> tuple[Application, str | None]:
    """A booking fact: the booking's fields always, the status only while the application is open for
    booking and the fact is not older than the one that set it; returns the notification's template too.
    """
    current = app.open_for_booking and (app.since is None or fact.time >= app.since)
    if app.rank == 0 and fact.service is not None:
        app = replace(app, renewal=fact.service is not PassportService.NEW)
    return _BOOKING_RULES[fact.kind](app, fact, current=current)


def _requested(app: Application, fact: StatusItemModel, *, current: bool) -> tuple[Application, str | None]:
    """A new request after a refused or cancelled booking makes the application REQUESTED again."""
    if not current or app.booking_code is not None:
        return app, None
    if app.status is _S.REQUESTED and app.since is None:  # the first request: older decisions are stale
        return replace(app, since=fact.time), None
    again = app.status in {_S.BOOKING_REFUSED, _S.CANCELLED}
    if again and app.since is not None and fact.time > app.since:
        return replace(app, status=_S.REQUESTED, since=fact.time, office=fact.office), None
    return app, None


def _booked(
    app: Application,
    fact: StatusItemModel,
    *,
    current: bool,  # noqa: ARG001 - one signature for every booking rule
) -> tuple[Application, str | None]:
    """A confirmation (or a legacy booking) is the active booking, unless it was cancelled already."""
    if fact.booking_code in app.cancelled:
        return app, None
    booked = replace(
        app, booking_code=fact.booking_code, booked_day=fact.slot_day, queue_number=fact.queue_number
    )
    if not app.open_for_booking:
        return booked, None
    return replace(booked, status=_S.BOOKED, since=fact.time, office=fact.office), "passport.status.booked"


def _refused(app: Application, fact: StatusItemModel, *, current: bool) -> tuple[Application, str | None]:
    """A refused request: BOOKING_REFUSED when nothing is booked; a refused reschedule keeps the booking.

    Once the application is submitted (or refused) the status stays, but a refusal newer than the one that
    set it still records its reason, and its time: a decision reaches the fold from another topic than the
    steps, so it may come before or after the submission, and both orders must give one application.
    """
    if not current:
        if app.open_for_booking or (app.since is not None and fact.time < app.since):
            return app, None  # older than the booking fact that set the status
        return replace(app, booking_refusal=fact.reason, since=fact.time), None
    refused = replace(app, booking_refusal=fact.reason)
    if app.booking_code is not None:
        return refused, "passport.booking.refused"
    new = replace(refused, status=_S.BOOKING_REFUSED, since=fact.time, office=fact.office)
    return new, "passport.status.booking_refused"


def _cancelled(
    app: Application,
    fact: StatusItemModel,
    *,
    current: bool,  # noqa: ARG001 - one signature for every booking rule
) -> tuple[Application, str | None]:
    """The active booking cancelled: CANCELLED before submission; any code is remembered as cancelled."""
    code = fact.booking_code
    cancelled = replace(app, cancelled=app.cancelled | ({code} if code else set()))
    if code is None or code != app.booking_code:
        return cancelled, None
    cancelled = replace(cancelled, booking_code=None, booked_day=None, queue_number=None)
    if not app.open_for_booking:
        return cancelled, None
    return replace(cancelled, status=_S.CANCELLED, since=fact.time), "passport.status.cancelled"


_BOOKING_RULES = {
    _K.REQUESTED: _requested,
    _K.CONFIRMED: _booked,
    _K.BOOKED_LEGACY: _booked,
    _K.BOOKING_REFUSED: _refused,
    _K.CANCELLED: _cancelled,
}


def _progress(app: Application, fact: StatusItemModel) -> Application:
    """A step, an action asked for, or the application refused; StepRefused when it does not fit."""
    name = fact.kind.value
    if app.status in _CLOSED:
        raise StepRefused(name, "APPLICATION_CLOSED", app.status)
    if fact.kind is _K.REFUSED:
        return replace(app, status=_S.REFUSED, refusal=fact.reason)
    if fact.kind is _K.ACTION_REQUIRED:
        if app.rank == 0:
            raise StepRefused(name, "NOT_SUBMITTED", app.status)
        return replace(app, status=_S.NEEDS_ACTION, action=fact.action)
    rank = _RANK[fact.kind]
    if rank == app.rank:
        raise StepRefused(name, "ALREADY_DONE", app.status)
    if rank != app.rank + 1:
        raise StepRefused(name, "NOT_SUBMITTED" if app.rank == 0 else "OUT_OF_ORDER", app.status)
    return _step(replace(app, rank=rank, status=STEPS[rank - 1][1], action=None, office=fact.office), fact)


def _step(new: Application, fact: StatusItemModel) -> Application:
    """The dates (and the service) a step records."""
    day = fact.time.date()
    if fact.kind is _K.SUBMITTED:
        renewal = new.renewal if fact.service is None else fact.service is not PassportService.NEW
        return replace(new, submitted_on=day, renewal=renewal)
    if fact.kind is _K.PAYMENT_RECEIVED:
        return replace(new, paid_on=day)
    if fact.kind is _K.READY_FOR_PICKUP:
        return replace(new, ready_from=fact.pickup_from or day)
    if fact.kind is _K.COLLECTED:
        return replace(new, collected_on=day)
    return new


def _notification(
    app: Application, fact: StatusItemModel, template: str | None
) -> NotificationRequestedModel | None:
    if app.contact is None or template is None:
        return None
    channel, recipient = app.contact
    return NotificationRequestedModel(
        notification_id=notification_id(fact.event_id),
        application_id=app.application_id,
        office=app.office,
        template=template,
        channel=channel,
        recipient_key=recipient,
        caused_by=fact.event_id,
        requested_at=fact.time,
    )
