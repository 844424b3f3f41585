"""The traffic simulator: deterministic, valid, coherent life-cycles from every office."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from services.bus.keys import key_for
from services.contracts import EVENT_MODELS
from services.contracts.citizen import Departed, DetailsChanged, ReturnedHome, StayReported
from services.contracts.passport import ApplicationSubmitted, AppointmentBooked, PassportPrinted
from services.contracts.passport_booking import AppointmentRequested
from services.contracts.protection import (
    CaseClosed,
    CaseOpened,
    CaseReopened,
    CaseTransferred,
    HotlineCallReceived,
)
from services.reference.offices import agencies, is_known_office, missions
from services.sim.data import CASE_COUNTRY_WEIGHTS, COUNTRIES
from services.sim.simulator import SimulatedEvent, TrafficSimulator

SEED = 20240817
START = datetime(2025, 10, 1, tzinfo=UTC)
N = 20_000
PASSPORT_NUMBER = re.compile(r"[A-Z]{1,2}[0-9]{7}")
SECRET = b"test-secret"


@pytest.fixture(scope="module")
def stream() -> list[SimulatedEvent]:
    return TrafficSimulator(SEED, start=START).next_batch(N)


@pytest.fixture(scope="module")
def long_stream() -> list[SimulatedEvent]:
    """Long enough for many passport and case life-cycles to run to their end."""
    return TrafficSimulator(SEED + 1, start=START, population=1500).next_batch(40_000)


def _by_aggregate(events: list[SimulatedEvent]) -> dict[str, list[SimulatedEvent]]:
    groups: dict[str, list[SimulatedEvent]] = defaultdict(list)
    for item in events:
        groups[key_for(item.event, SECRET)].append(item)
    return groups


class TestDeterminism:
    def test_same_seed_same_stream(self, stream: list[SimulatedEvent]) -> None:
        """Two simulators with the same seed and start produce identical events, sources and times."""
        again = TrafficSimulator(SEED, start=START).next_batch(3000)
        assert again == stream[:3000]

    def test_batch_size_does_not_matter(self, stream: list[SimulatedEvent]) -> None:
        """Taking 3 x 1000 events gives the same stream as taking 3000 at once."""
        sim = TrafficSimulator(SEED, start=START)
        assert [e for _ in range(3) for e in sim.next_batch(1000)] == stream[:3000]

    def test_other_seed_other_stream(self, stream: list[SimulatedEvent]) -> None:
        """A different seed gives different traffic (and different ids)."""
        other = TrafficSimulator(SEED + 7, start=START).next_batch(200)
        assert [e.event for e in other] != [e.event for e in stream[:200]]

    def test_office_weights_shift_traffic(self) -> None:
        """``office_weights`` makes an office's share of stays grow; unknown codes are refused."""
        sim = TrafficSimulator(5, start=START, population=500, office_weights={"kbri-oslo": 500})
        reports = [e.event for e in sim.next_batch(1500) if isinstance(e.event, StayReported)]
        assert sum(report.office == "kbri-oslo" for report in reports) > len(reports) / 4
        with pytest.raises(ValueError, match="office_weights"):
            TrafficSimulator(5, start=START, office_weights={"kbri-atlantis": 1})

    def test_rejects_naive_start_and_empty_population(self) -> None:
        """The start must be timezone-aware and the population positive."""
        with pytest.raises(ValueError, match="timezone"):
            TrafficSimulator(1, start=datetime(2025, 1, 1))
        with pytest.raises(ValueError, match="population"):
            TrafficSimulator(1, start=START, population=0)


class TestValidity:
    def test_every_event_is_a_registered_model_that_round_trips(self, stream: list[SimulatedEvent]) -> None:
        """Each payload is one of EVENT_MODELS and re-validates from its own Avro record."""
        registered = set(EVENT_MODELS.values())
        for item in stream:
            model = type(item.event)
            assert model in registered
            assert model.from_avro(item.event.to_avro()) == item.event

    def test_all_event_types_occur(self, long_stream: list[SimulatedEvent]) -> None:
        """A long run exercises every event type of every domain topic, the booking service's requests
        and quotas included (officers' registry decisions are not traffic the simulator makes).
        """
        domain = {
            model
            for model in EVENT_MODELS.values()
            if model.TOPIC in {"citizen", "passport", "passport.quotas", "protection"}
        }
        assert {type(item.event) for item in long_stream} == domain

    def test_times_are_utc_and_after_start(self, stream: list[SimulatedEvent]) -> None:
        """Event times are tz-aware UTC and never before the simulation start."""
        assert all(item.time.tzinfo is UTC and item.time >= START for item in stream)

    def test_every_source_is_a_known_office(self, stream: list[SimulatedEvent]) -> None:
        """Sources are office codes from the reference data."""
        assert all(is_known_office(item.source) for item in stream)

    def test_all_missions_and_agencies_publish(self, stream: list[SimulatedEvent]) -> None:
        """Within 20,000 events every one of the 132 missions and every agency is a source."""
        sources = {item.source for item in stream}
        assert {office.code for office in missions()} - sources == set()
        assert {office.code for office in agencies()} - sources == set()

    def test_topic_mix_is_balanced(self, long_stream: list[SimulatedEvent]) -> None:
        """No topic drowns the others: each carries between 15% and 60% of the traffic."""
        shares = Counter(item.event.TOPIC for item in long_stream)
        for topic in ("citizen", "passport", "protection"):
            assert 0.15 < shares[topic] / len(long_stream) < 0.6, shares


class TestReferenceData:
    def test_every_office_country_has_a_phone_plan(self) -> None:
        """Adding an office in a new country needs a phone plan there (simulated phones are local E.164)."""
        countries = {office.country for office in missions()} | {"TW"}
        assert countries - set(COUNTRIES) == set()
        for plan in COUNTRIES.values():
            assert re.fullmatch(r"[1-9][0-9]{0,2}", plan.calling_code)
            assert plan.cities

    def test_case_countries_are_covered(self) -> None:
        """Every country protection cases come from has a mission, except Taiwan (held by PWNI)."""
        with_missions = {office.country for office in missions()}
        assert set(CASE_COUNTRY_WEIGHTS) - with_missions == {"TW"}


class TestOrdering:
    def test_stream_time_never_goes_back(self, stream: list[SimulatedEvent]) -> None:
        """The whole stream is in non-decreasing time order."""
        assert all(a.time <= b.time for a, b in itertools.pairwise(stream))

    def test_aggregate_time_never_goes_back(self, long_stream: list[SimulatedEvent]) -> None:
        """Within every aggregate (record key) time is non-decreasing, so consumers see causal order."""
        for events in _by_aggregate(long_stream).values():
            assert all(a.time <= b.time for a, b in itertools.pairwise(events))

    def test_simulated_time_advances(self) -> None:
        """``now`` starts at ``start`` and moves forward as batches are taken."""
        sim = TrafficSimulator(3, start=START, population=200)
        assert sim.now == START
        last = sim.next_batch(500)[-1]
        assert sim.now == last.time > START


class TestCitizens:
    def test_same_nik_reported_at_two_offices(self, stream: list[SimulatedEvent]) -> None:
        """Some NIK holders report stays at two or more offices, each with its own record reference."""
        offices: dict[str, set[str]] = defaultdict(set)
        refs: dict[str, set[str]] = defaultdict(set)
        for item in stream:
            if isinstance(item.event, StayReported) and item.event.personal.nik:
                offices[item.event.personal.nik].add(item.event.office)
                refs[item.event.personal.nik].add(item.event.office_record_ref)
        movers = [nik for nik, seen in offices.items() if len(seen) >= 2]
        assert len(movers) >= 10
        assert all(len(refs[nik]) >= 2 for nik in movers)

    def test_weak_identity_duplicates_exist(self, stream: list[SimulatedEvent]) -> None:
        """People without a NIK are sometimes registered by two offices under the same name and birth."""
        seen: dict[tuple[object, ...], set[str]] = defaultdict(set)
        for item in stream:
            event = item.event
            if isinstance(event, StayReported) and event.personal.nik is None:
                who = event.personal
                seen[(who.full_name, who.date_of_birth, who.place_of_birth)].add(event.office)
        assert sum(len(offices) >= 2 for offices in seen.values()) >= 10

    def test_about_a_tenth_have_no_nik(self, stream: list[SimulatedEvent]) -> None:
        """Roughly 10% of stay reports identify the person without a NIK."""
        reports = [item.event for item in stream if isinstance(item.event, StayReported)]
        share = sum(report.personal.nik is None for report in reports) / len(reports)
        assert 0.05 < share < 0.2

    def test_follow_ups_refer_to_a_reported_stay(self, long_stream: list[SimulatedEvent]) -> None:
        """Every change, departure or return names an (office, record ref) reported earlier for the person."""
        for events in _by_aggregate(long_stream).values():
            reported: set[tuple[str, str]] = set()
            for item in events:
                event = item.event
                if isinstance(event, StayReported):
                    reported.add((event.office, event.office_record_ref))
                elif isinstance(event, DetailsChanged | Departed | ReturnedHome):
                    assert (event.office, event.office_record_ref) in reported

    def test_phones_are_e164_in_the_country_of_stay(self, stream: list[SimulatedEvent]) -> None:
        """A stay report's phone number carries the calling code of the country of stay."""
        for item in stream:
            event = item.event
            if isinstance(event, StayReported) and event.personal.phone:
                assert event.personal.phone.startswith("+" + COUNTRIES[event.country].calling_code)

    def test_stays_are_reported_by_an_office_in_that_country(self, stream: list[SimulatedEvent]) -> None:
        """A stay is registered by a mission in the country of stay, which is also the source."""
        countries = {office.code: office.country for office in missions()}
        for item in stream:
            if isinstance(item.event, StayReported):
                assert item.source == item.event.office
                assert countries[item.event.office] == item.event.country


_PASSPORT_NEXT = {
    None: {"AppointmentBooked", "AppointmentRequested"},
    "AppointmentBooked": {"AppointmentRescheduled", "AppointmentCancelled", "ApplicationSubmitted"},
    "AppointmentRescheduled": {"AppointmentCancelled", "ApplicationSubmitted"},
    # A request: tried again for a later day, moved once, cancelled, or on to the counter.
    "AppointmentRequested": {"AppointmentRequested", "CancellationRequested", "ApplicationSubmitted"},
    "ApplicationSubmitted": {"BiometricsCaptured", "ActionRequired", "ApplicationRefused"},
    "ActionRequired": {"BiometricsCaptured", "ApplicationRefused"},
    "BiometricsCaptured": {"PaymentReceived"},
    "PaymentReceived": {"PassportPrinted"},
    "PassportPrinted": {"ReadyForPickup"},
    "ReadyForPickup": {"Collected"},
}


class TestPassports:
    def test_applications_follow_the_life_cycle(self, long_stream: list[SimulatedEvent]) -> None:
        """Each application moves booked -> (rescheduled|cancelled) -> submitted -> ... -> collected, or
        requested -> (requested again|cancellation requested) -> submitted -> (action required|refused) ...
        """
        passport = [item for item in long_stream if item.event.TOPIC == "passport"]
        completed = 0
        for events in _by_aggregate(passport).values():
            state: str | None = None
            for item in events:
                name = type(item.event).__name__
                assert name in _PASSPORT_NEXT[state], (state, name)
                state = name
            completed += state == "Collected"
        assert completed >= 100

    def test_printing_is_by_the_office_or_immigration(self, long_stream: list[SimulatedEvent]) -> None:
        """PassportPrinted comes from where it was printed: the office itself or ditjen-imigrasi."""
        printed = [(i.source, i.event) for i in long_stream if isinstance(i.event, PassportPrinted)]
        assert "ditjen-imigrasi" in {source for source, _ in printed}
        for source, event in printed:
            assert source == event.printed_at
            assert event.printed_at in {event.office, "ditjen-imigrasi"}

    def test_passport_numbers_have_the_indonesian_format(self, long_stream: list[SimulatedEvent]) -> None:
        """Numbers are a letter and 7 digits, or two letters and 7 digits (e-passports), and never repeat."""
        numbers = [
            item.event.personal.passport_number
            for item in long_stream
            if isinstance(item.event, PassportPrinted) and item.event.personal.passport_number
        ]
        assert all(PASSPORT_NUMBER.fullmatch(number) for number in numbers)
        assert len(numbers) == len(set(numbers))

    def test_slots_and_submissions_are_at_the_office(self, long_stream: list[SimulatedEvent]) -> None:
        """Counter steps (submission) are published by the booking office, at or after the slot."""
        office_of: dict[str, str] = {}
        for item in long_stream:
            event = item.event
            if isinstance(event, AppointmentBooked | AppointmentRequested):
                office_of.setdefault(event.application_id, event.office)
            elif isinstance(event, ApplicationSubmitted):
                assert item.source == event.office == office_of[event.application_id]


class TestProtection:
    def test_cases_follow_the_life_cycle(self, long_stream: list[SimulatedEvent]) -> None:
        """Cases start with a call or an opening, stay with a holder till transferred, reopen once closed."""
        protection = [item for item in long_stream if item.event.TOPIC == "protection"]
        for events in _by_aggregate(protection).values():
            first = events[0].event
            assert isinstance(first, HotlineCallReceived | CaseOpened)
            holder, closed = first.office, False
            for item in events[1:]:
                event = item.event
                assert getattr(event, "office") == holder or isinstance(event, CaseOpened)  # noqa: B009
                if isinstance(event, CaseOpened):
                    assert isinstance(first, HotlineCallReceived)
                    assert event.hotline_call_id == first.call_id
                    holder = event.office
                if closed:
                    assert isinstance(event, CaseReopened)
                closed = isinstance(event, CaseClosed)
                if isinstance(event, CaseTransferred):
                    holder = event.to_office

    def test_transfers_escalations_and_reopenings_happen(self, long_stream: list[SimulatedEvent]) -> None:
        """The rarer steps all occur, and central units act on cases as sources."""
        kinds = Counter(type(item.event).__name__ for item in long_stream)
        for kind in ("CaseTransferred", "CaseEscalated", "CaseReopened", "HotlineCallReceived"):
            assert kinds[kind] > 0, kind
        helpers = {item.source for item in long_stream if item.event.TOPIC == "protection"}
        assert {"kemlu-pwni", "ptri-asean"} <= helpers

    def test_cases_cluster_in_migrant_worker_countries(self, long_stream: list[SimulatedEvent]) -> None:
        """Most cases are in big migrant-worker destinations; Taiwan's are held by the PWNI directorate."""
        opened = [item.event for item in long_stream if isinstance(item.event, CaseOpened)]
        countries = Counter(event.country for event in opened)
        top = {country for country, _ in countries.most_common(5)}
        assert {"MY", "SA"} <= top
        taiwan = [event for event in opened if event.country == "TW"]
        assert taiwan
        assert all(event.office == "kemlu-pwni" for event in taiwan)
