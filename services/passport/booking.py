"""The records fair booking passes between its stages, and the ids it derives.

Each stage is a fold over its own topic's records in partition order (see ``phones``, ``citizens``,
``slots``); these frozen records are what travels between them, keyed as ``Out.key`` says. Every id a stage
writes is derived from the request id, so a stage that crashed after writing and reads its input again
writes the same records with the same ids: consumers deduplicate, and no request can get two different
decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from services.contracts.common import Personal
from services.contracts.passport import PassportService
from services.contracts.passport_booking import BOOKING_NAMESPACE, BookingRefusal, booking_code

__all__ = [
    "DECISIONS",
    "NAMESPACE",
    "PHONES",
    "REQUESTS",
    "SLOTS",
    "Answer",
    "Ask",
    "Cancel",
    "Cancelled",
    "Confirmed",
    "Decision",
    "Out",
    "QuotaChange",
    "Refused",
    "Release",
    "Request",
    "booking_code",
    "citizen_of",
    "decision_id",
    "no_identity_key",
    "slot_key",
]

NAMESPACE: Final = BOOKING_NAMESPACE
PHONES: Final = "passport.phones"
"""Stage 1a, keyed by the phone's pseudonymous key: the per-phone request limit."""
REQUESTS: Final = "passport.requests"
"""Stages 1 and 3, keyed by citizen: requests, cancellations and the slots' answers."""
SLOTS: Final = "passport.slots"
"""Stage 2, keyed ``<office>|<yyyy-mm-dd>``: asks and releases; quotas go to every partition."""
DECISIONS: Final = "passport.decisions"
"""Each request's one decision, keyed by application id."""


def decision_id(request_id: str) -> str:
    """The one decision id a request can ever get."""
    return str(uuid.uuid5(NAMESPACE, f"decision|{request_id}"))


def slot_key(office: str, day: date) -> str:
    """The key of one office-day on ``passport.slots``: all of its capacity is decided on one partition."""
    return f"{office}|{day.isoformat()}"


def no_identity_key(request_id: str) -> str:
    """Where a request without NIK or passport number goes: its own key, to be refused NO_IDENTITY."""
    return f"none:{request_id}"


def citizen_of(personal: Personal, pseudonym: Callable[[str], str]) -> str | None:
    """The citizen key: ``nik:`` + HMAC of the NIK, else ``passport:`` + HMAC of the passport number (no
    spaces, upper case), else None. ``pseudonym`` is the bus's keyed hash (``services.bus.keys``).
    """
    if personal.nik:
        return f"nik:{pseudonym(personal.nik)}"
    if personal.passport_number:
        number = "".join(personal.passport_number.split()).upper()
        return f"passport:{pseudonym(number)}"
    return None


@dataclass(frozen=True, slots=True)
class Request:
    """An appointment request as the stages see it: no personal data, only keys and the facts judged."""

    request_id: str
    application_id: str
    citizen: str | None
    office: str
    day: date
    service: PassportService
    channel: str
    phone_key: str | None
    not_applicant: bool
    reschedules: str | None
    time: datetime


@dataclass(frozen=True, slots=True)
class Cancel:
    """A cancellation request of one booking, on the citizen's partition."""

    request_id: str
    application_id: str
    citizen: str | None
    office: str
    booking_code: str
    time: datetime
    reason: str = "CITIZEN_REQUEST"
    """``CancellationReason`` symbol."""
    channel: str = "OTHER"


@dataclass(frozen=True, slots=True)
class Ask:
    """A citizen stage's ask for one slot of an office-day, for a request it holds pending."""

    request_id: str
    citizen: str
    office: str
    day: date
    service: PassportService
    time: datetime


@dataclass(frozen=True, slots=True)
class Release:
    """Give back the slot the booking of ``request_id`` holds (cancelled, or moved by a reschedule)."""

    request_id: str
    office: str
    day: date
    service: PassportService
    time: datetime


@dataclass(frozen=True, slots=True)
class QuotaChange:
    """An office's capacity for a service from ``from_day`` on; sent to every slots partition."""

    quota_id: str
    office: str
    service: PassportService
    capacity: int
    from_day: date
    time: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """The slots stage's answer to an ask, back on the citizen's partition: a queue number, or a reason."""

    request_id: str
    citizen: str
    queue_number: int | None
    reason: BookingRefusal | None
    time: datetime
    office: str
    """The office asked for (the answer's own topic is keyed by citizen)."""


@dataclass(frozen=True, slots=True)
class Confirmed:
    """Decision: the request is booked."""

    request_id: str
    application_id: str
    booking_code: str
    office: str
    day: date
    queue_number: int
    service: PassportService
    channel: str
    reschedules: str | None
    time: datetime

    @property
    def decision_id(self) -> str:
        """Derived from the request id."""
        return decision_id(self.request_id)


@dataclass(frozen=True, slots=True)
class Refused:
    """Decision: the request is refused, with its reason."""

    request_id: str
    application_id: str
    office: str
    day: date
    reason: BookingRefusal
    time: datetime

    @property
    def decision_id(self) -> str:
        """Derived from the request id."""
        return decision_id(self.request_id)


@dataclass(frozen=True, slots=True)
class Cancelled:
    """Decision on a cancellation: the booking ``booking_code`` (of request ``booked_by``) is cancelled."""

    request_id: str
    application_id: str
    booking_code: str
    booked_by: str
    office: str
    day: date
    time: datetime
    reason: str = "CITIZEN_REQUEST"
    channel: str = "OTHER"

    @property
    def decision_id(self) -> str:
        """Derived from the request id."""
        return decision_id(self.request_id)


Decision = Confirmed | Refused | Cancelled
Record = Request | Cancel | Ask | Release | QuotaChange | Answer | Decision


@dataclass(frozen=True, slots=True)
class Out:
    """One record a stage writes: to ``topic`` under ``key``; ``broadcast`` sends it to every partition."""

    topic: str
    key: str
    value: Record
    broadcast: bool = False
