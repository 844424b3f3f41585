"""Running protection workers against the test broker, and what they must equal: the pure projection driven
here over the very records of ``protection.items`` (per partition, in offset order, ticks included, as the
runtime's core drives it), and the figures computed from the raw events by the unit tests' oracle.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.bus.codec import AvroCodec
from services.bus.consumer import raw_from_kafka
from services.bus.envelope import Envelope
from services.bus.events import BusEvent
from services.bus.keys import citizen_hasher
from services.bus.publisher import EventMeta, Outgoing, Publisher
from services.bus.reading import end_offsets, read_range, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.protection_views import (
    CaseOverdueClearedModel,
    CaseOverdueModel,
    ProtectionCaseModel,
    ProtectionStatsModel,
)
from services.protection.facts import CaseEvent
from services.protection.intake import case_event
from services.protection.projection import ProtectionProjection
from services.protection.topics import CASES, ITEMS, OVERDUE, STATS
from services.protection.views import case_summary, listing_order
from services.runtime.projection import TICK_HEADER, ViewRecord
from services.runtime.store import Store
from services.sim.engine import SimulatedEvent
from services.sim.simulator import TrafficSimulator
from tests.integration.registry_harness import SERVICE_HEADERS, ProcessorWorker
from tests.unit.protection.oracle import oracle_case, oracle_figures

WALL = datetime(2099, 1, 1, tzinfo=UTC)
"""What the replay hands ``drain`` as the wall clock: nothing published may depend on it."""
WHO = {"X-Requested-By": "officer-7", "X-Office": "kemlu-pwni", "X-Purpose": "CITIZEN_PROTECTION"}


def protection_worker(
    settings: BusSettings, tmp: Path, name: str, port: int, peers: list[int]
) -> ProcessorWorker:
    """``python -m services cases worker`` with its own port, data directory, instance id and its peers."""
    return ProcessorWorker.peer(settings, tmp, name, port, peers, processor="cases")


def case_traffic(
    settings: BusSettings, count: int, seed: int, days: int = 60
) -> tuple[list[Outgoing], list[BusEvent]]:
    """The first ``count`` protection events of simulated traffic (all in the past), encoded as published,
    and the same events as the intake receives them.
    """
    now = datetime.now(UTC)
    simulator = TrafficSimulator(seed, start=now - timedelta(days=days))
    picked: list[SimulatedEvent] = []
    while len(picked) < count:
        picked.extend(s for s in simulator.next_batch(5_000) if s.event.TOPIC == "protection")
    picked = picked[:count]
    assert picked[-1].time < now
    with Publisher(settings) as publisher:
        outgoing = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in picked]
    events = [BusEvent(o.envelope, s.event, o.key.decode()) for o, s in zip(outgoing, picked, strict=True)]
    return outgoing, events


def send(settings: BusSettings, batch: list[Outgoing]) -> None:
    with Publisher(settings) as publisher:
        publisher.send_prepared(batch)


@dataclass
class Replay:
    """What the projection publishes over ``protection.items`` up to ``ends``, and each partition's clock."""

    ends: dict[int, int]
    published: list[ViewRecord] = field(default_factory=list)
    clocks: dict[int, datetime | None] = field(default_factory=dict)
    partition_of: dict[str, int] = field(default_factory=dict)
    event_ids: set[str] = field(default_factory=set)

    def latest(self, topic: str) -> dict[str, Any]:
        return {record.key: record.view for record in self.published if record.topic == topic}

    @property
    def cases(self) -> dict[str, ProtectionCaseModel]:
        return self.latest(CASES)

    @property
    def stats(self) -> dict[str, ProtectionStatsModel]:
        return self.latest(STATS)

    @property
    def breach_ids(self) -> set[str]:
        return {r.event_id for r in self.published if r.topic == OVERDUE and r.event_id is not None}


def replay(settings: BusSettings) -> Replay:
    """The pure projection over every record of ``protection.items`` now there, partition by partition."""
    topic = settings.topic(ITEMS)
    result = Replay(end_offsets(settings, topic))
    projection = ProtectionProjection()
    store = Store.in_memory()
    for partition, end in sorted(result.ends.items()):
        state = projection.open(store.partition(partition))
        clock: datetime | None = None
        for message in read_range(settings, topic, partition, 0, end):
            raw = raw_from_kafka(message)
            if raw.header(TICK_HEADER) is not None:
                moment = datetime.fromtimestamp(raw.timestamp / 1000, UTC)
                projection.tick(state, moment)
            else:
                item = projection.read(raw)
                projection.apply(state, item)
                if not isinstance(item, CaseEvent):
                    continue
                result.partition_of[item.case_id] = partition
                result.event_ids.add(item.event_id)
                moment = item.time
            clock = moment if clock is None or moment > clock else clock
            if (raw.offset + 1) % 500 == 0:
                result.published.extend(projection.drain(state, WALL))
        result.published.extend(projection.drain(state, WALL))
        result.clocks[partition] = clock
    return result


def oracle(settings: BusSettings, events: list[BusEvent], run: Replay) -> dict[str, int]:
    """The figures across partitions, from the raw events by the README's rules (the unit tests' oracle),
    each case judged by its partition's clock.
    """
    hasher = citizen_hasher(settings)
    cases: dict[str, list[CaseEvent]] = {}
    for event in events:
        item = case_event(event, hasher)
        assert item is not None
        cases.setdefault(item.case_id, []).append(item)
    return oracle_figures(cases, {c: run.clocks[run.partition_of[c]] for c in cases})


def overdue_by_oracle(settings: BusSettings, events: list[BusEvent], run: Replay) -> set[str]:
    """The case ids the raw events and their partition's clock say are overdue now."""
    hasher = citizen_hasher(settings)
    cases: dict[str, list[CaseEvent]] = {}
    for event in events:
        item = case_event(event, hasher)
        assert item is not None
        cases.setdefault(item.case_id, []).append(item)
    found = set()
    for case_id, items in cases.items():
        case, clock = oracle_case(items), run.clocks[run.partition_of[case_id]]
        sla = {"CRITICAL": 2, "HIGH": 8, "MEDIUM": 24, "LOW": 72}
        if case.status in ("CALLED", "OPEN") and clock is not None and case.last_action is not None:
            deadline = case.last_action + timedelta(hours=sla[str(case.urgency)])
            if clock > deadline:
                found.add(case_id)
    return found


def read_latest(settings: BusSettings, topic: str) -> dict[str, Any]:
    """The latest decoded view per key (what compaction converges to)."""
    from services.contracts import VIEW_MODELS

    codec = AvroCodec(load_registry(settings.schemas_dir))
    latest: dict[str, Any] = {}
    for message in read_to_end(settings, settings.topic(topic)):
        decoded = codec.decode(message.value)
        latest[message.key.decode()] = VIEW_MODELS[decoded.writer.fullname].from_avro(decoded.record)
    return latest


def breaches_published(
    settings: BusSettings,
) -> list[tuple[Envelope, CaseOverdueModel | CaseOverdueClearedModel]]:
    """Every record of ``protection.overdue`` with its envelope, in partition and offset order."""
    codec = AvroCodec(load_registry(settings.schemas_dir))
    found: list[tuple[Envelope, CaseOverdueModel | CaseOverdueClearedModel]] = []
    for message in read_to_end(settings, settings.topic(OVERDUE)):
        raw = raw_from_kafka(message)
        envelope = Envelope.from_headers(raw.headers)
        decoded = codec.decode(message.value)
        model = (
            CaseOverdueModel
            if decoded.writer.fullname == CaseOverdueModel.SCHEMA
            else CaseOverdueClearedModel
        )
        found.append((envelope, model.from_avro(decoded.record)))
    return found


def assert_one_id_per_breach(settings: BusSettings) -> set[str]:
    """No breach published with two ids, ``ce_id`` is the derived id, one clearing id per breach; returns
    the ids seen.
    """
    ids_of: dict[tuple[str, str, datetime, int], set[str]] = {}
    cleared_of: dict[str, set[str]] = {}
    seen = set()
    for envelope, view in breaches_published(settings):
        if isinstance(view, CaseOverdueModel):
            assert envelope.id == view.overdue_id
            assert envelope.time == view.detected_at
            ids_of.setdefault((view.case_id, view.started_by, view.deadline, view.recurrence), set()).add(
                view.overdue_id
            )
        else:
            assert envelope.id == view.cleared_id
            cleared_of.setdefault(view.overdue_id, set()).add(view.cleared_id)
        assert envelope.source == "kemlu-pwni"
        seen.add(envelope.id)
    assert all(len(ids) == 1 for ids in ids_of.values())
    assert all(len(ids) == 1 for ids in cleared_of.values())
    return seen


def get(worker: ProcessorWorker, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """``GET path`` of the worker with the service credential (as the front door asks)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}{path}", headers={**SERVICE_HEADERS, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def caught_up(workers: list[ProcessorWorker], settings: BusSettings) -> bool:
    """Every partition of ``protection.items`` held, ready and applied to its end by one of ``workers``."""
    ends = end_offsets(settings, settings.topic(ITEMS))
    done: dict[int, bool] = {}
    for worker in workers:
        if worker.process is None or worker.process.poll() is not None:
            continue
        stats = worker.get("/stats") or {}
        for partition, entry in stats.get("partitions", {}).items():
            p = int(partition)
            done[p] = done.get(p, False) or (entry["ready"] and entry["progress"] >= ends.get(p, 0))
    return sorted(done) == sorted(ends) and all(done.values())


def check_http(workers: list[ProcessorWorker], run: Replay) -> int:
    """Every case through the HTTP view (asking the workers in turn, so most answers cross to the other
    worker), the lists and the figures, against the projection; returns how many cases were shown.
    """
    for n, (case_id, view) in enumerate(sorted(run.cases.items())):
        worker = workers[n % len(workers)]
        status, body = get(worker, f"/protection/cases/{urllib.parse.quote(case_id, safe='')}", WHO)
        assert status == 200, body
        assert body == view.model_dump(mode="json"), case_id
    summaries = [s for s in (case_summary(v) for v in run.cases.values()) if s is not None]
    for worker in workers:
        status, body = get(worker, "/protection/overdue")
        assert status == 200, body
        assert body["cases"] == sorted((s for s in summaries if s["overdue"]), key=listing_order)
    offices = Counter(s["office"] for s in summaries)
    for n, office in enumerate(sorted(offices)):
        status, body = get(workers[n % len(workers)], f"/protection/offices/{office}/cases")
        assert status == 200, body
        assert body["cases"] == sorted((s for s in summaries if s["office"] == office), key=listing_order)
    status, body = get(workers[0], "/protection/figures")
    assert status == 200, body
    assert body["groups"] == {g: n for g, n in sum_groups(run).items() if n}
    return len(run.cases)


def sum_groups(run: Replay) -> dict[str, int]:
    from services.protection.figures import sum_partitions

    return sum_partitions(run.stats.values())
