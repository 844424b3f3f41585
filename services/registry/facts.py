"""What the registry keeps from one domain event: an ``Observation`` and the plain facts it carries.

Frozen plain data (no pydantic) with an exact JSON round trip, because records store their contributing
observations in a key-value table and recompute from them when an officer splits a citizen.
Personal values are kept out of ``repr`` so that a stray log line cannot print them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from services.registry.identifiers import best_identifier

__all__ = [
    "PERSONAL_FIELDS",
    "RESIDENCE_FIELDS",
    "CaseFact",
    "CaseStatus",
    "Observation",
    "PassportHeld",
    "Stamp",
    "Status",
    "StayReport",
]

#: Personal fields the registry keeps (``notes`` is case-work free text and stays with the protection case).
PERSONAL_FIELDS = ("nik", "full_name", "date_of_birth", "place_of_birth", "sex", "phone", "email", "address")
RESIDENCE_FIELDS = ("country", "city", "office")

Stamp = tuple[datetime, str, str]
"""(event time, source, event id): the one order of latest-wins, the same whatever the arrival order."""


class Status(enum.StrEnum):
    """Where the citizen is, as far as the offices know."""

    ABROAD = "ABROAD"
    RETURNED = "RETURNED"


class CaseStatus(enum.StrEnum):
    """Whether a protection case is open or closed."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class StayReport:
    """One Lapor Diri: where and since when the citizen said they stay, and under which office reference."""

    office: str
    country: str
    city: str = field(repr=False)
    arrival_date: date
    office_record_ref: str

    @property
    def key(self) -> str:
        """A stay reported again (same office, reference and arrival) replaces the earlier report."""
        return f"{self.office}|{self.office_record_ref}|{self.arrival_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class PassportHeld:
    """A passport the citizen holds; issue data only comes from ``PassportPrinted``.

    ``identifier`` is the hashed ``passport:`` identifier: records key passports by it, not by the number.
    """

    number: str = field(repr=False)
    identifier: str
    issuing_office: str | None = None
    issue_date: date | None = None
    expiry_date: date | None = None

    @property
    def printed(self) -> bool:
        """True once a ``PassportPrinted`` gave the issue data."""
        return self.issue_date is not None


@dataclass(frozen=True, slots=True)
class CaseFact:
    """What one protection event says about its case: status and/or the office holding it."""

    case_id: str
    status: CaseStatus | None
    office: str | None


@dataclass(frozen=True, slots=True)
class Observation:
    """One event as the registry sees it: who (identifiers), when, from whom, and what it says.

    ``identifiers`` are strong and hashed; ``residence`` maps a field to its new value, None meaning the
    field is now unknown (a departure clears the city and office).
    """

    event_id: str
    kind: str
    source: str
    office: str
    time: datetime
    identifiers: frozenset[str]
    weak_keys: frozenset[str] = frozenset()
    personal: Mapping[str, str] = field(default_factory=dict, repr=False)
    residence: Mapping[str, str | None] = field(default_factory=dict, repr=False)
    status: Status | None = None
    stay: StayReport | None = None
    passport: PassportHeld | None = None
    case: CaseFact | None = None

    def __post_init__(self) -> None:
        if not self.identifiers:
            raise ValueError(f"observation {self.event_id} has no strong identifier")
        if self.time.tzinfo is None:
            raise ValueError(f"observation {self.event_id} has a naive time")

    @property
    def best(self) -> str:
        """The identifier the observation is routed by (its citizen owns it, whatever else was split off)."""
        return best_identifier(self.identifiers)

    @property
    def stamp(self) -> Stamp:
        """The observation's place in latest-wins order."""
        return (self.time, self.source, self.event_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; ``from_dict`` gives back an equal observation."""
        stay, passport, case = self.stay, self.passport, self.case
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "source": self.source,
            "office": self.office,
            "time": self.time.isoformat(),
            "identifiers": sorted(self.identifiers),
            "weak_keys": sorted(self.weak_keys),
            "personal": dict(sorted(self.personal.items())),
            "residence": dict(sorted(self.residence.items())),
            "status": None if self.status is None else self.status.value,
            "stay": None
            if stay is None
            else {
                "office": stay.office,
                "country": stay.country,
                "city": stay.city,
                "arrival_date": stay.arrival_date.isoformat(),
                "office_record_ref": stay.office_record_ref,
            },
            "passport": None
            if passport is None
            else {
                "number": passport.number,
                "identifier": passport.identifier,
                "issuing_office": passport.issuing_office,
                "issue_date": _date_text(passport.issue_date),
                "expiry_date": _date_text(passport.expiry_date),
            },
            "case": None
            if case is None
            else {
                "case_id": case.case_id,
                "status": None if case.status is None else case.status.value,
                "office": case.office,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observation:
        """The observation ``to_dict`` wrote, read back."""
        stay, passport, case = data["stay"], data["passport"], data["case"]
        return cls(
            event_id=data["event_id"],
            kind=data["kind"],
            source=data["source"],
            office=data["office"],
            time=datetime.fromisoformat(data["time"]).astimezone(UTC),
            identifiers=frozenset(data["identifiers"]),
            weak_keys=frozenset(data["weak_keys"]),
            personal=dict(data["personal"]),
            residence=dict(data["residence"]),
            status=None if data["status"] is None else Status(data["status"]),
            stay=None
            if stay is None
            else StayReport(
                office=stay["office"],
                country=stay["country"],
                city=stay["city"],
                arrival_date=date.fromisoformat(stay["arrival_date"]),
                office_record_ref=stay["office_record_ref"],
            ),
            passport=None
            if passport is None
            else PassportHeld(
                number=passport["number"],
                identifier=passport["identifier"],
                issuing_office=passport["issuing_office"],
                issue_date=_parse_date(passport["issue_date"]),
                expiry_date=_parse_date(passport["expiry_date"]),
            ),
            case=None
            if case is None
            else CaseFact(
                case_id=case["case_id"],
                status=None if case["status"] is None else CaseStatus(case["status"]),
                office=case["office"],
            ),
        )


def _date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
