"""Fair booking live on the real broker, with two workers in one group: requests race for the quota, exactly
the capacity is confirmed, every other request gets its reason, and the decisions equal those of the pure
protocol fed each stage topic's partitions in offset order; the same with a worker SIGKILLed mid-stream.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from deploy.kafka.launcher import free_port
from services.bus.catalogue import CATALOGUE, create_topics
from services.bus.settings import BusSettings
from services.contracts.passport_booking import AppointmentConfirmedModel, BookingRefusal
from services.passport.topics import PASSPORT_TOPICS
from tests.integration.passport_harness import (
    Race,
    model_decisions,
    passport_worker,
    publish,
    race,
    refusals,
    wait_for_decisions,
)
from tests.integration.registry_harness import ProcessorWorker

PARTITIONS = 3


@pytest.fixture
def settings(bus_settings: BusSettings) -> BusSettings:
    """Every topic the workers read exists before they start."""
    settings = bus_settings.model_copy(update={"partitions": PARTITIONS})
    create_topics(settings, (*CATALOGUE, *PASSPORT_TOPICS))
    return settings


def two_workers(settings: BusSettings, tmp: Path) -> list[ProcessorWorker]:
    ports = [free_port(), free_port()]
    workers = [
        passport_worker(settings, tmp, name, port, ports)
        for name, port in zip(("one", "two"), ports, strict=True)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.wait_until(lambda: _ready(workers), 90, "both ready")
    return workers


def _ready(workers: list[ProcessorWorker]) -> bool:
    return all((worker.get("/stats") or {}).get("ready") for worker in workers)


def alive(workers: list[ProcessorWorker]) -> Any:
    def check() -> None:
        for worker in workers:
            assert worker.process is not None
            assert worker.process.poll() is None, f"worker died, see {worker.log}"

    return check


def check_fair(traffic: Race, found: list[Any], settings: BusSettings) -> None:
    """One decision per request, never two different ones; no office-day over its capacity, no queue number
    twice, no citizen with two bookings; the decisions equal the pure protocol's over the same partitions.
    """
    by_id: dict[str, Any] = {}
    for decision in found:
        earlier = by_id.setdefault(decision.decision_id, decision)
        assert earlier == decision, "one decision id with two different records"
    per_request = Counter(d.request_id for d in by_id.values())
    assert set(per_request) == {r.request_id for r in traffic.requests}
    assert max(per_request.values()) == 1, "a request with two decisions"
    confirmed = [d for d in by_id.values() if isinstance(d, AppointmentConfirmedModel)]
    numbers: dict[str, list[int]] = defaultdict(list)
    for booking in confirmed:
        assert booking.slot_date == traffic.day
        numbers[booking.office].append(booking.queue_number)
    for office, capacity in traffic.capacity.items():
        assert sorted(numbers[office]) == list(range(1, capacity + 1)), office
    holders = Counter(traffic.citizen_of[d.request_id] for d in confirmed)
    assert max(holders.values()) == 1, "a citizen holds two bookings"
    assert model_decisions(settings) == {d: v.model_dump(mode="json") for d, v in by_id.items()}


def expected_refusals(traffic: Race, limit: int = 5) -> Counter[str]:
    """The refusals that do not depend on the order of arrival, counted from the raw requests: a phone's
    requests beyond its limit (all within one day), requests without identity, requests by someone else.
    """
    expected: Counter[str] = Counter()
    phones = Counter(phone for phone in traffic.phone_of.values() if phone is not None)
    expected[BookingRefusal.TOO_MANY_REQUESTS] = sum(max(0, n - limit) for n in phones.values())
    expected[BookingRefusal.NO_IDENTITY] = sum(1 for nik in traffic.citizen_of.values() if nik is None)
    expected[BookingRefusal.NOT_THE_APPLICANT] = len(traffic.not_applicant)
    return expected


def test_requests_race_for_the_quota(settings: BusSettings, tmp_path: Path) -> None:
    """10,000 requests for 500 places at 20 offices: exactly 500 confirmed, every other request refused with
    its reason, touts' included, and the decisions are the pure protocol's over the broker's partitions.
    """
    traffic = race(
        settings,
        offices=20,
        capacity=25,
        citizens=9_000,
        repeats=300,
        touts=10,
        per_tout=40,
        nameless=150,
        proxies=150,
    )
    assert len(traffic.requests) == 10_000
    workers = two_workers(settings, tmp_path)
    try:
        publish(settings, traffic)
        found = wait_for_decisions(settings, len(traffic.requests), 600, alive(workers))
        check_fair(traffic, found, settings)
        reasons = refusals(found)
        for reason, count in expected_refusals(traffic).items():
            assert reasons[reason] == count, reason
        order_dependent = {BookingRefusal.DAY_FULL, BookingRefusal.ALREADY_BOOKED}
        assert set(reasons) - set(expected_refusals(traffic)) <= {str(r) for r in order_dependent}
        assert sum(reasons.values()) == len(traffic.requests) - sum(traffic.capacity.values())
    finally:
        for worker in workers:
            worker.stop()


def test_a_worker_killed_mid_stream(settings: BusSettings, tmp_path: Path) -> None:
    """SIGKILL one of two workers while requests flow, and start it again: no place given twice, no request
    with two different decisions, none left without one.
    """
    traffic = race(
        settings,
        offices=10,
        capacity=20,
        citizens=2_600,
        repeats=100,
        touts=5,
        per_tout=30,
        nameless=50,
        proxies=100,
    )
    workers = two_workers(settings, tmp_path)
    try:
        publish(settings, traffic, chunk=500, pause=0.5)
        victim = workers[0]
        victim.wait_until(lambda: len(_decided(settings)) > 300, 120, "the first decisions")
        victim.kill()
        victim.start()
        found = wait_for_decisions(settings, len(traffic.requests), 600, alive(workers))
        check_fair(traffic, found, settings)
    finally:
        for worker in workers:
            worker.stop()


def _decided(settings: BusSettings) -> set[str]:
    from tests.integration.passport_harness import decisions

    return {d.request_id for d in decisions(settings)}
