"""State the simulated life-cycles share: people, per-office sites, steps and the published event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from services.contracts.base import EventModel
from services.contracts.common import Personal, Sex
from services.reference.offices import Office
from services.sim.data import Country

__all__ = ["Person", "SimulatedEvent", "Site", "Step"]


class Step(NamedTuple):
    """One step of a life-cycle: when, who publishes it, and the event (None makes it a timer)."""

    at: int  # epoch milliseconds
    source: str  # office code
    event: EventModel | None


@dataclass(frozen=True, slots=True)
class SimulatedEvent:
    """One simulated event: the payload, the office or agency publishing it, and when (UTC)."""

    event: EventModel
    source: str
    time: datetime


@dataclass(frozen=True, slots=True)
class Site:
    """Per-office facts computed once: local time, staff size, hotline label, e-passport printing."""

    office: Office
    country: Country
    offset_s: int  # UTC offset at the simulation start; DST drift is ignored on purpose
    staff: int
    hotline: str
    prints_electronic: bool


@dataclass(slots=True)
class Person:
    """A citizen; ``nik`` is None for people born abroad or never registered at home (weak identity)."""

    nik: str | None
    full_name: str
    date_of_birth: date
    place_of_birth: str
    sex: Sex
    email: str
    phone: str | None = None
    passport_number: str | None = None
    country: str | None = None  # where the person stays now; None while at home
    slot: int = -1  # index in the engine's resident list of ``country``
    home_office: str | None = None  # people without a NIK live abroad for good
    _cached: tuple[tuple[str | None, ...], Personal] | None = None
    _ident: Personal | None = None

    def personal(self) -> Personal:
        """Everything the registering office knows about the person (cached: models are immutable)."""
        key = (self.phone, self.email, self.passport_number)
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, self._build())
        return self._cached[1]

    def _build(self) -> Personal:
        return Personal(
            nik=self.nik,
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            place_of_birth=self.place_of_birth,
            sex=self.sex,
            passport_number=self.passport_number,
            phone=self.phone,
            email=self.email,
        )

    def ident(self, **changes: str) -> Personal:
        """The identifying minimum (the NIK, else name and birth) plus ``changes``.

        Citizen events are keyed by HMAC(NIK) when ``personal.nik`` is set, so every event about a NIK
        holder carries it: otherwise a follow-up would land under another key and lose its order.
        """
        if not changes:
            if self._ident is None:
                self._ident = self._identify()
            return self._ident
        return self._identify(**changes)

    def _identify(self, **changes: str) -> Personal:
        if self.nik is not None:
            return Personal(nik=self.nik, **changes)
        return Personal(
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            place_of_birth=self.place_of_birth,
            **changes,
        )
