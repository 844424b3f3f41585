"""The simulator's fair-booking traffic: quotas, requests, touts, rushes, and what the service makes of it."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from services.bus.keys import check_key, key_for
from services.contracts.common import Channel
from services.contracts.passport import ApplicationSubmitted, PassportService
from services.contracts.passport_booking import (
    ActionRequired,
    ApplicationRefused,
    AppointmentRequested,
    BookingRefusal,
    CancellationRequested,
    QuotaSet,
)
from services.passport.booking import Confirmed, Refused, booking_code
from services.passport.protocol import BookingModel, intake
from services.reference.offices import OfficeType, immigration_offices, missions
from services.sim.booking import PHONE_LIMIT, POPULAR, default_pseudonym
from services.sim.simulator import SimulatedEvent, TrafficSimulator

SEED = 20240817
START = datetime(2025, 10, 1, tzinfo=UTC)
N = 20_000
SECRET = b"test-secret"
HEX64 = re.compile(r"[0-9a-f]{64}")
BOOKING = (AppointmentRequested, CancellationRequested, QuotaSet, ActionRequired, ApplicationRefused)


@pytest.fixture(scope="module")
def stream() -> list[SimulatedEvent]:
    return TrafficSimulator(SEED, start=START).next_batch(N)


@pytest.fixture(scope="module")
def requests(stream: list[SimulatedEvent]) -> list[SimulatedEvent]:
    return [item for item in stream if isinstance(item.event, AppointmentRequested)]


@pytest.fixture(scope="module")
def quotas(stream: list[SimulatedEvent]) -> list[QuotaSet]:
    return [item.event for item in stream if isinstance(item.event, QuotaSet)]


def _capacity(quotas: list[QuotaSet], office: str, day: date, service: PassportService) -> int:
    """The capacity the office set for ``day``: the latest quota from a day on or before it."""
    rows = [q for q in quotas if q.office == office and q.service == service and q.from_date <= day]
    return max(rows, key=lambda q: q.from_date).daily_capacity if rows else 0


class TestQuotas:
    def test_passport_offices_set_every_service_as_they_open(self, stream: list[SimulatedEvent]) -> None:
        """Only missions abroad (not the permanent missions) and kanim-* set quotas; each opens with one
        per service, all at once; within three weeks many of them open.
        """
        offices = {o.code for o in missions() if o.type is not OfficeType.PERMANENT_MISSION}
        offices |= {o.code for o in immigration_offices()}
        services = set(PassportService) - {PassportService.OTHER}
        opening: dict[str, list[SimulatedEvent]] = defaultdict(list)
        for item in stream:
            if isinstance(item.event, QuotaSet) and len(opening[item.event.office]) < len(services):
                opening[item.event.office].append(item)
        assert set(opening) <= offices
        assert len(opening) > len(offices) / 3
        for first in opening.values():
            assert {getattr(i.event, "service") for i in first} == services  # noqa: B009
            assert len({i.time for i in first}) == 1

    def test_capacities_are_realistic(self, stream: list[SimulatedEvent]) -> None:
        """At the start: small missions take 5-20 new passports a day, Immigration offices 50-300."""
        first: dict[str, QuotaSet] = {}
        for item in stream:
            event = item.event
            if isinstance(event, QuotaSet) and event.service is PassportService.NEW:
                first.setdefault(event.office, event)
        for office, quota in first.items():
            low, high = (50, 300) if office.startswith("kanim-") else (5, 20)
            assert low <= quota.daily_capacity <= high, (office, quota.daily_capacity)
        assert len(first) > 50

    def test_quota_comes_before_the_first_request_of_its_office(self, stream: list[SimulatedEvent]) -> None:
        """A request never reaches an office (in stream order) before that office's quotas."""
        quoted: set[str] = set()
        asked = 0
        for item in stream:
            event = item.event
            if isinstance(event, QuotaSet):
                quoted.add(event.office)
            elif isinstance(event, AppointmentRequested):
                assert event.office in quoted, event.office
                asked += 1
        assert asked > 100

    def test_quotas_hold_from_the_office_today_and_change_from_a_day_ahead(
        self, stream: list[SimulatedEvent]
    ) -> None:
        """An office's first quotas hold from its local today; a later change from a day ahead."""
        seen: Counter[str] = Counter()
        changes = 0
        for item in stream:
            event = item.event
            if not isinstance(event, QuotaSet):
                continue
            seen[event.office] += 1
            if seen[event.office] <= len(PassportService) - 1:
                assert abs(event.from_date - item.time.date()) <= timedelta(days=1)
            else:
                assert event.from_date >= item.time.date()
                changes += 1
        assert changes > 0


class TestRequests:
    def test_every_booking_type_is_emitted_and_no_decision(self, stream: list[SimulatedEvent]) -> None:
        """Requests, cancellations, quotas, holds and refusals occur; the service's decisions never do."""
        kinds = Counter(type(item.event).__name__ for item in stream)
        for model in BOOKING:
            assert kinds[model.__name__] > 0, model.__name__
        assert not {"AppointmentConfirmed", "AppointmentRefused", "NotificationRequested"} & set(kinds)

    def test_events_validate_and_keys_follow_the_rules(self, stream: list[SimulatedEvent]) -> None:
        """Each booking event round-trips its contract and is keyed by application id (quotas: by office),
        which the consumers' key check accepts.
        """
        for item in stream:
            event = item.event
            if not isinstance(event, BOOKING):
                continue
            assert type(event).from_avro(event.to_avro()) == event
            key = event.office if isinstance(event, QuotaSet) else event.application_id
            assert key_for(event, SECRET) == key
            check_key(event, key.encode(), None, {})
            assert item.source == event.office

    def test_request_fields(self, requests: list[SimulatedEvent]) -> None:
        """Walk-ins carry no phone and no requester key; other requests a phone key; the applicant is
        named by NIK or passport number (a few by neither); the requester is mostly the applicant.
        """
        pseudonym = default_pseudonym()
        own = other = anonymous = 0
        for item in requests:
            event = item.event
            assert isinstance(event, AppointmentRequested)
            if event.channel is Channel.WALK_IN:
                assert event.phone_key is None
                assert event.requester_key is None
                assert abs(event.wished_date - item.time.date()) <= timedelta(days=1)  # today, local
            else:
                assert event.phone_key is not None
                assert HEX64.fullmatch(event.phone_key)
                assert event.wished_date > item.time.date() - timedelta(days=1)
            anonymous += not event.personal.nik and not event.personal.passport_number
            if event.requester_key is not None:
                assert event.personal.nik
                if event.requester_key == pseudonym(event.personal.nik):
                    own += 1
                else:
                    other += 1
        assert 0 < other < own / 10
        assert 0 < anonymous < len(requests) / 10

    def test_reschedules_and_cancellations_name_an_earlier_booking(
        self, stream: list[SimulatedEvent]
    ) -> None:
        """A reschedule or cancellation names the booking code of an earlier request of its application."""
        codes: dict[str, set[str]] = defaultdict(set)
        moved = cancelled = 0
        for item in stream:
            event = item.event
            if isinstance(event, AppointmentRequested):
                if event.reschedules is not None:
                    assert event.reschedules in codes[event.application_id]
                    moved += 1
                codes[event.application_id].add(booking_code(event.request_id))
            elif isinstance(event, CancellationRequested):
                assert event.booking_code in codes[event.application_id]
                cancelled += 1
        assert moved > 0
        assert cancelled > 0

    def test_pseudonym_makes_the_keys(self) -> None:
        """``pseudonym`` (the bus's keyed hash of the deployment) makes the phone and requester keys."""
        sim = TrafficSimulator(SEED, start=START, population=500, pseudonym=lambda value: f"k{len(value)}")
        keys = {
            key
            for item in sim.next_batch(5000)
            if isinstance(item.event, AppointmentRequested)
            for key in (item.event.phone_key, item.event.requester_key)
            if key is not None
        }
        assert keys
        assert all(re.fullmatch(r"k[0-9]+", key) for key in keys)


class TestToutsAndRushes:
    def test_touts_exceed_the_phone_limit(self, requests: list[SimulatedEvent]) -> None:
        """Some phones send more than the limit within 24 hours, each request for another citizen."""
        by_phone: dict[str, list[SimulatedEvent]] = defaultdict(list)
        for item in requests:
            assert isinstance(item.event, AppointmentRequested)
            if item.event.phone_key is not None:
                by_phone[item.event.phone_key].append(item)
        touts = 0
        for sent in by_phone.values():
            if len(sent) <= PHONE_LIMIT:
                continue
            window = [i for i in sent if i.time - sent[0].time < timedelta(hours=24)]
            citizens = {getattr(i.event, "personal").nik for i in window}  # noqa: B009
            if len(window) > PHONE_LIMIT and len(citizens) == len(window):
                touts += 1
        assert touts >= 2

    def test_popular_office_days_get_more_requests_than_their_quota(
        self, requests: list[SimulatedEvent], quotas: list[QuotaSet]
    ) -> None:
        """Some office-day of a popular office is asked for far more often than the office takes."""
        asked = Counter(
            (e.office, e.wished_date, e.service)
            for e in (i.event for i in requests)
            if isinstance(e, AppointmentRequested) and e.reschedules is None
        )
        over = [
            (slot, n)
            for slot, n in asked.items()
            if n > 1.4 * _capacity(quotas, *slot) and slot[0] in POPULAR and n >= 10
        ]
        assert over, asked.most_common(5)


class TestTheServiceAgrees:
    def test_the_booking_model_refuses_and_confirms_as_the_simulator_expects(
        self, stream: list[SimulatedEvent]
    ) -> None:
        """Fed to the passport service's own model, the requests draw every kind of refusal the traffic
        is shaped for, and every application the simulator carried on to the counter was confirmed.
        """
        pseudonym = default_pseudonym()
        model = BookingModel(partitions=3)
        for item in stream:
            if isinstance(item.event, AppointmentRequested | CancellationRequested | QuotaSet):
                model.publish(intake(item.event, item.time, pseudonym))
                model.run()
        reasons = Counter(d.reason for d in model.decisions if isinstance(d, Refused))
        for reason in (
            BookingRefusal.TOO_MANY_REQUESTS,
            BookingRefusal.DAY_FULL,
            BookingRefusal.NO_IDENTITY,
            BookingRefusal.NOT_THE_APPLICANT,
            BookingRefusal.ALREADY_BOOKED,
        ):
            assert reasons[reason] > 0, reason
        confirmed = {d.application_id for d in model.decisions if isinstance(d, Confirmed)}
        requested = {i.event.application_id for i in stream if isinstance(i.event, AppointmentRequested)}
        submitted = {i.event.application_id for i in stream if isinstance(i.event, ApplicationSubmitted)}
        assert submitted & requested
        assert submitted & requested <= confirmed


class TestTheRestIsUnchanged:
    def test_booking_traffic_is_only_added(self) -> None:
        """Without the booking traffic the stream is exactly the other events of the full stream."""
        full = TrafficSimulator(SEED, start=START, population=1000).next_batch(8000)
        plain = TrafficSimulator(SEED, start=START, population=1000, booking=False).next_batch(6000)
        booking_apps = {
            item.event.application_id for item in full if isinstance(item.event, AppointmentRequested)
        }
        rest = [
            item
            for item in full
            if not isinstance(item.event, QuotaSet)
            and getattr(item.event, "application_id", None) not in booking_apps
        ]
        assert len(rest) < len(full)
        assert rest[: len(plain)] == plain[: len(rest)]
        assert not any(isinstance(item.event, BOOKING) for item in plain)
