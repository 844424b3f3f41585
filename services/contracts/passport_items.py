"""``BookingItemModel``: the fair-booking stages' records on ``passport.phones``, ``passport.requests`` and
``passport.slots`` (internal, kept forever), one flat record for all six kinds; ``StatusItemModel``: the
status view's facts on ``passport.status`` (internal, kept forever, keyed by application id), one flat
record for every kind of fact.

No personal data travels between the stages: citizens and phones only as pseudonymous keys, so the record
has no ``personal`` field at all. The model mirrors ``schemas/passport/v1/BookingItem.1.avsc``
(``tests/unit/test_contracts.py``); ``services.passport.items`` converts it to and from the stages' records.
``StatusItemModel`` mirrors ``schemas/passport/v1/StatusItem.1.avsc`` the same way; the birth date and the
contact travel in it only as pseudonymous keys (``services.passport.status_items`` makes them).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, ClassVar

from pydantic import Field

from services.contracts.common import AVRO_INT_MAX, NonEmptyStr, OfficeCode
from services.contracts.passport import PassportService
from services.contracts.passport_booking import NotificationChannel
from services.contracts.registry_fields import Timestamp
from services.contracts.registry_items import InternalModel

__all__ = ["STATUS_TOPIC", "BookingItemKind", "BookingItemModel", "StatusItemKind", "StatusItemModel"]

STATUS_TOPIC = "passport.status"
"""The status view's input: one ``StatusItemModel`` per fact, keyed by application id."""


class BookingItemKind(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.BookingItemKind``: which stage record an item is."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"
    ASK = "ASK"
    ANSWER = "ANSWER"
    RELEASE = "RELEASE"
    QUOTA = "QUOTA"


class BookingItemModel(InternalModel):
    """One stage record; which optional fields are set depends on ``kind`` (``services.passport.items``)."""

    SCHEMA: ClassVar[str] = "id.go.kemlu.bus.passport.v1.BookingItem"
    TOPIC: ClassVar[str] = "passport.requests"
    """The stages' middle topic; the same record travels on ``passport.phones`` and ``passport.slots``."""

    kind: BookingItemKind
    request_id: NonEmptyStr | None = None
    application_id: NonEmptyStr | None = None
    citizen: NonEmptyStr | None = None
    office: OfficeCode
    day: date | None = None
    service: PassportService | None = None
    channel: NonEmptyStr | None = None
    phone_key: NonEmptyStr | None = None
    not_applicant: bool
    reschedules: NonEmptyStr | None = None
    booking_code: NonEmptyStr | None = None
    queue_number: Annotated[int, Field(ge=1, le=AVRO_INT_MAX)] | None = None
    reason: NonEmptyStr | None = None
    quota_id: NonEmptyStr | None = None
    capacity: Annotated[int, Field(ge=0, le=AVRO_INT_MAX)] | None = None
    time: Timestamp


class StatusItemKind(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.StatusItemKind``: which fact of an application a status item is."""

    REQUESTED = "REQUESTED"
    BOOKED_LEGACY = "BOOKED_LEGACY"
    CONFIRMED = "CONFIRMED"
    BOOKING_REFUSED = "BOOKING_REFUSED"
    CANCELLED = "CANCELLED"
    SUBMITTED = "SUBMITTED"
    BIOMETRICS_CAPTURED = "BIOMETRICS_CAPTURED"
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED"
    PRINTED = "PRINTED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    COLLECTED = "COLLECTED"
    ACTION_REQUIRED = "ACTION_REQUIRED"
    REFUSED = "REFUSED"


class StatusItemModel(InternalModel):
    """One fact of an application; which optional fields are set depends on ``kind``
    (``services.passport.status_items``).
    """

    SCHEMA: ClassVar[str] = "id.go.kemlu.bus.passport.v1.StatusItem"
    TOPIC: ClassVar[str] = STATUS_TOPIC

    event_id: NonEmptyStr
    kind: StatusItemKind
    application_id: NonEmptyStr
    office: OfficeCode
    time: Timestamp
    slot_day: date | None = None
    booking_code: NonEmptyStr | None = None
    reschedules: NonEmptyStr | None = None
    queue_number: Annotated[int, Field(ge=1, le=AVRO_INT_MAX)] | None = None
    reason: NonEmptyStr | None = None
    action: NonEmptyStr | None = None
    pickup_from: date | None = None
    service: PassportService | None = None
    birth_date_key: NonEmptyStr | None = None
    contact_channel: NotificationChannel | None = None
    recipient_key: NonEmptyStr | None = None
