"""Reference data: Indonesia's representative offices abroad, the home agencies and the home Immigration
offices (kantor imigrasi) that take passport applications.

Office codes are the identity every event, topic header and dashboard uses for "who did this", so they
live in one versioned CSV shipped as package data instead of being scattered through the code. The
network (95 embassies, 34 consulates, 3 permanent missions) changes rarely; when it does, edit
``offices.csv`` and never reuse or rename a code, because old events keep referring to it. Immigration
offices are ``kanim-<city or area>`` rows of type IMMIGRATION_OFFICE, appended at the end (README, "Passport
service", says how to add one).
"""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "Office",
    "OfficeType",
    "agencies",
    "all_offices",
    "get_office",
    "immigration_offices",
    "is_known_office",
    "missions",
    "offices_in",
]


class OfficeType(enum.StrEnum):
    """What kind of office it is; missions are the offices abroad (and PTRI ASEAN), not AGENCY offices nor
    the Immigration offices at home (IMMIGRATION_OFFICE, which take passport applications).
    """

    EMBASSY = "EMBASSY"
    CONSULATE = "CONSULATE"
    PERMANENT_MISSION = "PERMANENT_MISSION"
    AGENCY = "AGENCY"
    IMMIGRATION_OFFICE = "IMMIGRATION_OFFICE"


@dataclass(frozen=True, slots=True)
class Office:
    """One office that can publish to the bus.

    ``country`` is ISO 3166-1 alpha-2 of where the office sits (PTRI ASEAN and the agencies are in ID);
    ``timezone`` is the IANA zone used to place local office hours.
    """

    code: str
    type: OfficeType
    name: str
    city: str
    country: str
    timezone: str

    @property
    def is_mission(self) -> bool:
        """True for offices abroad (and PTRI ASEAN), False for home agencies and Immigration offices."""
        return self.type not in {OfficeType.AGENCY, OfficeType.IMMIGRATION_OFFICE}


@cache
def all_offices() -> tuple[Office, ...]:
    """Every known office, in file order (missions, then agencies, then Immigration offices)."""
    text = resources.files(__package__ or "services.reference").joinpath("offices.csv").read_text("utf-8")
    return tuple(
        Office(
            code=row["code"],
            type=OfficeType(row["type"]),
            name=row["name"],
            city=row["city"],
            country=row["country"],
            timezone=row["timezone"],
        )
        for row in csv.DictReader(io.StringIO(text))
    )


@cache
def _by_code() -> dict[str, Office]:
    return {office.code: office for office in all_offices()}


def get_office(code: str) -> Office:
    """The office with this code; raises KeyError for an unknown code."""
    return _by_code()[code]


def is_known_office(code: str) -> bool:
    """Whether ``code`` names an office on the bus (missions and agencies)."""
    return code in _by_code()


@cache
def missions() -> tuple[Office, ...]:
    """The 132 representative offices (embassies, consulates, permanent missions)."""
    return tuple(office for office in all_offices() if office.is_mission)


@cache
def agencies() -> tuple[Office, ...]:
    """Home agencies (immigration's passport service, the PWNI directorate, central staff tools)."""
    return tuple(office for office in all_offices() if office.type is OfficeType.AGENCY)


@cache
def immigration_offices() -> tuple[Office, ...]:
    """The home Immigration offices (kantor imigrasi) that take passport applications, in file order."""
    return tuple(office for office in all_offices() if office.type is OfficeType.IMMIGRATION_OFFICE)


@cache
def offices_in(country: str) -> tuple[Office, ...]:
    """Missions located in ``country`` (ISO alpha-2), embassy first; empty if there is none."""
    found = [office for office in missions() if office.country == country]
    return tuple(sorted(found, key=lambda office: office.type is not OfficeType.EMBASSY))
