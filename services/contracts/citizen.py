"""Events of the ``citizen`` topic: a citizen's stay abroad as the offices record it (Lapor Diri).

Keyed by HMAC(NIK) or, without a NIK, by the registering office's own record reference (``keys.py``).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import ClassVar, Self

from pydantic import ValidationInfo, field_validator, model_validator

from services.contracts.base import EventModel
from services.contracts.common import (
    Channel,
    CountryCode,
    NonEmptyStr,
    OfficeCode,
    Personal,
    PositiveAvroInt,
)

__all__ = ["CitizenEvent", "Departed", "DetailsChanged", "ReturnedHome", "StayPurpose", "StayReported"]

_NAMESPACE = "id.go.kemlu.bus.citizen.v1"


class StayPurpose(enum.StrEnum):
    """``id.go.kemlu.bus.citizen.v1.StayPurpose``; the reader maps symbols added later to OTHER."""

    WORK = "WORK"
    STUDY = "STUDY"
    FAMILY = "FAMILY"
    TOURISM = "TOURISM"
    BUSINESS = "BUSINESS"
    RELIGIOUS = "RELIGIOUS"
    OFFICIAL = "OFFICIAL"
    OTHER = "OTHER"


class CitizenEvent(EventModel):
    """An event of the citizen topic."""

    TOPIC: ClassVar[str] = "citizen"


class StayReported(CitizenEvent):
    """A citizen reported their stay abroad (Lapor Diri); mirrors revision 2 of the contract."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.StayReported"

    office: OfficeCode
    office_record_ref: NonEmptyStr
    personal: Personal
    country: CountryCode
    city: NonEmptyStr
    purpose: StayPurpose
    occupation: str | None = None
    arrival_date: date
    expected_departure_date: date | None = None
    channel: Channel
    officer_id: NonEmptyStr | None = None
    household_size: PositiveAvroInt | None = None

    @field_validator("expected_departure_date")
    @classmethod
    def _not_before_arrival(cls, value: date | None, info: ValidationInfo) -> date | None:
        """A departure before the arrival is a data-entry slip, caught before it reaches every view."""
        arrival = info.data.get("arrival_date")
        if value is not None and isinstance(arrival, date) and value < arrival:
            raise ValueError("expected departure is before the arrival date")
        return value


class DetailsChanged(CitizenEvent):
    """A registered citizen's details changed; a null field means unchanged."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.DetailsChanged"

    office: OfficeCode
    office_record_ref: NonEmptyStr
    personal: Personal
    country: CountryCode | None = None
    city: NonEmptyStr | None = None
    channel: Channel
    officer_id: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        """An event in which every field is null would be replayed forever while meaning nothing."""
        if self.personal.is_empty() and self.country is None and self.city is None:
            raise ValueError("a details change must change at least one field")
        return self


class Departed(CitizenEvent):
    """A registered citizen left the country of stay (destination ``ID`` means going home)."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.Departed"

    office: OfficeCode
    office_record_ref: NonEmptyStr
    personal: Personal | None = None
    departure_date: date
    destination_country: CountryCode
    channel: Channel
    officer_id: NonEmptyStr | None = None


class ReturnedHome(CitizenEvent):
    """A registered citizen arrived back in Indonesia for good."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.ReturnedHome"

    office: OfficeCode
    office_record_ref: NonEmptyStr
    personal: Personal | None = None
    return_date: date
    channel: Channel
    officer_id: NonEmptyStr | None = None
