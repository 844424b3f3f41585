"""The live protection-case view on the real broker: two workers in one group on four partitions equal the
pure projection over the same records of ``protection.items``, and the figures equal those computed from
the raw events; the same when one worker is SIGKILLed mid-stream and the other takes its partitions over.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from deploy.kafka.launcher import free_port
from services.bus.catalogue import CATALOGUE, create_topics
from services.bus.codec import AvroCodec
from services.bus.events import BusEvent
from services.bus.reading import end_offsets, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.deadletters import read_deadletters
from services.contracts.protection_views import CaseAccessedModel
from services.protection.figures import sum_partitions
from services.protection.topics import ACCESS, CASES, ITEMS, PROTECTION_TOPICS, STATS
from services.registry.topics import REGISTRY_TOPICS
from tests.integration.protection_harness import (
    Replay,
    assert_one_id_per_breach,
    case_traffic,
    caught_up,
    check_http,
    oracle,
    overdue_by_oracle,
    protection_worker,
    read_latest,
    replay,
    send,
)
from tests.integration.registry_harness import ProcessorWorker

PARTITIONS = 4
EVENTS = 5_000


@pytest.fixture
def settings(bus_settings: BusSettings) -> BusSettings:
    """Four partitions per topic; every topic the workers read exists before they start."""
    settings = bus_settings.model_copy(update={"partitions": PARTITIONS})
    create_topics(settings, (*CATALOGUE, *REGISTRY_TOPICS, *PROTECTION_TOPICS))
    return settings


def two_workers(settings: BusSettings, tmp: Path) -> list[ProcessorWorker]:
    ports = [free_port(), free_port()]
    workers = [
        protection_worker(settings, tmp, name, port, ports)
        for name, port in zip(("one", "two"), ports, strict=True)
    ]
    for worker in workers:
        worker.start()

    def owned(worker: ProcessorWorker) -> int:
        return len((worker.get("/stats") or {}).get("partitions", {}))

    workers[0].wait_until(
        lambda: owned(workers[0]) + owned(workers[1]) == PARTITIONS and min(map(owned, workers)) > 0,
        60,
        "a share of the partitions each",
    )
    return workers


def compare(
    settings: BusSettings, workers: list[ProcessorWorker], events: list[BusEvent], run: Replay
) -> None:
    """The topics, the HTTP view and the figures against the projection and the oracle."""
    assert read_latest(settings, CASES) == run.cases
    stats = read_latest(settings, STATS)
    assert stats == run.stats
    assert sum_partitions(stats.values()) == oracle(settings, events, run)
    assert assert_one_id_per_breach(settings) == run.breach_ids
    overdue = {case_id for case_id, view in run.cases.items() if view.overdue}
    assert overdue == overdue_by_oracle(settings, events, run)
    check_http(workers, run)


def assert_view_equals_projection(
    settings: BusSettings, workers: list[ProcessorWorker], events: list[BusEvent]
) -> Replay:
    """Once every event is an item and the workers have applied every item: the view equals the projection
    over the same records. A tick appended meanwhile (each worker appends one to its partitions every
    minute) changes what there is to compare, so the comparison is made again when the items topic moved
    under it.
    """
    wanted = {event.id for event in events}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        workers[0].wait_until(lambda: caught_up(workers, settings), 240, "every item to be applied")
        run = replay(settings)
        if not wanted <= run.event_ids:  # the intake has not forwarded everything yet
            time.sleep(1)
            continue
        workers[0].wait_until(lambda: caught_up(workers, settings), 60, "every item to be applied")
        try:
            compare(settings, workers, events, run)
        except AssertionError:
            if end_offsets(settings, settings.topic(ITEMS)) != run.ends:
                continue
            raise
        if end_offsets(settings, settings.topic(ITEMS)) == run.ends:
            return run
    raise AssertionError("the items never stood still with every event among them")


def access_records(settings: BusSettings) -> list[CaseAccessedModel]:
    codec = AvroCodec(load_registry(settings.schemas_dir))
    return [
        CaseAccessedModel.from_avro(codec.decode(m.value).record)
        for m in read_to_end(settings, settings.topic(ACCESS))
    ]


class TestLiveCases:
    def test_five_thousand_case_events_on_two_workers(self, settings: BusSettings, tmp_path: Path) -> None:
        """5,000 simulated case events (hand-overs, reopenings, breaches) on four partitions shared by two
        workers: protection.cases, protection.stats and protection.overdue equal the projection driven here
        over the same records of protection.items; the stats equal the figures computed from the raw
        events; every case answers through either worker's HTTP view as the projection has it (each lookup
        recorded on protection.access), and so do the lists of every office, of overdue cases and the
        figures.
        """
        workers = two_workers(settings, tmp_path)
        try:
            outgoing, events = case_traffic(settings, EVENTS, seed=11)
            send(settings, outgoing)
            run = assert_view_equals_projection(settings, workers, events)
        finally:
            for worker in workers:
                worker.stop()
        cases = run.cases.values()
        assert any(case.handovers for case in cases)
        assert any(case.breaches for case in cases)
        assert any(case.status.value == "CLOSED" for case in cases)
        accesses = access_records(settings)
        assert len(accesses) >= len(run.cases)
        assert all(a.found and a.requested_by == "officer-7" for a in accesses)
        assert {a.case_id for a in accesses} == set(run.cases)

    def test_sigkill_one_worker_midstream(self, settings: BusSettings, tmp_path: Path) -> None:
        """One of two workers SIGKILLed halfway through 5,000 case events while the other keeps running
        (and takes its partitions over once its session times out): the same final view as the
        projection's, no breach published with two ids, and nothing dead-lettered (every event was valid).
        """
        one, two = two_workers(settings, tmp_path)
        try:
            outgoing, events = case_traffic(settings, EVENTS, seed=22)
            send(settings, outgoing[: EVENTS // 2])
            two.wait_until(lambda: (two.get("/stats") or {}).get("applied", 0) > 0, 60, "worker two applying")
            two.kill()
            killed = time.monotonic()
            send(settings, outgoing[EVENTS // 2 :])
            assert_view_equals_projection(settings, [one], events)
            print(f"killed to compared: {time.monotonic() - killed:.1f} s")  # noqa: T201 - a measured figure
        finally:
            one.stop()
            two.stop()
        assert list(read_deadletters(settings, limit=10)) == []
