"""``CitizenRecordModel``: the golden record on the compacted topic ``registry.citizens``, and its parts.

It mirrors ``services.registry.golden.golden`` field by field (``services.registry.mapping`` builds it from
there). All personal data, the passports held included, is in the one field ``personal``, so it can be
encrypted per citizen or withheld; everything else is ids, offices, places of stay and times.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any, ClassVar, Self

from pydantic import model_validator

from services.contracts.base import ContractModel
from services.contracts.common import CountryCode, DateOfBirth, Nik, NonEmptyStr, OfficeCode, Phone, Sex
from services.contracts.registry_fields import NAMESPACE, CitizenId, Count, Timestamp, ViewModel

__all__ = [
    "PROVENANCE_KEYS",
    "CaseStatus",
    "CitizenPersonal",
    "CitizenRecordModel",
    "CitizenStatus",
    "HeldPassport",
    "ProtectionCase",
    "Provenance",
    "Residence",
    "Stay",
]


class CitizenStatus(enum.StrEnum):
    """``id.go.kemlu.bus.registry.v1.CitizenStatus``; the registry writes ABROAD or RETURNED."""

    ABROAD = "ABROAD"
    RETURNED = "RETURNED"
    OTHER = "OTHER"


class CaseStatus(enum.StrEnum):
    """``id.go.kemlu.bus.registry.v1.CaseStatus``; the registry writes OPEN or CLOSED."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    OTHER = "OTHER"


class Residence(ContractModel):
    """Current country, city and office of residence; None when unknown."""

    country: CountryCode | None = None
    city: NonEmptyStr | None = None
    office: OfficeCode | None = None


class HeldPassport(ContractModel):
    """A passport of the citizen (personal data: it lives inside ``CitizenPersonal``)."""

    number: NonEmptyStr
    issuing_office: OfficeCode | None = None
    issue_date: date | None = None
    expiry_date: date | None = None
    event_id: NonEmptyStr


class CitizenPersonal(ContractModel):
    """All personal data of a golden record, passports included: one field to encrypt or shred."""

    nik: Nik | None = None
    full_name: str | None = None
    date_of_birth: DateOfBirth | None = None
    place_of_birth: str | None = None
    sex: Sex | None = None
    phone: Phone | None = None
    email: str | None = None
    address: str | None = None
    passports: tuple[HeldPassport, ...]


class Provenance(ContractModel):
    """The event a field's value comes from."""

    source: OfficeCode
    office: OfficeCode
    event_id: NonEmptyStr
    time: Timestamp


class Stay(ContractModel):
    """One reported stay abroad."""

    office: OfficeCode
    country: CountryCode
    city: NonEmptyStr
    arrival_date: date
    office_record_ref: NonEmptyStr
    event_id: NonEmptyStr


class ProtectionCase(ContractModel):
    """Status and holding office of a protection case about the citizen."""

    case_id: NonEmptyStr
    status: CaseStatus | None = None
    office: OfficeCode | None = None


#: Provenance keys: a path to a single-valued field of the record.
PROVENANCE_KEYS = frozenset(
    {"status"}
    | {f"residence.{name}" for name in Residence.model_fields}
    | {f"personal.{name}" for name in CitizenPersonal.model_fields if name != "passports"}
)


class CitizenRecordModel(ViewModel):
    """``CitizenRecord``: the golden record on ``registry.citizens`` (or where a merged id went)."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.CitizenRecord"
    TOPIC: ClassVar[str] = "registry.citizens"

    citizen_id: CitizenId
    merged_into: CitizenId | None = None
    status: CitizenStatus | None = None
    residence: Residence
    personal: CitizenPersonal | None = None
    provenance: dict[str, Provenance]
    stays: tuple[Stay, ...]
    cases: tuple[ProtectionCase, ...]
    open_cases: tuple[str, ...]
    offices: tuple[OfficeCode, ...]
    first_seen: Timestamp | None = None
    updated_at: Timestamp | None = None
    observations: Count

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """A merged id is a pointer and nothing else; a live record has its provenance paths and times."""
        if not self.provenance.keys() <= PROVENANCE_KEYS:
            raise ValueError("provenance keys must be paths of single-valued fields of the record")
        if self.merged_into is not None:
            if self.merged_into == self.citizen_id:
                raise ValueError("a citizen id cannot be merged into itself")
            if any(getattr(self, name) != value for name, value in _MERGED_REST.items()):
                raise ValueError("a merged citizen id carries nothing but merged_into")
        elif self.observations < 1 or self.first_seen is None or self.updated_at is None:
            raise ValueError("a live citizen record needs its observations and first and last times")
        elif self.first_seen > self.updated_at:
            raise ValueError("first_seen is after updated_at")
        return self

    @classmethod
    def merged(cls, citizen_id: str, merged_into: str) -> CitizenRecordModel:
        """The record left under an id that was merged or renamed into ``merged_into``."""
        return cls(citizen_id=citizen_id, merged_into=merged_into, **_MERGED_REST)


_MERGED_REST: dict[str, Any] = {
    "status": None,
    "residence": Residence(),
    "personal": None,
    "provenance": {},
    "stays": (),
    "cases": (),
    "open_cases": (),
    "offices": (),
    "first_seen": None,
    "updated_at": None,
    "observations": 0,
}
"""Every field of a merged id's record but the two ids: empty."""
