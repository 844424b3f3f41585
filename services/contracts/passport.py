"""Events of the ``passport`` topic: one passport application from appointment to collection.

Keyed by ``application_id``. Slot dates and times are local to the office (its time zone is in
``offices.csv``), because that is what the citizen was told.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from services.contracts.base import EventModel
from services.contracts.common import (
    AVRO_LONG_MAX,
    Channel,
    CurrencyCode,
    NonEmptyStr,
    OfficeCode,
    Personal,
    PositiveAvroInt,
    SlotTime,
)

__all__ = [
    "ApplicationSubmitted",
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentRescheduled",
    "BiometricsCaptured",
    "CancellationReason",
    "Collected",
    "PassportEvent",
    "PassportKind",
    "PassportPrinted",
    "PassportService",
    "PaymentMethod",
    "PaymentReceived",
    "ReadyForPickup",
]

_NAMESPACE = "id.go.kemlu.bus.passport.v1"


class PassportService(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.PassportService``; the reader maps symbols added later to OTHER."""

    NEW = "NEW"
    RENEWAL = "RENEWAL"
    REPLACEMENT_LOST = "REPLACEMENT_LOST"
    REPLACEMENT_DAMAGED = "REPLACEMENT_DAMAGED"
    OTHER = "OTHER"


class CancellationReason(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.CancellationReason``; symbols added later read as OTHER."""

    CITIZEN_REQUEST = "CITIZEN_REQUEST"
    NO_SHOW = "NO_SHOW"
    OFFICE_CLOSED = "OFFICE_CLOSED"
    DUPLICATE = "DUPLICATE"
    OTHER = "OTHER"


class PassportKind(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.PassportKind``: no default, a guessed kind would print the wrong book."""

    ORDINARY = "ORDINARY"
    ELECTRONIC = "ELECTRONIC"


class PaymentMethod(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.PaymentMethod``; symbols added later read as OTHER."""

    CASH = "CASH"
    CARD = "CARD"
    BANK_TRANSFER = "BANK_TRANSFER"
    QRIS = "QRIS"
    OTHER = "OTHER"


class PassportEvent(EventModel):
    """An event of the passport topic."""

    TOPIC: ClassVar[str] = "passport"


class AppointmentBooked(PassportEvent):
    """A citizen booked a passport appointment."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.AppointmentBooked"

    application_id: NonEmptyStr
    appointment_id: NonEmptyStr
    office: OfficeCode
    slot_date: date
    slot_time: SlotTime
    queue_number: PositiveAvroInt
    service: PassportService
    channel: Channel
    personal: Personal


class AppointmentCancelled(PassportEvent):
    """A passport appointment was cancelled."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.AppointmentCancelled"

    application_id: NonEmptyStr
    appointment_id: NonEmptyStr
    office: OfficeCode
    reason: CancellationReason
    channel: Channel
    officer_id: NonEmptyStr | None = None


class AppointmentRescheduled(PassportEvent):
    """A passport appointment moved to another slot."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.AppointmentRescheduled"

    application_id: NonEmptyStr
    appointment_id: NonEmptyStr
    office: OfficeCode
    old_slot_date: date
    old_slot_time: SlotTime
    new_slot_date: date
    new_slot_time: SlotTime
    new_queue_number: PositiveAvroInt
    channel: Channel
    officer_id: NonEmptyStr | None = None


class ApplicationSubmitted(PassportEvent):
    """A passport application was accepted at the counter."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.ApplicationSubmitted"

    application_id: NonEmptyStr
    office: OfficeCode
    service: PassportService
    passport_kind: PassportKind
    pages: Literal[24, 48]
    personal: Personal
    officer_id: NonEmptyStr


class BiometricsCaptured(PassportEvent):
    """The applicant's fingerprints and/or photo were captured."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.BiometricsCaptured"

    application_id: NonEmptyStr
    office: OfficeCode
    fingerprints: bool
    photo: bool
    officer_id: NonEmptyStr


class PaymentReceived(PassportEvent):
    """The passport fee was paid (amount in minor units of ``currency``)."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.PaymentReceived"

    application_id: NonEmptyStr
    office: OfficeCode
    amount_minor: Annotated[int, Field(ge=0, le=AVRO_LONG_MAX)]
    currency: CurrencyCode
    receipt_ref: NonEmptyStr
    method: PaymentMethod
    officer_id: NonEmptyStr | None = None


class PassportPrinted(PassportEvent):
    """The passport book was printed; ``personal.passport_number`` is the new passport's number."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.PassportPrinted"

    application_id: NonEmptyStr
    office: OfficeCode
    printed_at: OfficeCode
    personal: Personal
    issue_date: date
    expiry_date: date
    officer_id: NonEmptyStr

    @field_validator("personal")
    @classmethod
    def _has_passport_number(cls, value: Personal) -> Personal:
        """Without the number, the printed book cannot be matched to anything downstream."""
        if not value.passport_number:
            raise ValueError("a printed passport needs its passport_number")
        return value

    @field_validator("expiry_date")
    @classmethod
    def _expires_after_issue(cls, value: date, info: ValidationInfo) -> date:
        """An expiry on or before the issue date is a misprint, not a passport."""
        issued = info.data.get("issue_date")
        if isinstance(issued, date) and value <= issued:
            raise ValueError("expiry date must be after the issue date")
        return value


class ReadyForPickup(PassportEvent):
    """The passport can be collected from ``pickup_from``; ``channel`` is how the citizen was told."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.ReadyForPickup"

    application_id: NonEmptyStr
    office: OfficeCode
    pickup_from: date
    channel: Channel


class Collected(PassportEvent):
    """The passport was handed over, to the holder or a proxy."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.Collected"

    application_id: NonEmptyStr
    office: OfficeCode
    collected_by_proxy: bool
    officer_id: NonEmptyStr
