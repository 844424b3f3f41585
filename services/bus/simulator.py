"""A deterministic, pure generator of realistic bus traffic (no Kafka, no I/O, no clock reads).

Demos, load tests and the dashboards need traffic whose *stories* hold together: a citizen reports a stay,
moves on and reports again elsewhere under the same NIK; a passport application goes booked -> submitted
-> biometrics -> paid -> printed -> ready -> collected; a protection case is opened, assigned, worked,
maybe transferred or escalated, closed and sometimes reopened. Every life-cycle is a generator that yields
its steps in causal order with non-decreasing times; a heap interleaves them, so the stream as a whole is
in time order and every aggregate's events are too. One ``random.Random(seed)`` drives everything, so a
seed always gives the same stream.
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
import zlib
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

from services.bus.models.base import EventModel
from services.bus.models.citizen import Departed, DetailsChanged, ReturnedHome, StayPurpose, StayReported
from services.bus.models.common import Channel, Personal, Sex
from services.bus.models.passport import (
    ApplicationSubmitted,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    BiometricsCaptured,
    CancellationReason,
    Collected,
    PassportKind,
    PassportPrinted,
    PassportService,
    PaymentMethod,
    PaymentReceived,
    ReadyForPickup,
)
from services.bus.models.protection import (
    CaseAction,
    CaseAssigned,
    CaseCategory,
    CaseClosed,
    CaseEscalated,
    CaseOpened,
    CaseOutcome,
    CaseReopened,
    CaseTransferred,
    CaseUpdated,
    EscalationLevel,
    HotlineCallReceived,
    Urgency,
)
from services.bus.nik import generate_nik
from services.bus.offices import Office, OfficeType, all_offices, get_office, missions
from services.bus.simdata import (
    ASEAN,
    CASE_COUNTRY_WEIGHTS,
    CATEGORY_WEIGHTS,
    COUNTRIES,
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    MIGRANT_COUNTRIES,
    OFFICE_WEIGHTS,
    REGENCY_TOWNS,
    Country,
)

__all__ = ["SimulatedEvent", "TrafficSimulator"]

T = TypeVar("T")
_Step = tuple[int, str, EventModel | None]  # (epoch ms, source office, event or None for a timer)
_Flow = Generator[_Step, None, int]  # a sub-flow returns the time it ended

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_S: Final = 1000
_MIN: Final = 60 * _S
_HOUR: Final = 60 * _MIN
_DAY: Final = 24 * _HOUR
_PWNI, _IMIGRASI, _PUSAT, _PTRI_ASEAN = "kemlu-pwni", "ditjen-imigrasi", "kemlu-pusat", "ptri-asean"
#: Passport fees in rupiah (PP 28/2019): ordinary book and e-passport; missions charge the equivalent.
_FEE_IDR: Final = {PassportKind.ORDINARY: 350_000, PassportKind.ELECTRONIC: 650_000}


@dataclass(frozen=True, slots=True)
class SimulatedEvent:
    """One simulated event: the payload, the office or agency publishing it, and when (UTC)."""

    event: EventModel
    source: str
    time: datetime


@dataclass(slots=True)
class _Site:
    """Per-office facts the flows need, computed once: local time, staff, hotline, printing."""

    office: Office
    country: Country
    offset_s: int  # UTC offset at the simulation start (DST drift is ignored on purpose)
    weekend: frozenset[int]
    staff: int
    hotline: str
    prints_electronic: bool


@dataclass(slots=True)
class _Person:
    """A citizen; ``nik`` is None for people born abroad or never registered at home (weak identity)."""

    nik: str | None
    full_name: str
    date_of_birth: date
    place_of_birth: str
    sex: Sex
    email: str
    phone: str | None = None
    passport_number: str | None = None
    country: str | None = None  # where the person currently stays (None: at home)
    home_office: str | None = None  # fixed country of residence for people without a NIK

    def personal(self) -> Personal:
        """Everything known about the person, as the registering office records it."""
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
        """The identifying minimum (NIK, else name and birth) plus ``changes``; keeps NIK-keyed order."""
        if self.nik is not None:
            return Personal(nik=self.nik, **changes)
        return Personal(
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            place_of_birth=self.place_of_birth,
            **changes,
        )


class TrafficSimulator:
    """Realistic event traffic from all 132 missions and the home agencies, deterministic for a seed.

    ``population`` is the number of citizens cycling between home and abroad; it scales the event rate
    (about 0.2 events per person per simulated day). ``start`` should not lie more than a year ahead of
    the real clock, because models refuse dates of birth in the future. ``office_weights`` overrides the
    relative share of stays (and so of traffic) per office code.
    """

    def __init__(
        self,
        seed: int,
        *,
        start: datetime,
        population: int = 5000,
        office_weights: Mapping[str, float] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if population < 1:
            raise ValueError("population must be at least 1")
        self._rng = random.Random(seed)
        self._run = f"{self._rng.getrandbits(32):08x}"  # keeps ids of different seeds apart
        self._start_ms = int((start - _EPOCH) / timedelta(milliseconds=1))
        self._now = self._start_ms
        self._heap: list[tuple[int, int, _Step, Iterator[_Step]]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._passports = itertools.count(self._rng.randrange(10**6))
        self._sites = {o.code: self._site(o, start) for o in all_offices()}
        weights = {**OFFICE_WEIGHTS, **(office_weights or {})}
        self._stay_offices = [o.code for o in missions() if o.code != _PTRI_ASEAN]
        self._stay_cum = list(itertools.accumulate(weights.get(c, 1.0) for c in self._stay_offices))
        self._by_country: dict[str, list[str]] = {}
        for code in self._stay_offices:
            self._by_country.setdefault(get_office(code).country, []).append(code)
        self._residents: dict[str, list[_Person]] = {}
        self._case_countries = list(CASE_COUNTRY_WEIGHTS)
        self._case_cum = list(itertools.accumulate(CASE_COUNTRY_WEIGHTS.values()))
        for _ in range(population):
            born_abroad = self._rng.random() < 0.1
            self._spawn(self._life(born_abroad, self._start_ms + self._ms(0, 20 * _DAY)))
        self._spawn(self._case_spawner(population))

    @property
    def now(self) -> datetime:
        """Simulated time of the last event handed out (the start before the first batch)."""
        return _EPOCH + timedelta(milliseconds=self._now)

    def next_batch(self, n: int) -> list[SimulatedEvent]:
        """The next ``n`` events in time order; simulated time advances as they are taken."""
        out: list[SimulatedEvent] = []
        heap = self._heap
        while len(out) < n:
            at, _, (_, source, event), flow = heapq.heappop(heap)
            self._now = at
            if event is not None:
                out.append(SimulatedEvent(event, source, _EPOCH + timedelta(milliseconds=at)))
            self._spawn(flow)
        return out

    # -- scheduling and small helpers -------------------------------------------------------------

    def _spawn(self, flow: Iterator[_Step]) -> None:
        step = next(flow, None)
        if step is not None:
            heapq.heappush(self._heap, (step[0], next(self._seq), step, flow))

    def _ms(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)

    def _exp(self, mean_ms: int) -> int:
        return int(self._rng.expovariate(1.0 / mean_ms)) + 1

    def _pick(self, items: Sequence[T]) -> T:
        return items[int(self._rng.random() * len(items))]

    def _weighted(self, items: Sequence[T], cum: Sequence[float]) -> T:
        return self._rng.choices(items, cum_weights=cum)[0]

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{self._run}-{next(self._ids):07d}"

    def _officer(self, code: str, *, senior: bool = False) -> str:
        staff = 3 if senior else self._sites[code].staff
        return f"{code}/{self._rng.randint(1, staff):03d}"

    def _local_date(self, code: str, at: int) -> date:
        return date.fromordinal(_EPOCH_ORDINAL + (at // _S + self._sites[code].offset_s) // 86400)

    def _local_ms(self, code: str, day: date, minute_of_day: int) -> int:
        seconds = (day.toordinal() - _EPOCH_ORDINAL) * 86400 + minute_of_day * 60
        return (seconds - self._sites[code].offset_s) * _S

    def _work(self, code: str, at: int) -> int:
        """The first moment at or after ``at`` when ``code`` is open (08:00-16:00 local, workdays)."""
        site = self._sites[code]
        local_s = at // _S + site.offset_s
        day, second = divmod(local_s, 86400)
        if 8 * 3600 <= second < 16 * 3600 and (day + 3) % 7 not in site.weekend:
            return at
        if second >= 16 * 3600:
            day += 1
        while (day + 3) % 7 in site.weekend:
            day += 1
        opening = day * 86400 + 8 * 3600 + self._rng.randrange(5400) - site.offset_s
        return max(at, opening * _S)

    def _site(self, office: Office, start: datetime) -> _Site:
        offset = ZoneInfo(office.timezone).utcoffset(start.replace(tzinfo=None))
        country = COUNTRIES[office.country]
        staff = {OfficeType.EMBASSY: 25, OfficeType.CONSULATE: 15}.get(office.type, 8)
        if office.code in OFFICE_WEIGHTS and OFFICE_WEIGHTS[office.code] >= 8:
            staff = 60
        digits = zlib.crc32(office.code.encode()) % 10**8
        return _Site(
            office=office,
            country=country,
            offset_s=int(offset.total_seconds()) if offset is not None else 0,
            weekend=country.weekend,
            staff=staff,
            hotline=f"+{country.calling_code}-{digits:08d}",
            prints_electronic=OFFICE_WEIGHTS.get(office.code, 1.0) >= 8,
        )

    def _phone(self, country: str) -> str:
        c = COUNTRIES[country]
        rest = self._rng.randrange(10**c.rest_digits)
        return f"+{c.calling_code}{self._pick(c.mobile_prefixes)}{rest:0{c.rest_digits}d}"

    def _person(self, *, nik: bool, adult: bool = True) -> _Person:
        rng = self._rng
        sex = Sex.FEMALE if rng.random() < 0.55 else Sex.MALE
        today = self._local_date(_PUSAT, self._now)
        age_days = rng.randint(19 * 365, 58 * 365) if adult else rng.randint(400, 30 * 365)
        born = today - timedelta(days=age_days)
        given = self._pick(FEMALE_NAMES if sex is Sex.FEMALE else MALE_NAMES)
        family = self._pick(FAMILY_NAMES[sex])
        shape = rng.random()
        name = given if shape < 0.3 else f"{given} {family}"
        if shape > 0.85:
            name = f"{self._pick(FEMALE_NAMES if sex is Sex.FEMALE else MALE_NAMES)} {name}"
        number = generate_nik(rng, date_of_birth=born, sex=sex.value) if nik else None
        town = REGENCY_TOWNS.get(number[:4], "Jakarta") if number else "Jakarta"
        if number is None or rng.random() < 0.2:
            town = self._pick(list(REGENCY_TOWNS.values()))
        handle = f"{name.split()[0].lower()}.{name.split()[-1].lower()}{rng.randint(1, 99)}"
        domain = self._pick(("gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com", "outlook.com"))
        return _Person(
            nik=number,
            full_name=name,
            date_of_birth=born,
            place_of_birth=town,
            sex=sex,
            email=f"{handle}@{domain}",
            passport_number=self._passport_number(PassportKind.ORDINARY) if nik else None,
        )

    def _passport_number(self, kind: PassportKind) -> str:
        """Unique numbers: a bijective shuffle of a counter over 10^7, behind a letter prefix."""
        serial = (next(self._passports) * 7_654_321 + 1_234_567) % 10**7
        if kind is PassportKind.ELECTRONIC:
            return f"E{self._pick('ABCDH')}{serial:07d}"
        return f"{self._pick('ABCX')}{serial:07d}"

    def _stay_office(self) -> str:
        return self._weighted(self._stay_offices, self._stay_cum)

    def _other_office(self, code: str) -> str | None:
        """Another mission in the same country, if there is one."""
        others = [c for c in self._by_country[get_office(code).country] if c != code]
        return self._pick(others) if others else None

    # -- citizens --------------------------------------------------------------------------------

    def _life(self, born_abroad: bool, at: int) -> Iterator[_Step]:
        """A citizen forever: trips abroad with pauses at home; sometimes replaced by someone new."""
        yield at, "", None
        person = self._person(nik=not born_abroad, adult=not born_abroad)
        while True:
            if person.nik is None:
                office = person.home_office or self._stay_office()
                person.home_office = office
                at = yield from self._weak_stay(person, office, at)
            else:
                at = yield from self._stay(person, self._stay_office(), at)
            at += self._exp(30 * _DAY)
            yield at, "", None
            if person.nik is None or self._rng.random() < 0.3:
                person = self._person(nik=person.nik is not None, adult=person.nik is not None)

    def _reported(self, person: _Person, code: str, ref: str, at: int, arrived: date) -> StayReported:
        rng = self._rng
        site = self._sites[code]
        purpose = self._purpose(code)
        days = {
            StayPurpose.WORK: 730,
            StayPurpose.STUDY: rng.choice((365, 730, 1460)),
            StayPurpose.TOURISM: rng.randint(5, 30),
            StayPurpose.BUSINESS: rng.randint(3, 60),
            StayPurpose.RELIGIOUS: rng.randint(9, 40),
            StayPurpose.OFFICIAL: 1095,
        }.get(purpose)
        leaving = arrived + timedelta(days=days) if days is not None and rng.random() < 0.7 else None
        channel = self._weighted(_STAY_CHANNELS, _STAY_CHANNEL_CUM)
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
            officer_id=self._officer(code) if channel in _STAFF_CHANNELS else None,
            household_size=rng.randint(1, 5) if rng.random() < 0.25 else None,
        )

    def _purpose(self, code: str) -> StayPurpose:
        office = get_office(code)
        if office.type is OfficeType.PERMANENT_MISSION:
            return StayPurpose.OFFICIAL if self._rng.random() < 0.6 else StayPurpose.FAMILY
        table = _MIGRANT_PURPOSES if office.country in MIGRANT_COUNTRIES else _OTHER_PURPOSES
        if office.country == "SA" and self._rng.random() < 0.3:
            return StayPurpose.RELIGIOUS
        return self._weighted(table, _MIGRANT_CUM if table is _MIGRANT_PURPOSES else _OTHER_CUM)

    def _occupation(self, purpose: StayPurpose, country: str) -> str | None:
        if purpose is StayPurpose.WORK:
            jobs = _MIGRANT_JOBS if country in MIGRANT_COUNTRIES else _PROFESSIONAL_JOBS
            return self._pick(jobs)
        return _PURPOSE_OCCUPATION.get(purpose)

    def _arrive(self, person: _Person, code: str) -> None:
        person.country = get_office(code).country
        person.phone = self._phone(person.country)
        self._residents.setdefault(person.country, []).append(person)

    def _stay(self, person: _Person, code: str, at: int) -> _Flow:
        """One registered stay of a NIK holder, possibly moving on to other offices; returns the end."""
        rng = self._rng
        arrived = self._local_date(code, at) - timedelta(days=rng.randint(0, 200))
        while True:
            self._arrive(person, code)
            ref = self._id("LD")
            at = self._work(code, at) if rng.random() < 0.3 else at
            yield at, code, self._reported(person, code, ref, at, arrived)
            if rng.random() < 0.3 and get_office(code).type is not OfficeType.PERMANENT_MISSION:
                self._spawn(self._passport(person, code, at + self._exp(10 * _DAY), None))
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                at += self._exp(6 * _DAY)
                yield at, *self._details_changed(person, code, ref, at)
            at += self._exp(8 * _DAY)
            fate = rng.random()
            if fate < 0.45:  # the record simply lapses: many people never report leaving
                person.country = None
                return at
            destination = "ID" if fate < 0.8 else self._pick(list(self._by_country))
            moving_within = destination == person.country or (fate > 0.92 and self._other_office(code))
            if moving_within:  # moved to another consulate's area: a new registration there
                nxt = self._other_office(code) or code
                at += self._exp(3 * _DAY)
                arrived = self._local_date(nxt, at)
                code = nxt
                continue
            left = self._local_date(code, at)
            yield at, code, Departed(
                office=code,
                office_record_ref=ref,
                personal=person.ident(),
                departure_date=left,
                destination_country=destination,
                channel=self._pick(_SELF_CHANNELS),
            )
            person.country = None
            at += self._ms(6 * _HOUR, 4 * _DAY)
            if destination == "ID":
                yield at, code, ReturnedHome(
                    office=code,
                    office_record_ref=ref,
                    personal=person.ident(),
                    return_date=max(left, self._local_date(_PUSAT, at)),
                    channel=self._pick(_SELF_CHANNELS),
                )
                return at
            code = self._pick(self._by_country[destination])
            arrived = left + timedelta(days=rng.randint(0, 2))

    def _details_changed(self, person: _Person, code: str, ref: str, at: int) -> tuple[str, DetailsChanged]:
        """A change of phone, e-mail, address or city; sometimes keyed in by central staff."""
        rng = self._rng
        site = self._sites[code]
        what = rng.random()
        city = None
        if what < 0.4:
            assert person.country is not None
            person.phone = self._phone(person.country)
            personal = person.ident(phone=person.phone)
        elif what < 0.6:
            person.email = person.email.replace("@", f"{rng.randint(1, 9)}@", 1)
            personal = person.ident(email=person.email)
        else:
            city = self._pick(site.country.cities)
            street = rng.randint(1, 250)
            personal = person.ident(address=f"{street} {self._pick(_STREETS)}, {city}")
        central = rng.random() < 0.05
        source = _PUSAT if central else code
        channel = Channel.EMAIL if central else self._weighted(_STAY_CHANNELS, _STAY_CHANNEL_CUM)
        staff = central or channel in _STAFF_CHANNELS
        return source, DetailsChanged(
            office=code,
            office_record_ref=ref,
            personal=personal,
            city=city,
            channel=channel,
            officer_id=self._officer(source) if staff else None,
        )

    def _weak_stay(self, person: _Person, code: str, at: int) -> _Flow:
        """Someone without a NIK: known only by name and birth, sometimes registered at two offices."""
        rng = self._rng
        self._arrive(person, code)
        ref = self._id("LD")
        arrived = self._local_date(code, at) - timedelta(days=rng.randint(0, 3000))
        yield at, code, self._reported(person, code, ref, at, arrived)
        if rng.random() < 0.5:
            at += self._exp(10 * _DAY)
            yield at, *self._details_changed(person, code, ref, at)
        if rng.random() < 0.35:  # a weak-identity duplicate: the second office cannot know
            second = self._other_office(code) or self._stay_office()
            at += self._exp(15 * _DAY)
            person.phone = self._phone(get_office(second).country) if rng.random() < 0.5 else person.phone
            yield at, second, self._reported(person, second, self._id("LD"), at, arrived)
        return at + self._exp(30 * _DAY)
