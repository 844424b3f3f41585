"""The citizen life-cycle: trips abroad registered by Lapor Diri, details changing, moves between offices
and countries, departures and returns; plus people without a NIK, known only by name and birth.

A NIK holder keeps the same NIK across offices (the repeat reports the views must join); someone without
one may be registered by two offices that cannot know it is the same person (a weak-identity duplicate).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Final

from services.contracts.citizen import Departed, DetailsChanged, ReturnedHome, StayPurpose, StayReported
from services.contracts.common import Channel
from services.reference.offices import OfficeType
from services.sim import choices
from services.sim.data import MIGRANT_COUNTRIES
from services.sim.engine import DAY, HOUR, PUSAT, Flow, Person, Step
from services.sim.passports import PassportFlows

#: Planned length of stay in days (low, high) by purpose, for ``expected_departure_date``.
_STAY_DAYS: Final[dict[StayPurpose, tuple[int, int]]] = {
    StayPurpose.WORK: (730, 730),  # the standard two-year contract
    StayPurpose.STUDY: (365, 1460),
    StayPurpose.TOURISM: (5, 30),
    StayPurpose.BUSINESS: (3, 60),
    StayPurpose.RELIGIOUS: (9, 40),  # umrah packages
    StayPurpose.OFFICIAL: (1095, 1460),  # a posting
}


class CitizenFlows(PassportFlows):
    """Citizens cycling between home and abroad."""

    def _life(self, person: Person, at: int) -> Iterator[Step]:
        """A citizen forever: stays abroad with pauses at home; now and then replaced by someone new."""
        yield Step(at, "", None)
        while True:
            if person.nik is None:
                if person.home_office is None:
                    person.home_office = self._stay_office()
                    if self._rng.random() < 0.7:  # born in the country they live in
                        person.place_of_birth = self._pick(self._sites[person.home_office].country.cities)
                at = yield from self._weak_stay(person, person.home_office, at)
            else:
                at = yield from self._stay(person, self._stay_office(), at)
            at += self._exp(30 * DAY)
            yield Step(at, "", None)
            if person.nik is None or self._rng.random() < 0.3:
                self._leave(person)
                person = self._person(nik=person.nik is not None)

    def _stay(self, person: Person, code: str, at: int) -> Flow:
        """A NIK holder's stay, possibly moving on to other offices; returns when it ends."""
        rng = self._rng
        arrived = self._local_date(code, at) - timedelta(days=self._int(0, 200))
        while True:
            self._arrive(person, code)
            ref = self._id("LD")
            at = self._work(code, at) if rng.random() < 0.3 else at
            yield Step(at, code, self._reported(person, code, ref, arrived))
            if rng.random() < 0.45 and self._sites[code].office.type is not OfficeType.PERMANENT_MISSION:
                self._spawn(self._passport(person, code, at + self._exp(10 * DAY), None))
            for _ in range(self._pick((0, 0, 1, 1, 2))):
                at += self._exp(6 * DAY)
                yield Step(at, *self._details_changed(person, code, ref))
            at += self._exp(8 * DAY)
            fate = rng.random()
            if fate < 0.4:  # the record lapses: many people never report leaving
                self._leave(person)
                return at
            if fate > 0.9 and (nearby := self._other_office(code)):  # moved within the country
                at += self._exp(3 * DAY)
                code, arrived = nearby, self._local_date(nearby, at)
                continue
            destination = "ID" if fate < 0.75 else self._pick(list(self._by_country))
            if destination == person.country:
                destination = "ID"
            left = self._local_date(code, at)
            departed = Departed(
                office=code,
                office_record_ref=ref,
                personal=person.ident(),
                departure_date=left,
                destination_country=destination,
                channel=self._pick(choices.SELF_CHANNELS),
            )
            yield Step(at, code, departed)
            self._leave(person)
            at += self._int(6 * HOUR, 4 * DAY)
            if destination == "ID":
                returned = ReturnedHome(
                    office=code,
                    office_record_ref=ref,
                    personal=person.ident(),
                    return_date=max(left, self._local_date(PUSAT, at)),
                    channel=self._pick(choices.SELF_CHANNELS),
                )
                yield Step(at, code, returned)
                return at
            code = self._office_in(destination) or self._stay_office()
            arrived = left + timedelta(days=self._int(0, 2))

    def _weak_stay(self, person: Person, code: str, at: int) -> Flow:
        """Someone without a NIK; a third are registered again by a second office (a duplicate)."""
        rng = self._rng
        self._arrive(person, code)
        ref = self._id("LD")
        arrived = self._local_date(code, at) - timedelta(days=self._int(0, 3000))
        yield Step(at, code, self._reported(person, code, ref, arrived))
        if rng.random() < 0.5:
            at += self._exp(10 * DAY)
            yield Step(at, *self._details_changed(person, code, ref))
        if rng.random() < 0.2 and self._sites[code].office.type is not OfficeType.PERMANENT_MISSION:
            self._spawn(self._passport(person, code, at + self._exp(10 * DAY), None))
        if rng.random() < 0.35:
            second = self._other_office(code) or self._stay_office()
            at += self._exp(15 * DAY)
            if self._sites[second].office.country != person.country or rng.random() < 0.5:
                self._arrive(person, second)  # a new local number: harder to match
            yield Step(at, second, self._reported(person, second, self._id("LD"), arrived))
        return at + self._exp(30 * DAY)

    def _reported(self, person: Person, code: str, ref: str, arrived: date) -> StayReported:
        rng = self._rng
        site = self._sites[code]
        purpose = self._purpose(code)
        span = _STAY_DAYS.get(purpose)
        leaving = arrived + timedelta(days=self._int(*span)) if span and rng.random() < 0.7 else None
        channel = self._weighted(choices.STAY_CHANNELS)
        return StayReported(
            office=code,
            office_record_ref=ref,
            personal=person.personal(),
            country=site.office.country,
            city=self._pick(site.country.cities) if rng.random() < 0.3 else site.office.city,
            purpose=purpose,
            occupation=self._occupation(purpose, site.office.country),
            arrival_date=arrived,
            expected_departure_date=leaving,
            channel=channel,
            officer_id=self._officer(code) if channel in choices.STAFF_CHANNELS else None,
            household_size=self._int(1, 5) if rng.random() < 0.25 else None,
        )

    def _purpose(self, code: str) -> StayPurpose:
        office = self._sites[code].office
        if office.type is OfficeType.PERMANENT_MISSION:
            return StayPurpose.OFFICIAL if self._rng.random() < 0.6 else StayPurpose.FAMILY
        if office.country == "SA" and self._rng.random() < 0.3:  # umrah pilgrims
            return StayPurpose.RELIGIOUS
        migrant = office.country in MIGRANT_COUNTRIES
        return self._weighted(choices.MIGRANT_PURPOSES if migrant else choices.OTHER_PURPOSES)

    def _occupation(self, purpose: StayPurpose, country: str) -> str | None:
        if purpose is StayPurpose.WORK:
            return self._pick(
                choices.MIGRANT_JOBS if country in MIGRANT_COUNTRIES else choices.PROFESSIONAL_JOBS
            )
        return choices.PURPOSE_OCCUPATION.get(purpose)

    def _details_changed(self, person: Person, code: str, ref: str) -> tuple[str, DetailsChanged]:
        """A new phone, e-mail or address (with its city); now and then keyed in by central staff."""
        rng = self._rng
        what = rng.random()
        city = None
        if what < 0.4:
            person.phone = self._phone(self._sites[code].office.country)
            personal = person.ident(phone=person.phone)
        elif what < 0.6:
            person.email = person.email.replace("@", f"{self._int(1, 9)}@", 1)
            personal = person.ident(email=person.email)
        else:
            city = self._pick(self._sites[code].country.cities)
            address = f"{self._int(1, 250)} {self._pick(choices.STREETS)}, {city}"
            personal = person.ident(address=address)
        central = rng.random() < 0.05
        source = PUSAT if central else code
        channel = Channel.EMAIL if central else self._weighted(choices.STAY_CHANNELS)
        return source, DetailsChanged(
            office=code,
            office_record_ref=ref,
            personal=personal,
            city=city,
            channel=channel,
            officer_id=self._officer(source) if central or channel in choices.STAFF_CHANNELS else None,
        )
