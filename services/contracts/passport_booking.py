"""Contracts of fair booking and application status (``schemas/passport/v1``).

Requests, cancellations, refusals and holds are events offices and channels publish on ``passport`` (keyed
by application id, like every passport event); a quota is an office's event on ``passport.quotas`` (keyed by
office). Decisions and notifications are views: only the booking service may decide a request or ask a
gateway to write to a citizen, so no producer can send one (``services.bus.events`` accepts none).

``AppointmentConfirmed`` supersedes ``AppointmentBooked``: offices published that as a fact before there
were quotas, so it stays (revision 1, readable, counted by the status view as a booking made outside the
quota) and new bookings come only as the service's decision.
"""

from __future__ import annotations

import base64
import enum
import uuid
from datetime import date
from typing import Annotated, ClassVar, Final

from pydantic import Field

from services.contracts.common import (
    AVRO_INT_MAX,
    Channel,
    NonEmptyStr,
    OfficeCode,
    Personal,
    PositiveAvroInt,
    ReasonCode,
)
from services.contracts.passport import CancellationReason, PassportEvent, PassportService
from services.contracts.registry_fields import Timestamp, ViewModel

__all__ = [
    "BOOKING_NAMESPACE",
    "DECISIONS_TOPIC",
    "NOTIFICATIONS_TOPIC",
    "QUOTAS_TOPIC",
    "ActionRequired",
    "ApplicationRefused",
    "AppointmentConfirmedModel",
    "AppointmentRefusedModel",
    "AppointmentRequested",
    "BookingCancelledModel",
    "BookingRefusal",
    "CancellationRequested",
    "NotificationChannel",
    "NotificationRequestedModel",
    "QuotaSet",
    "booking_code",
]

BOOKING_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:id.go.kemlu.bus:passport:booking")
"""The UUID namespace every id the booking service derives from a request id lives in."""


def booking_code(request_id: str) -> str:
    """The code a citizen shows at the counter: 10 letters and digits derived from the request id.

    It is part of the contract because a channel that lost the decision can still name the booking (and
    cancel it) from the request it sent: ``base32(uuid5(BOOKING_NAMESPACE, "booking|" + request_id))[:10]``.
    """
    digest = uuid.uuid5(BOOKING_NAMESPACE, f"booking|{request_id}").bytes
    return base64.b32encode(digest).decode("ascii")[:10]


_NAMESPACE = "id.go.kemlu.bus.passport.v1"
DECISIONS_TOPIC = "passport.decisions"
NOTIFICATIONS_TOPIC = "passport.notifications"
QUOTAS_TOPIC = "passport.quotas"
Capacity = Annotated[int, Field(ge=0, le=AVRO_INT_MAX)]


class BookingRefusal(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.BookingRefusal``: why a request was refused; later symbols read OTHER."""

    DAY_FULL = "DAY_FULL"
    NO_QUOTA = "NO_QUOTA"
    ALREADY_BOOKED = "ALREADY_BOOKED"
    NOT_THE_APPLICANT = "NOT_THE_APPLICANT"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    NO_IDENTITY = "NO_IDENTITY"
    NO_SUCH_BOOKING = "NO_SUCH_BOOKING"
    RESCHEDULE_USED = "RESCHEDULE_USED"
    OTHER = "OTHER"


class NotificationChannel(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.NotificationChannel``: the gateway; later symbols read as OTHER."""

    WHATSAPP = "WHATSAPP"
    SMS = "SMS"
    EMAIL = "EMAIL"
    OTHER = "OTHER"


class AppointmentRequested(PassportEvent):
    """A request for an appointment (a walk-in too); the service answers it exactly once."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.AppointmentRequested"

    request_id: NonEmptyStr
    application_id: NonEmptyStr
    office: OfficeCode
    wished_date: date
    service: PassportService
    channel: Channel
    phone_key: NonEmptyStr | None = None
    requester_key: NonEmptyStr | None = None
    reschedules: NonEmptyStr | None = None
    personal: Personal


class CancellationRequested(PassportEvent):
    """A request to cancel an active booking; ``personal`` routes it to the citizen's bookings."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CancellationRequested"

    request_id: NonEmptyStr
    application_id: NonEmptyStr
    booking_code: NonEmptyStr
    office: OfficeCode
    reason: CancellationReason
    channel: Channel
    personal: Personal


class QuotaSet(PassportEvent):
    """An office's daily capacity for one service from a day on."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.QuotaSet"
    TOPIC: ClassVar[str] = QUOTAS_TOPIC

    quota_id: NonEmptyStr
    office: OfficeCode
    service: PassportService
    daily_capacity: Capacity
    from_date: date
    officer_id: NonEmptyStr


class ApplicationRefused(PassportEvent):
    """The office refused the application: its end."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.ApplicationRefused"

    application_id: NonEmptyStr
    office: OfficeCode
    reason: ReasonCode
    officer_id: NonEmptyStr


class ActionRequired(PassportEvent):
    """The applicant must do something before the application goes on."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.ActionRequired"

    application_id: NonEmptyStr
    office: OfficeCode
    action: ReasonCode
    officer_id: NonEmptyStr | None = None


class AppointmentConfirmedModel(ViewModel):
    """The service booked a slot: the request's one decision."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.AppointmentConfirmed"
    TOPIC: ClassVar[str] = DECISIONS_TOPIC

    decision_id: NonEmptyStr
    request_id: NonEmptyStr
    application_id: NonEmptyStr
    booking_code: NonEmptyStr
    office: OfficeCode
    slot_date: date
    queue_number: PositiveAvroInt
    service: PassportService
    channel: Channel
    reschedules: NonEmptyStr | None = None
    decided_at: Timestamp


class AppointmentRefusedModel(ViewModel):
    """The service refused a request: its one decision, with the reason."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.AppointmentRefused"
    TOPIC: ClassVar[str] = DECISIONS_TOPIC

    decision_id: NonEmptyStr
    request_id: NonEmptyStr
    application_id: NonEmptyStr
    office: OfficeCode
    wished_date: date
    reason: BookingRefusal
    decided_at: Timestamp


class BookingCancelledModel(ViewModel):
    """The service cancelled an active booking at its citizen's request: the cancellation's one decision."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.BookingCancelled"
    TOPIC: ClassVar[str] = DECISIONS_TOPIC

    decision_id: NonEmptyStr
    request_id: NonEmptyStr
    application_id: NonEmptyStr
    booking_code: NonEmptyStr
    booked_by: NonEmptyStr
    office: OfficeCode
    slot_date: date
    reason: CancellationReason
    channel: Channel
    decided_at: Timestamp


class NotificationRequestedModel(ViewModel):
    """A message for a gateway to send: template and pseudonymous recipient, never text or number."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.NotificationRequested"
    TOPIC: ClassVar[str] = NOTIFICATIONS_TOPIC

    notification_id: NonEmptyStr
    application_id: NonEmptyStr
    office: OfficeCode
    template: NonEmptyStr
    channel: NotificationChannel
    recipient_key: NonEmptyStr
    caused_by: NonEmptyStr
    requested_at: Timestamp
