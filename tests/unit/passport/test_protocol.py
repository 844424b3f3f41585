"""Property tests of fair booking over the pure model of its topics: for any interleaving of the channels'
requests with the stages' partitions, and any record applied again (a crash before the commit), no
office-day is overbooked, no citizen holds two bookings, every request gets exactly one decision, and each
partition's output is its fold over its records in offset order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings

from services.contracts.passport import PassportService
from services.contracts.passport_items import BookingItemModel
from services.passport.booking import (
    PHONES,
    REQUESTS,
    SLOTS,
    Answer,
    Ask,
    Cancel,
    Confirmed,
    Decision,
    Out,
    QuotaChange,
    Release,
    Request,
    decision_id,
    no_identity_key,
)
from services.passport.items import from_item, to_item
from services.passport.protocol import BookingModel, fold_partition
from services.passport.slots import SlotStage
from tests.unit.passport.oracle import active_bookings, distinct
from tests.unit.passport.strategies import Scenario, scenarios, schedules

SETTLE = 48
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def first_out(record: Request | Cancel) -> Out:
    """Where a channel's record goes first (what the intake does, without the personal data)."""
    if isinstance(record, Request) and record.phone_key is not None:
        return Out(PHONES, record.phone_key, record)
    return Out(REQUESTS, record.citizen or no_identity_key(record.request_id), record)


@dataclass
class Run:
    """A scenario played through the model on a schedule."""

    model: BookingModel
    decisions: list[Decision]


def play(scenario: Scenario, schedule: list[int], partitions: int = 3) -> Run:
    """Quotas first, then each step either takes the channels' next record or one partition's head; a
    choice of 48 or more first lets everything in flight settle (requests minutes apart, not racing).
    """
    model = BookingModel(partitions=partitions)
    for quota in scenario.quotas:
        model.publish(Out(SLOTS, quota.office, quota, broadcast=True))
    waiting = list(scenario.inputs)
    for choice in schedule:
        if choice >= SETTLE:
            while ready := model.ready():
                model.step(ready[0])
        options: list[tuple[str, int] | None] = [None] if waiting else []
        options += model.ready()
        if not options:
            break
        picked = options[(choice // 2) % len(options)]
        if picked is None:  # the channels' next record
            model.publish(first_out(waiting.pop(0)))
        else:
            model.step(picked, again=choice % 2 == 1)
    for record in waiting:
        model.publish(first_out(record))
    return Run(model, model.run())


class TestFairness:
    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules())
    def test_no_office_day_is_overbooked(self, scenario: Scenario, schedule: list[int]) -> None:
        """At every point of the decisions, the bookings held on an office-day and service are at most its
        capacity, their queue numbers distinct and within it; the slots' own holds never exceed it either.
        """
        run = play(scenario, schedule)
        first = distinct(run.decisions)
        for upto in range(1, len(first) + 1):
            active = active_bookings(first[:upto])
            held: dict[tuple[str, object, PassportService], list[int]] = defaultdict(list)
            for booking in active.values():
                held[booking.office, booking.day, booking.service].append(booking.queue_number)
            for (office, _, service), numbers in held.items():
                capacity = scenario.capacity(office, service)
                assert len(numbers) <= capacity
                assert len(set(numbers)) == len(numbers)
                assert all(1 <= n <= capacity for n in numbers)
        for stage in run.model.stages.values():
            if isinstance(stage, SlotStage):
                for (office, day, service), holds in stage.holds.items():
                    assert len(holds) <= (stage.capacity(office, day, service) or 0)

    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules())
    def test_no_citizen_holds_two_bookings(self, scenario: Scenario, schedule: list[int]) -> None:
        """Replaying the decisions, no citizen ever has two active bookings, at one office or several."""
        run = play(scenario, schedule)
        active: dict[str, Confirmed] = {}
        for decision in distinct(run.decisions):
            if isinstance(decision, Confirmed):
                active.pop(decision.reschedules or "", None)
                active[decision.booking_code] = decision
            else:
                active.pop(getattr(decision, "booking_code", ""), None)
            owners = Counter(scenario.citizen(b.request_id) for b in active.values())
            assert all(count == 1 for count in owners.values()), owners
            assert None not in owners

    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules())
    def test_every_request_gets_exactly_one_decision(self, scenario: Scenario, schedule: list[int]) -> None:
        """Each request and cancellation is decided; a decision written more than once is the same decision,
        with the id derived from its request.
        """
        run = play(scenario, schedule)
        by_request: dict[str, set[Decision]] = defaultdict(set)
        for decision in run.decisions:
            by_request[decision.request_id].add(decision)
            assert decision.decision_id == decision_id(decision.request_id)
        assert sorted(by_request) == sorted(i.request_id for i in scenario.inputs)
        assert all(len(found) == 1 for found in by_request.values())

    @SETTINGS
    @given(scenario=scenarios(max_inputs=12), schedule=schedules())
    def test_fair_share_when_nothing_else_stops_a_request(
        self, scenario: Scenario, schedule: list[int]
    ) -> None:
        """A day that refused DAY_FULL is full: its bookings at the end of the run equal its capacity or a
        booking was freed after the refusal.
        """
        run = play(scenario, schedule)
        first = distinct(run.decisions)
        confirmed = Counter((d.office, d.day, d.service) for d in first if isinstance(d, Confirmed))
        for decision in first:
            if getattr(decision, "reason", None) == "DAY_FULL":
                request = next(i for i in scenario.inputs if i.request_id == decision.request_id)
                assert isinstance(request, Request)
                place = (request.office, request.day, request.service)
                assert confirmed[place] >= scenario.capacity(request.office, request.service)


class TestReplay:
    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules())
    def test_each_partition_is_its_fold_in_offset_order(
        self, scenario: Scenario, schedule: list[int]
    ) -> None:
        """Folding a partition's records from nothing, in the order it read them, writes what the live
        partition wrote: what the integration test checks against the broker.
        """
        run = play(scenario, schedule)
        for (topic, partition), records in run.model.log.items():
            assert fold_partition(topic, records) == run.model.written[topic, partition]

    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules())
    def test_reading_a_record_again_writes_nothing_new(self, scenario: Scenario, schedule: list[int]) -> None:
        """A partition's records with every one repeated write the same distinct records as once each."""
        run = play(scenario, schedule)
        for (topic, _), records in run.model.log.items():
            once: list[object] = []
            for record in records:
                if record not in once:
                    once.append(record)
            twice = [record for record in once for _ in (0, 1)]
            assert set(map(repr, fold_partition(topic, twice))) == set(map(repr, fold_partition(topic, once)))


class TestItems:
    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules(max_steps=60))
    def test_every_stage_record_survives_its_contract(self, scenario: Scenario, schedule: list[int]) -> None:
        """Each record any partition read, as BookingItemModel through Avro and back, is the same record."""
        run = play(scenario, schedule)
        for records in run.model.log.values():
            for record in records:
                assert isinstance(record, Request | Cancel | Ask | Answer | Release | QuotaChange)
                item = to_item(record)
                assert from_item(BookingItemModel.from_avro(item.to_avro())) == record
