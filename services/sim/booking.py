"""Fair booking traffic: offices' quotas, citizens' appointment requests, touts and rushes.

The passport service decides every request itself (``services.passport``); the simulator only publishes
what offices and channels send: ``QuotaSet`` on ``passport.quotas`` (keyed by office), and
``AppointmentRequested`` / ``CancellationRequested`` on ``passport`` (keyed by application id, like every
passport event), never a decision. Because it cannot see the decisions, it keeps a rough shadow of the
service's rules (quota per office-day, one booking per citizen, the per-phone limit, identity) and carries
an application on to the counter (``ApplicationSubmitted`` ... ``Collected``, ``ActionRequired``,
``ApplicationRefused``) only when its request would plausibly be confirmed. Requests the service is bound
to refuse end there: a tout's (calo's) requests, duplicates, requests naming someone else, requests without
NIK or passport number, and requests for a day the shadow counts full.

- Quotas: every office that takes passport applications (missions abroad but the permanent missions, and
  the ``kanim-*`` Immigration offices) sets a daily capacity per service, from its local today, as it
  opens: just before its first request, so as the run starts; now and then one office changes one (from a
  day a little ahead).
- Requests: a steady stream, about two-thirds at Immigration offices at home (new people), a third at
  missions (their residents); the wished day is one of the next working days, today for a walk-in.
- Touts: a phone sending 8-16 requests for as many citizens within a few hours (the service's limit is 5
  per phone per 24 h, so the rest are refused TOO_MANY_REQUESTS).
- Rushes: a popular office (``POPULAR``) gets 1.5-2.5 times its quota for one day within a morning.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Final

from services.bus.keys import keyed_hash
from services.bus.settings import BusSettings
from services.contracts.common import Channel, Personal
from services.contracts.passport import (
    ApplicationSubmitted,
    BiometricsCaptured,
    CancellationReason,
    PassportKind,
    PassportService,
)
from services.contracts.passport_booking import (
    ActionRequired,
    ApplicationRefused,
    AppointmentRequested,
    CancellationRequested,
    QuotaSet,
    booking_code,
)
from services.reference.offices import OfficeType, immigration_offices, missions
from services.sim import choices
from services.sim.engine import DAY, HOUR, MIN, Flow, Person, Step
from services.sim.passports import PassportFlows

__all__ = ["PHONE_LIMIT", "POPULAR", "BookingFlows", "default_pseudonym"]

#: The service's per-phone limit (``services.passport.phones.PhoneLimit``): 5 requests per 24 hours.
PHONE_LIMIT: Final = 5
#: Offices far more people want than they can take; each rush asks 1.5-2.5 times a day's quota.
POPULAR: Final = ("kanim-jakarta-selatan", "kanim-surabaya", "kbri-kuala-lumpur", "kjri-hong-kong")
_BUSY_KANIM: Final = frozenset(
    {"kanim-jakarta-pusat", "kanim-jakarta-barat", "kanim-soekarno-hatta", "kanim-medan", "kanim-batam"}
)
#: Daily capacity as a share of the office's NEW capacity, per service.
_SERVICE_SHARE: Final = {
    PassportService.NEW: 1.0,
    PassportService.RENEWAL: 0.8,
    PassportService.REPLACEMENT_LOST: 0.15,
    PassportService.REPLACEMENT_DAMAGED: 0.1,
}
_REQUEST_CHANNELS: Final = choices.table(
    {Channel.APP: 40, Channel.WEB: 25, Channel.WHATSAPP: 20, Channel.WALK_IN: 15}
)
_ACTIONS: Final = (
    "BRING_BIRTH_CERTIFICATE",
    "BRING_FAMILY_CARD",
    "BRING_OLD_PASSPORT",
    "SECOND_INTERVIEW",
    "PHOTO_RETAKE",
)
_REFUSALS: Final = ("DOCUMENTS_INVALID", "DATA_MISMATCH", "TRAVEL_BAN", "IDENTITY_DOUBT")
#: Mean gaps at a population of 5,000; they scale with the population like the rest of the traffic.
_REQUEST_GAP: Final = DAY // 8
_TOUT_GAP: Final = 4 * DAY
_RUSH_GAP: Final = 7 * DAY
_QUOTA_GAP: Final = 2 * DAY
_POPULATION: Final = 5000

Pseudonym = Callable[[str], str]
Wish = tuple[date, PassportService, Channel]


def default_pseudonym() -> Pseudonym:
    """``keyed_hash`` under the bus's default (development) citizen key, as the services use by default."""
    secret = BusSettings.model_fields["citizen_key"].default.get_secret_value().encode()
    return lambda value: keyed_hash(value, secret)


def _passport_offices() -> tuple[str, ...]:
    abroad = [o.code for o in missions() if o.type is not OfficeType.PERMANENT_MISSION]
    return (*abroad, *(o.code for o in immigration_offices()))


class BookingFlows(PassportFlows):
    """Quotas, requests, touts and rushes for the passport service; see the module's docstring."""

    def _start_booking(self, population: int, pseudonym: Pseudonym | None) -> None:
        """Queue the request, tout, rush and quota-change spawners (offices set quotas as they open)."""
        self._pseudonym = pseudonym or default_pseudonym()
        self._booking_offices = _passport_offices()
        self._kanim = tuple(o.code for o in immigration_offices())
        self._abroad = tuple(c for c in self._booking_offices if not c.startswith("kanim-"))
        self._quotas: dict[tuple[str, PassportService], dict[date, int]] = {}
        self._taken: Counter[tuple[str, date, PassportService]] = Counter()
        self._active: dict[str, date] = {}  # citizen -> day of the booking the shadow holds for them
        self._opened: dict[str, None] = {}  # offices whose quotas are set, in the order they were
        # Booking draws from its own generator, ids and passport numbers (derived from the run's tag, which
        # the seed fixes): the rest of the traffic is exactly what it was without it, plus these events.
        rng = random.Random(f"booking-{self._run}")  # noqa: S311 - simulation, not security
        self._booking_draws = (rng, rng.random, itertools.count(1), itertools.count(rng.randrange(10**7)))
        self._booking_run = f"{self._run}-b"
        scale = _POPULATION / population
        self._spawn_booking(self._quota_changes(max(1, int(_QUOTA_GAP * scale))))
        self._spawn_booking(self._request_spawner(max(1, int(_REQUEST_GAP * scale))))
        self._spawn_booking(self._tout_spawner(max(1, int(_TOUT_GAP * scale))))
        self._spawn_booking(self._rush_spawner(max(1, int(_RUSH_GAP * scale))))

    def _spawn_booking(self, flow: Iterator[Step]) -> None:
        """Queue a booking flow, which runs on the booking's own draws whenever it runs."""
        self._spawn(self._isolated(flow))

    def _isolated(self, flow: Iterator[Step]) -> Iterator[Step]:
        """``flow`` with the engine's generator, id counter and passport numbers swapped for the booking's
        while each of its steps is computed (nested: it restores whatever was in place).
        """
        while True:
            held = (self._rng, self._random, self._ids, self._passports, self._run)
            self._rng, self._random, self._ids, self._passports = self._booking_draws
            self._run = self._booking_run
            try:
                step = next(flow, None)
            finally:
                self._rng, self._random, self._ids, self._passports, self._run = held
            if step is None:
                return
            yield step

    # -- quotas ----------------------------------------------------------------------------------------

    def _base_capacity(self, code: str) -> int:
        if code in POPULAR:
            return self._int(50, 70) if code.startswith("kanim-") else self._int(10, 20)
        if code.startswith("kanim-"):
            return self._int(150, 300) if code in _BUSY_KANIM else self._int(50, 150)
        return self._int(5, 20)

    def _quota(self, code: str, service: PassportService, capacity: int, day: date) -> QuotaSet:
        return QuotaSet(
            quota_id=self._id("QS"),
            office=code,
            service=service,
            daily_capacity=capacity,
            from_date=day,
            officer_id=self._officer(code, senior=True),
        )

    def _open_booking(self, code: str, at: int) -> Iterator[Step]:
        """The office's quotas, once: when its first request (or rush, or tout) comes, at ``at``, which
        must be the simulated now (every other request to it is generated later, so it comes after them).

        Offices open as the run starts and their first applicants come, rather than all at once: a short
        run, or the first few hundred events, is not all quotas.
        """
        if code in self._opened:
            return
        self._opened[code] = None
        base = self._base_capacity(code)
        today = self._local_date(code, at)
        for service, share in _SERVICE_SHARE.items():
            quota = self._quota(code, service, max(1, round(base * share)), today)
            self._quotas[code, service] = {today: quota.daily_capacity}
            yield Step(at, code, quota)

    def _quota_changes(self, mean_gap: int) -> Iterator[Step]:
        """Now and then an office that opened changes one quota, from a day up to two weeks ahead."""
        at = self._start_ms
        while True:
            at += self._exp(mean_gap)
            yield Step(at, "", None)
            if not self._opened:
                continue
            code = self._pick(tuple(self._opened))
            service = self._pick(tuple(_SERVICE_SHARE))
            now = self._capacity(code, self._local_date(code, at), service)
            capacity = 0 if self._random() < 0.05 else max(1, round(now * self._rng.uniform(0.5, 1.5)))
            from_day = self._local_date(code, at) + timedelta(days=self._int(1, 14))
            self._quotas[code, service][from_day] = capacity
            yield Step(at, code, self._quota(code, service, capacity, from_day))

    def _capacity(self, code: str, day: date, service: PassportService) -> int:
        rows = self._quotas.get((code, service), {})
        days = sorted(rows)
        at = bisect.bisect_right(days, day)
        return rows[days[at - 1]] if at else 0

    # -- spawners --------------------------------------------------------------------------------------

    def _request_spawner(self, mean_gap: int) -> Iterator[Step]:
        """Ordinary applicants, forever: two in three at an Immigration office at home."""
        at = self._start_ms + HOUR
        while True:
            at += self._exp(mean_gap)
            yield Step(at, "", None)
            code = self._pick(self._kanim) if self._random() < 0.65 else self._pick(self._abroad)
            self._spawn_booking(self._application(self._applicant(code), code, at))

    def _tout_spawner(self, mean_gap: int) -> Iterator[Step]:
        """A tout now and then: many citizens from one phone within a few hours."""
        at = self._start_ms + HOUR + self._int(0, mean_gap)
        while True:
            yield Step(at, "", None)
            code = self._pick(POPULAR) if self._random() < 0.6 else self._pick(self._kanim)
            yield from self._open_booking(code, at)
            phone = self._phone(self._sites[code].office.country)
            at_request = self._work(code, at)
            for rank in range(self._int(8, 16)):
                at_request += self._int(2 * MIN, 25 * MIN)
                person = self._person(nik=True)
                person.phone = phone
                self._spawn_booking(self._application(person, code, at_request, tout=rank))
            at += self._exp(mean_gap)

    def _rush_spawner(self, mean_gap: int) -> Iterator[Step]:
        """A popular office's day opens now and then: far more ask for it than it takes."""
        at = self._start_ms + HOUR + self._int(0, mean_gap)
        while True:
            yield Step(at, "", None)
            code = self._pick(POPULAR)
            yield from self._open_booking(code, at)
            opens = self._work(code, at)
            day = self._working_day(code, self._local_date(code, opens), self._int(3, 5))
            service = PassportService.NEW if self._random() < 0.7 else PassportService.RENEWAL
            wanted = max(1, self._capacity(code, day, service))
            for _ in range(self._int(wanted * 3 // 2, wanted * 5 // 2)):
                when = opens + self._int(0, 3 * HOUR)
                self._spawn_booking(self._application(self._applicant(code), code, when, wish=(day, service)))
            at += self._exp(mean_gap)

    # -- one application -------------------------------------------------------------------------------

    def _applicant(self, code: str) -> Person:
        """Someone applying at ``code``: a resident of the mission's country, else a new person at home."""
        country = self._sites[code].office.country
        residents = self._residents.get(country) if country != "ID" else None
        if residents and self._random() < 0.8:
            # A copy: the new passport printed here must not change what the stay's own events say.
            return dataclasses.replace(self._pick(residents))
        shape = self._random()
        person = self._person(nik=shape >= 0.05)
        if 0.02 <= shape < 0.05:  # no NIK, but the passport being renewed
            person.passport_number = self._passport_number(PassportKind.ORDINARY)
        elif shape >= 0.05 and self._random() < 0.4:  # a first passport
            person.passport_number = None
        person.phone = self._phone(country)
        return person

    def _working_day(self, code: str, day: date, ahead: int) -> date:
        """The ``ahead``-th working day of the office after ``day`` (``day`` itself for 0 if it is one)."""
        weekend = self._sites[code].country.weekend
        while day.weekday() in weekend:
            day += timedelta(days=1)
        for _ in range(ahead):
            day += timedelta(days=1)
            while day.weekday() in weekend:
                day += timedelta(days=1)
        return day

    def _citizen(self, person: Person) -> str | None:
        if person.nik:
            return f"nik:{person.nik}"
        return f"passport:{person.passport_number}" if person.passport_number else None

    def _request(
        self, person: Person, code: str, app: str, wish: Wish, reschedules: str | None = None
    ) -> AppointmentRequested:
        """``person``'s request for ``wish`` (day, service, channel): a walk-in carries no phone and no
        requester key (an officer checked the identity card); 3% come from a relative's own account.
        """
        day, service, channel = wish
        walk_in = channel is Channel.WALK_IN
        requester = None
        if person.nik and not walk_in:
            requester = self._pseudonym(person.nik)
            if reschedules is None and self._random() < 0.03:
                requester = self._pseudonym(self._person(nik=True).nik or "")
        return AppointmentRequested(
            request_id=self._id("RQ"),
            application_id=app,
            office=code,
            wished_date=day,
            service=service,
            channel=channel,
            phone_key=None if walk_in or not person.phone else self._pseudonym(person.phone),
            requester_key=requester,
            reschedules=reschedules,
            personal=Personal(
                nik=person.nik,
                passport_number=None if person.nik else person.passport_number,
                full_name=person.full_name,
                date_of_birth=person.date_of_birth,
                phone=None if walk_in else person.phone,
            ),
        )

    def _would_confirm(self, request: AppointmentRequested, citizen: str | None, at: int) -> bool:
        """The shadow's guess at the service's decision; a guessed booking takes its slot."""
        if citizen is None:
            return False
        if request.requester_key and request.requester_key != self._pseudonym(request.personal.nik or ""):
            return False
        held = self._active.get(citizen)
        today = self._local_date(request.office, at)
        if held is not None and held >= today and request.reschedules is None:
            return False
        slot = (request.office, request.wished_date, request.service)
        if self._taken[slot] >= self._capacity(request.office, request.wished_date, request.service):
            return False
        self._taken[slot] += 1
        self._active[citizen] = request.wished_date
        return True

    def _release(self, code: str, day: date, service: PassportService, citizen: str) -> None:
        self._taken[code, day, service] -= 1
        if self._active.get(citizen) == day:
            del self._active[citizen]

    def _application(
        self,
        person: Person,
        code: str,
        at: int,
        *,
        wish: tuple[date, PassportService] | None = None,
        tout: int | None = None,
    ) -> Iterator[Step]:
        """One application from its request (a rush's names its day and service; nobody walks in on one).

        ``tout`` is the request's rank in a tout's burst: the first ``PHONE_LIMIT`` take a slot if there is
        one (the service lets them through), none goes on to the counter. A request the shadow refuses is
        tried once more for a later day, now and then; a confirmed one goes on in ``_booked``.
        """
        yield Step(at, "", None)
        yield from self._open_booking(code, at)
        app = self._id("PA")
        if wish is None:
            new = person.passport_number is None
            channel = Channel.WHATSAPP if tout is not None else self._weighted(_REQUEST_CHANNELS)
            service = PassportService.NEW if new else self._weighted(choices.SERVICES)
            if channel is Channel.WALK_IN:
                at = self._work(code, at)
                day = self._local_date(code, at)
            else:
                day = self._working_day(code, self._local_date(code, at), self._int(1, 7))
        else:
            (day, service), channel = wish, self._pick((Channel.APP, Channel.WEB, Channel.WHATSAPP))
        citizen = self._citizen(person)
        request = self._request(person, code, app, (day, service, channel))
        yield Step(at, code, request)
        if tout is not None and tout >= PHONE_LIMIT:
            return  # the service refuses it at the phone: TOO_MANY_REQUESTS
        confirmed = self._would_confirm(request, citizen, at)
        if tout is not None or citizen is None:
            return
        if not confirmed and channel is not Channel.WALK_IN and self._random() < 0.3:
            at += self._int(HOUR, 2 * DAY)  # refused (full, most likely): a later day, once
            day = self._working_day(code, self._local_date(code, at), self._int(2, 10))
            request = self._request(person, code, app, (day, service, channel))
            yield Step(at, code, request)
            confirmed = self._would_confirm(request, citizen, at)
        if confirmed:
            yield from self._booked(person, citizen, request, at)

    def _asked_again(self, person: Person, code: str, at: int, wish: Wish) -> Iterator[Step]:
        """The same citizen's request for another application, elsewhere, while booked."""
        yield Step(at, "", None)
        yield from self._open_booking(code, at)
        yield Step(at, code, self._request(person, code, self._id("PA"), wish))

    def _booked(self, person: Person, citizen: str, request: AppointmentRequested, at: int) -> Flow:
        """A booking the service plausibly confirmed: asked for twice, moved once or cancelled, missed,
        or kept and on to the counter.
        """
        rng = self._rng
        code, app, day, service, channel = (
            request.office,
            request.application_id,
            request.wished_date,
            request.service,
            request.channel,
        )
        walk_in = channel is Channel.WALK_IN
        if rng.random() < 0.04:  # the same citizen asks again elsewhere: refused ALREADY_BOOKED
            other = self._pick(self._kanim) if code.startswith("kanim-") else self._pick(self._abroad)
            self._spawn_booking(
                self._asked_again(person, other, at + self._int(MIN, 3 * HOUR), (day, service, channel))
            )
        booked = booking_code(request.request_id)
        slot_min = 8 * 60 + 15 * self._int(0, 29)
        slot_at = at if walk_in else self._local_ms(code, day, slot_min)
        fate = rng.random()
        if fate < 0.08 and not walk_in:  # moved once, to a later day
            moved_at = at + int((slot_at - at) * rng.uniform(0.1, 0.8))
            later = self._working_day(code, max(day, self._local_date(code, moved_at)), self._int(1, 5))
            move = self._request(person, code, app, (later, service, channel), reschedules=booked)
            yield Step(moved_at, code, move)
            if self._would_confirm(move, citizen, moved_at):
                self._release(code, day, service, citizen)
                self._active[citizen] = later
                slot_at = self._local_ms(code, later, slot_min)
        elif fate < 0.15 and not walk_in:
            cancel_at = at + int((slot_at - at) * rng.uniform(0.05, 0.95))
            reason = CancellationReason.CITIZEN_REQUEST if rng.random() < 0.9 else CancellationReason.OTHER
            cancel = CancellationRequested(
                request_id=self._id("RQ"),
                application_id=app,
                booking_code=booked,
                office=code,
                reason=reason,
                channel=channel,
                personal=Personal(nik=request.personal.nik, passport_number=request.personal.passport_number),
            )
            yield Step(cancel_at, code, cancel)
            self._release(code, day, service, citizen)
            return cancel_at
        elif fate > 0.96:  # never came: the booking lapses with its day
            return at
        return (yield from self._at_counter(person, app, code, service, slot_at + self._int(MIN, 50 * MIN)))

    def _at_counter(self, person: Person, app: str, code: str, service: PassportService, at: int) -> Flow:
        """Submission, perhaps a hold for something missing or a refusal, then the usual steps."""
        rng = self._rng
        officer = self._officer(code)
        kind = PassportKind.ELECTRONIC if rng.random() < 0.45 else PassportKind.ORDINARY
        submitted = ApplicationSubmitted(
            application_id=app,
            office=code,
            service=service,
            passport_kind=kind,
            pages=48,
            personal=person.personal(),
            officer_id=officer,
        )
        yield Step(at, code, submitted)
        if rng.random() < 0.1:
            at += self._int(10 * MIN, 40 * MIN)
            action = self._pick(_ACTIONS)
            needed = ActionRequired(application_id=app, office=code, action=action, officer_id=officer)
            yield Step(at, code, needed)
            at = self._work(code, at + self._int(DAY, 10 * DAY))
        if rng.random() < 0.03:
            at += self._int(10 * MIN, 2 * DAY)
            refused = ApplicationRefused(
                application_id=app, office=code, reason=self._pick(_REFUSALS), officer_id=self._officer(code)
            )
            yield Step(at, code, refused)
            return at
        at += self._int(5 * MIN, 40 * MIN)
        biometrics = BiometricsCaptured(
            application_id=app, office=code, fingerprints=rng.random() > 0.02, photo=True, officer_id=officer
        )
        yield Step(at, code, biometrics)
        at += self._int(2 * MIN, 30 * MIN)
        yield Step(at, code, self._payment(app, code, kind))
        return (yield from self._print_and_hand_over(person, app, code, kind, at))
