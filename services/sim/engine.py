"""The simulator's scheduler and the helpers every life-cycle shares.

A life-cycle is a generator of steps ``(epoch ms, source office, event)``, each at or after the one
before; a heap keyed by (time, sequence) interleaves all of them, so the stream is in time order and so is
every aggregate. A step whose event is None is a timer (a pause or a spawner tick). Times are integer
milliseconds since the epoch, converted to ``datetime`` only when an event is handed out.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import itertools
import math
import random
import zlib
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

from services.contracts.common import Sex
from services.contracts.passport import PassportKind
from services.reference.nik import generate_nik
from services.reference.offices import Office, OfficeType, all_offices, get_office, is_known_office, missions
from services.sim.choices import Table
from services.sim.data import (
    COUNTRIES,
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    OFFICE_WEIGHTS,
    REGENCY_TOWNS,
)
from services.sim.state import Person, SimulatedEvent, Site, Step

__all__ = [
    "DAY",
    "HOUR",
    "IMIGRASI",
    "MIN",
    "PTRI_ASEAN",
    "PUSAT",
    "PWNI",
    "Engine",
    "Flow",
    "Person",
    "SimulatedEvent",
    "Step",
]

T = TypeVar("T")
Flow = Generator[Step, None, int]
"""A sub-flow of a life-cycle; it returns the time it ended."""

MIN: Final = 60_000
HOUR: Final = 60 * MIN
DAY: Final = 24 * HOUR
PWNI, IMIGRASI, PUSAT, PTRI_ASEAN = "kemlu-pwni", "ditjen-imigrasi", "kemlu-pusat", "ptri-asean"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_OPEN_S, _CLOSE_S = 8 * 3600, 16 * 3600


class Engine:
    """Scheduling, ids, clocks, offices and people; the life-cycles are mixins built on it."""

    def __init__(self, seed: int, *, start: datetime, office_weights: Mapping[str, float] | None) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        # Simulation, not security: a seeded, reproducible PRNG is exactly what is wanted here.
        self._rng = random.Random(seed)  # noqa: S311
        self._random = self._rng.random
        self._run = f"{self._rng.getrandbits(32):08x}"  # keeps the ids of different seeds apart
        self._start_ms = (start - _EPOCH) // timedelta(milliseconds=1)
        self._now = self._start_ms
        # Entries are (time << 32 | sequence, step, flow): one int compares faster than a (time, seq) pair,
        # and the sequence keeps ties in scheduling order, which makes the stream deterministic.
        self._heap: list[tuple[int, Step, Iterator[Step]]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._passports = itertools.count(self._rng.randrange(10**7))
        self._sites = {office.code: _site(office, start) for office in all_offices()}
        for code, weight in (office_weights or {}).items():
            if not is_known_office(code) or weight < 0:
                raise ValueError("office_weights needs known office codes and weights >= 0")
        weights = {**OFFICE_WEIGHTS, **(office_weights or {})}
        # PTRI ASEAN sits in Jakarta: nobody registers a stay abroad there.
        stay_offices = [office.code for office in missions() if office.code != PTRI_ASEAN]
        self._stay_table: Table[str] = (
            stay_offices,
            list(itertools.accumulate(weights.get(c, 1.0) for c in stay_offices)),
        )
        self._by_country: dict[str, list[str]] = {}
        for code in stay_offices:
            self._by_country.setdefault(get_office(code).country, []).append(code)
        self._country_tables: dict[str, Table[str]] = {
            country: (codes, list(itertools.accumulate(weights.get(c, 1.0) for c in codes)))
            for country, codes in self._by_country.items()
        }
        self._residents: dict[str, list[Person]] = {}

    @property
    def now(self) -> datetime:
        """Simulated time of the last event handed out (the start before the first batch)."""
        return _EPOCH + timedelta(milliseconds=self._now)

    def next_batch(self, n: int) -> list[SimulatedEvent]:
        """The next ``n`` events in time order; simulated time advances as they are taken.

        The cyclic garbage collector is paused for the batch: generating allocates many small objects
        that all stay alive (queued life-cycles, people, the events handed out), and rescanning them
        again and again finds nothing while costing up to half the throughput.
        """
        out: list[SimulatedEvent] = []
        heap, seq, pop, push = self._heap, self._seq, heapq.heappop, heapq.heappush
        collecting = gc.isenabled()
        gc.disable()
        try:
            while len(out) < n:
                _, (at, source, event), flow = pop(heap)
                self._now = at
                if event is not None:
                    out.append(SimulatedEvent(event, source, _EPOCH + timedelta(milliseconds=at)))
                step = next(flow, None)  # ``_spawn`` inlined: this loop is the hot path
                if step is not None:
                    push(heap, (step[0] << 32 | next(seq) & 0xFFFFFFFF, step, flow))
        finally:
            if collecting:
                gc.enable()
        return out

    # -- scheduling and draws --------------------------------------------------------------------------

    def _spawn(self, flow: Iterator[Step]) -> None:
        """Run ``flow`` up to its next step and queue it."""
        step = next(flow, None)
        if step is not None:
            heapq.heappush(self._heap, (step[0] << 32 | next(self._seq) & 0xFFFFFFFF, step, flow))

    def _int(self, low: int, high: int) -> int:
        """A uniform integer in [low, high] (cheaper than ``randint``, which matters at 20k events/s)."""
        return low + int(self._random() * (high - low + 1))

    def _exp(self, mean_ms: int) -> int:
        """An exponentially distributed wait with mean ``mean_ms``, at least 1 ms."""
        return int(-mean_ms * math.log(1.0 - self._random())) + 1

    def _pick(self, items: Sequence[T]) -> T:
        return items[int(self._random() * len(items))]

    def _weighted(self, choices: Table[T]) -> T:
        items, cum = choices
        return items[bisect.bisect(cum, self._random() * cum[-1], 0, len(cum) - 1)]

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{self._run}-{next(self._ids):07d}"

    def _officer(self, code: str, *, senior: bool = False) -> str:
        return f"{code}/{self._int(1, 3 if senior else self._sites[code].staff):03d}"

    # -- clocks ----------------------------------------------------------------------------------------

    def _local_date(self, code: str, at: int) -> date:
        return date.fromordinal(_EPOCH_ORDINAL + (at // 1000 + self._sites[code].offset_s) // 86400)

    def _local_ms(self, code: str, day: date, minute_of_day: int) -> int:
        seconds = (day.toordinal() - _EPOCH_ORDINAL) * 86400 + minute_of_day * 60
        return (seconds - self._sites[code].offset_s) * 1000

    def _work(self, code: str, at: int) -> int:
        """The first moment at or after ``at`` when ``code`` is open (08:00-16:00 local on workdays)."""
        site = self._sites[code]
        day, second = divmod(at // 1000 + site.offset_s, 86400)
        weekend = site.country.weekend
        if _OPEN_S <= second < _CLOSE_S and (day + 3) % 7 not in weekend:  # 1970-01-01 was a Thursday
            return at
        if second >= _CLOSE_S:
            day += 1
        while (day + 3) % 7 in weekend:
            day += 1
        opening = day * 86400 + _OPEN_S + self._int(0, 5399) - site.offset_s
        return max(at, opening * 1000)

    # -- offices and people ----------------------------------------------------------------------------

    def _stay_office(self) -> str:
        return self._weighted(self._stay_table)

    def _office_in(self, country: str) -> str | None:
        """A mission in ``country`` chosen by weight, or None if Indonesia has none there."""
        table = self._country_tables.get(country)
        return self._weighted(table) if table else None

    def _other_office(self, code: str) -> str | None:
        """Another mission in the same country, if there is one."""
        others = [c for c in self._by_country[self._sites[code].office.country] if c != code]
        return self._pick(others) if others else None

    def _phone(self, country: str) -> str:
        plan = COUNTRIES[country]
        rest = self._int(0, 10**plan.rest_digits - 1)
        return f"+{plan.calling_code}{self._pick(plan.mobile_prefixes)}{rest:0{plan.rest_digits}d}"

    def _arrive(self, person: Person, code: str) -> None:
        """``person`` now stays in the office's country, reachable on a local number."""
        self._leave(person)
        country = self._sites[code].office.country
        residents = self._residents.setdefault(country, [])
        person.country, person.slot, person.phone = country, len(residents), self._phone(country)
        residents.append(person)

    def _leave(self, person: Person) -> None:
        if person.country is None:
            return
        residents = self._residents[person.country]
        last = residents.pop()
        if last is not person:
            residents[person.slot] = last
            last.slot = person.slot
        person.country, person.slot = None, -1

    def _person(self, *, nik: bool) -> Person:
        """A new adult citizen: with a NIK, or (without one) typically someone born abroad."""
        rng = self._rng
        sex = Sex.FEMALE if rng.random() < 0.55 else Sex.MALE
        # Ages count from the simulation start, not from simulated "now": a long run outpaces the real
        # clock, and the models refuse a date of birth later than the real today.
        age = self._int(19 * 365, 58 * 365) if nik else self._int(17 * 365, 45 * 365)
        born = self._local_date(PUSAT, self._start_ms) - timedelta(days=age)
        given = FEMALE_NAMES if sex is Sex.FEMALE else MALE_NAMES
        shape = rng.random()
        name = self._pick(given) if shape < 0.3 else f"{self._pick(given)} {self._pick(FAMILY_NAMES[sex])}"
        if shape > 0.85:
            name = f"{self._pick(given)} {name}"
        number = generate_nik(rng, date_of_birth=born, sex=sex.value) if nik else None
        town = REGENCY_TOWNS[number[:4]] if number else ""
        if not town or rng.random() < 0.2:
            town = self._pick(_TOWNS)
        words = name.lower().split()
        domain = self._pick(("gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com", "outlook.com"))
        return Person(
            nik=number,
            full_name=name,
            date_of_birth=born,
            place_of_birth=town,
            sex=sex,
            email=f"{'.'.join(dict.fromkeys((words[0], words[-1])))}{self._int(1, 99)}@{domain}",
            passport_number=self._passport_number(PassportKind.ORDINARY) if nik else None,
        )

    def _passport_number(self, kind: PassportKind) -> str:
        """Unique numbers: a bijective shuffle of a counter over 10^7 behind a letter prefix."""
        serial = (next(self._passports) * 7_654_321 + 1_234_567) % 10**7
        if kind is PassportKind.ELECTRONIC:
            return f"E{self._pick('ABCDH')}{serial:07d}"
        return f"{self._pick('ABCX')}{serial:07d}"


_TOWNS: Final = tuple(sorted(set(REGENCY_TOWNS.values())))


def _site(office: Office, start: datetime) -> Site:
    offset = start.astimezone(ZoneInfo(office.timezone)).utcoffset()
    weight = OFFICE_WEIGHTS.get(office.code, 1.0)
    immigration = office.type is OfficeType.IMMIGRATION_OFFICE  # prints both kinds of passport itself
    staff = 60 if weight >= 8 else {OfficeType.EMBASSY: 25, OfficeType.CONSULATE: 15}.get(office.type, 10)
    staff = 40 if immigration else staff
    country = COUNTRIES[office.country]
    return Site(
        office=office,
        country=country,
        offset_s=int(offset.total_seconds()) if offset is not None else 0,
        staff=staff,
        hotline=f"+{country.calling_code}-{zlib.crc32(office.code.encode()) % 10**8:08d}",
        prints_electronic=weight >= 8 or immigration,
    )
