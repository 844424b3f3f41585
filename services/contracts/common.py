"""Types shared by every domain: the ``Personal`` record, ``Sex``, ``Channel`` and the field rules.

The rules run on both sides of the bus (publish and consume), so a producer in another language that
skips them is caught by the first consumer. Every message names the rule, never the offending value.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field

from services.contracts.base import ContractModel
from services.reference.nik import validate_nik
from services.reference.offices import is_known_office

__all__ = [
    "AVRO_INT_MAX",
    "AVRO_LONG_MAX",
    "Channel",
    "CountryCode",
    "CurrencyCode",
    "DateOfBirth",
    "Nik",
    "NonEmptyStr",
    "OfficeCode",
    "Personal",
    "Phone",
    "PositiveAvroInt",
    "ReasonCode",
    "Sex",
    "SlotTime",
    "matching",
]

AVRO_INT_MAX = 2**31 - 1
AVRO_LONG_MAX = 2**63 - 1
# The calendar runs furthest ahead at UTC+14 (Kiribati): a birth "today" there is still tomorrow in UTC.
_LATEST_UTC_OFFSET = timedelta(hours=14)


def matching(pattern: str, message: str) -> AfterValidator:
    """A validator requiring a full match of ``pattern``; ``message`` never quotes the value."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _check_nik(value: str) -> str:
    validate_nik(value)
    return value


def _check_office(value: str) -> str:
    if not is_known_office(value):
        raise ValueError("not a known office code")
    return value


def _check_not_future(value: date) -> date:
    if value > (datetime.now(UTC) + _LATEST_UTC_OFFSET).date():
        raise ValueError("date of birth is in the future")
    return value


NonEmptyStr = Annotated[str, Field(min_length=1)]
Nik = Annotated[str, AfterValidator(_check_nik)]
Phone = Annotated[str, matching(r"\+[1-9][0-9]{6,14}", "phone must be E.164: '+' and 7 to 15 digits")]
CountryCode = Annotated[
    str, matching(r"[A-Z]{2}", "country must be an ISO 3166-1 alpha-2 code (2 upper-case letters)")
]
CurrencyCode = Annotated[
    str, matching(r"[A-Z]{3}", "currency must be an ISO 4217 code (3 upper-case letters)")
]
OfficeCode = Annotated[str, AfterValidator(_check_office)]
SlotTime = Annotated[str, matching(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", "time must be HH:MM (24-hour clock)")]
ReasonCode = Annotated[
    str,
    matching(
        r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}",
        "reason must be a code: letters, digits, '.', '_', ':', '-', no spaces, at most 64 characters",
    ),
]
DateOfBirth = Annotated[date, AfterValidator(_check_not_future)]
PositiveAvroInt = Annotated[int, Field(ge=1, le=AVRO_INT_MAX)]


class Sex(enum.StrEnum):
    """``id.go.kemlu.bus.common.v1.Sex``: sex as recorded in the population registry."""

    MALE = "MALE"
    FEMALE = "FEMALE"


class Channel(enum.StrEnum):
    """``id.go.kemlu.bus.common.v1.Channel``: how the citizen and the office were in touch."""

    APP = "APP"
    WEB = "WEB"
    WHATSAPP = "WHATSAPP"
    HOTLINE = "HOTLINE"
    EMAIL = "EMAIL"
    WALK_IN = "WALK_IN"
    SOCIAL_MEDIA = "SOCIAL_MEDIA"
    OTHER = "OTHER"


class Personal(ContractModel):
    """``id.go.kemlu.bus.common.v1.Personal``: all personal data of an event, in one encryptable field.

    Everything is optional because each event carries only what it needs (often just the NIK).
    """

    nik: Nik | None = None
    full_name: str | None = None
    date_of_birth: DateOfBirth | None = None
    place_of_birth: str | None = None
    sex: Sex | None = None
    passport_number: str | None = None
    phone: Phone | None = None
    email: str | None = None
    address: str | None = None
    notes: str | None = None

    def is_empty(self) -> bool:
        """True when no field is set: such a record says nothing about anyone."""
        return all(getattr(self, name) is None for name in type(self).model_fields)
