"""Live equals replay, on the real broker: one simulated history (with bad records every intake refuses)
published in two halves while the four live workers run; then each view replayed from the topics equals
its live view topic, and replayed as of a broker time between the halves equals the projection over the
records appended by then (chosen here by their broker timestamps, in another order, without the dead
letters' help). ``bus replay`` prints the same rows; ``bus audit access`` lists who looked a citizen up.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from deploy.kafka.launcher import KafkaCluster, free_port
from services.audit.archiving import archive
from services.audit.history import (
    Outcome,
    input_partitions,
    replay_archive,
    replay_kafka,
    replay_views_archive,
    replay_views_kafka,
)
from services.audit.parallel import replay_split
from services.audit.replay import Reading, ViewPlan, record_time_ms, row_of
from services.audit.views import VIEWS, Decoding, partition_for, plan
from services.bus.catalogue import CATALOGUE, FOREVER, create_topics, domain_topics
from services.bus.codec import AvroCodec
from services.bus.consumer import raw_from_kafka
from services.bus.decoder import RawRecord
from services.bus.errors import BusError, TopicMissing
from services.bus.keys import citizen_hasher
from services.bus.publisher import EventMeta, Outgoing, Publisher, producer_config
from services.bus.reading import end_offsets, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.jsonview import redacted
from services.deadletters.app import TOPICS as DEADLETTER_TOPICS
from services.passport.topics import PASSPORT_TOPICS
from services.protection.settings import ProtectionSettings
from services.protection.topics import PROTECTION_TOPICS
from services.registry.identifiers import citizen_id_for, nik_identifier
from services.registry.topics import REGISTRY_TOPICS
from services.runtime.projection import ViewRecord
from services.runtime.store import Store
from services.sim.poison import bad_records
from services.sim.simulator import TrafficSimulator
from tests.integration.passport_harness import passport_worker
from tests.integration.protection_harness import protection_worker
from tests.integration.registry_harness import ProcessorWorker, read_views

EVENTS = 2_400
TOKEN = "audit-replay-test-service-token"
NEVER_MINUTES = 100 * 365 * 24 * 60
"""Service levels no case reaches: when a breach is found depends on the order items reach a partition,
which a replay from the domain topics does not have (the item topic's replay test covers breaches)."""
SLA = {
    f"PROTECTION_SLA_{level}_MINUTES": str(NEVER_MINUTES) for level in ("CRITICAL", "HIGH", "MEDIUM", "LOW")
}
INPUTS = {
    "registry": {"registry": "registry.observations"},
    "deadletters": {"deadletters": "bus.deadletter"},
    "protection": {"protection": "protection.items"},
    "passport": {
        "passport-status": "passport.status",
        "passport-phones": "passport.phones",
        "passport-requests": "passport.requests",
        "passport-slots": "passport.slots",
    },
}
QUIET = (
    *(t.name for t in CATALOGUE),
    "registry.observations",
    "registry.citizens",
    "registry.access",
    "passport.status",
    "passport.decisions",
    "passport.phones",
    "passport.requests",
    "passport.slots",
)
"""Topics that stop growing once the history is processed (``protection.items`` gets a tick a minute)."""
MEASURES = {
    "registry.counts": ("citizens",),
    "deadletters.figures": ("count",),
    "protection.stats": ("count",),
    "passport.figures": ("bookings", "freed", "quota_used", "refusals", "ready_not_collected", "ready_days"),
}


@dataclass
class History:
    settings: BusSettings
    middle: datetime
    """A broker time between the two halves of the history."""
    niks: list[str]
    workers: dict[str, ProcessorWorker]
    full: dict[str, Outcome]


def levels() -> Any:
    return ProtectionSettings(**{k.removeprefix("PROTECTION_").lower(): int(v) for k, v in SLA.items()})


def view_plan(settings: BusSettings, view: str, *, encoded: bool = False) -> ViewPlan:
    """The replay's plan of ``view``; ``encoded``: its transform encodes the items, as the live intake's."""
    probe = plan(view, settings)
    partitions = input_partitions(settings, probe.projection.input_topic)
    return plan(view, settings, levels=levels().service_levels(), partitions=partitions, encoded=encoded)


def simulated(settings: BusSettings) -> tuple[list[Outgoing], list[str]]:
    now = datetime.now(UTC)
    simulator = TrafficSimulator(
        7, start=now - timedelta(days=20), population=3000, pseudonym=citizen_hasher(settings)
    )
    picked = []
    while len(picked) < EVENTS:
        picked.extend(s for s in simulator.next_batch(500) if s.time < now)
    with Publisher(settings) as publisher:
        out = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in picked[:EVENTS]]
    niks = []
    for s in picked[: EVENTS // 2]:
        personal = getattr(s.event, "personal", None)
        if s.event.TOPIC == "citizen" and personal is not None and personal.nik and personal.nik not in niks:
            niks.append(personal.nik)
    return out, niks


def poison(settings: BusSettings, outgoing: list[Outgoing]) -> None:
    """One bad record per reason from a citizen, a protection and a passport event, sent raw."""
    codec = AvroCodec(load_registry(settings.schemas_dir))
    goods = [
        next(o for o in outgoing if o.topic == settings.topic(t))
        for t in ("citizen", "protection", "passport")
    ]
    producer = KafkaProducer(**producer_config(settings))
    try:
        for good in goods:
            for bad in bad_records(good, codec, datetime.now(UTC), settings.topic):
                producer.send(bad.topic, key=bad.key, value=bad.value, headers=list(bad.headers))
        producer.flush(30)
    finally:
        producer.close(10)


def caught_up(settings: BusSettings, name: str, worker: ProcessorWorker) -> bool:
    stats = worker.get("/stats")
    if not stats or not stats.get("ready") or stats.get("intake", {}).get("waiting", 0):
        return False
    runtimes = {stats["processor"]: stats["partitions"]}
    runtimes.update({k: v["partitions"] for k, v in stats.get("stages", {}).items()})
    for runtime, topic in INPUTS[name].items():
        ends = end_offsets(settings, settings.topic(topic))
        held = runtimes.get(runtime, {})
        if sorted(int(p) for p in held) != sorted(ends):
            return False
        if any(held[str(p)]["progress"] < end for p, end in ends.items()):
            return False
    return True


INTAKES = {
    "registry": ("registry-intake", (*domain_topics(), "registry.decisions")),
    "protection": ("protection-intake", ("protection", "registry.citizens")),
    "passport": ("passport-intake", ("passport", "passport.quotas", "passport.decisions")),
}


def intakes_done(settings: BusSettings) -> bool:
    """Every intake committed (so forwarded, acknowledged) every record of its sources."""
    for component, sources in INTAKES.values():
        group = f"{settings.topic_prefix}{settings.client_id}-{component}"
        consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, group_id=group, enable_auto_commit=False
        )
        try:
            for topic in sources:
                full = settings.topic(topic)
                for partition, end in end_offsets(settings, full).items():
                    done = consumer.committed(TopicPartition(full, partition))
                    if end > 0 and (done is None or done < end):
                        return False
        finally:
            consumer.close()
    return True


def quiet_signature(settings: BusSettings) -> list[tuple[str, int, int]]:
    return [
        (topic, p, end)
        for topic in QUIET
        for p, end in sorted(end_offsets(settings, settings.topic(topic)).items())
    ]


def wait_settled(settings: BusSettings, workers: dict[str, ProcessorWorker], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    before = None
    while time.monotonic() < deadline:
        for worker in workers.values():
            worker.wait_until(lambda: True, 1, "alive")
        now = quiet_signature(settings)
        if (
            now == before
            and intakes_done(settings)
            and all(caught_up(settings, n, w) for n, w in workers.items())
        ):
            return
        before = now
        time.sleep(2)
    tails = "\n".join(f"--- {n}\n{w.tail(20)}" for n, w in workers.items())
    raise AssertionError(f"the workers did not settle in {timeout:.0f} s\n{tails}")


@pytest.fixture(scope="module")
def history(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    settings = BusSettings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=3,
        linger_ms=1,
    )
    create_topics(
        settings, (*CATALOGUE, *REGISTRY_TOPICS, *DEADLETTER_TOPICS, *PROTECTION_TOPICS, *PASSPORT_TOPICS)
    )
    tmp = tmp_path_factory.mktemp("audit")
    env = {"BUS_SERVICE_TOKEN": TOKEN}
    registry = ProcessorWorker(
        settings, tmp / "registry-data", free_port(), tmp / "registry.log", instance="a-reg"
    )
    deadletters = ProcessorWorker(
        settings,
        tmp / "deadletters-data",
        free_port(),
        tmp / "deadletters.log",
        command=("deadletter", "worker"),
        env_prefix="DEADLETTERS_",
        answers_on="/stats",
        instance="a-dl",
    )
    port = free_port()
    protection = protection_worker(settings, tmp, "protection", port, [port])
    port = free_port()
    passport = passport_worker(settings, tmp, "passport", port, [port])
    workers = {
        "registry": registry,
        "deadletters": deadletters,
        "protection": protection,
        "passport": passport,
    }
    for worker in workers.values():
        worker.env.update({**env, **SLA})
    try:
        with ThreadPoolExecutor(len(workers)) as pool:
            list(pool.map(lambda w: w.start(), workers.values()))
        outgoing, niks = simulated(settings)
        half = len(outgoing) // 2
        with Publisher(settings) as publisher:
            publisher.send_prepared(outgoing[:half])
            poison(settings, outgoing[:half])
            time.sleep(1.5)
            middle = datetime.now(UTC)
            time.sleep(1.5)
            publisher.send_prepared(outgoing[half:])
            poison(settings, outgoing[half:])
        wait_settled(settings, workers)
        full = {view: replay_kafka(settings, view_plan(settings, view)) for view in VIEWS}
        yield History(settings, middle, niks, workers, full)
    finally:
        for worker in workers.values():
            worker.stop()


def standing(rows: list[tuple[str, str, dict[str, Any]]]) -> dict[tuple[str, str], dict[str, Any]]:
    """What the rows say stands now: merged-away citizen ids (which ids existed on the way depends on the
    order identifiers arrived in) and figures at zero left out, and each figure's ``as_of`` (the partition
    clock when it last moved, order again) dropped.
    """
    out = {}
    for topic, key, value in rows:
        if value.get("merged_into") is not None:
            continue
        if topic in MEASURES and not any(value[m] for m in MEASURES[topic]):
            continue
        out[topic, key] = {k: v for k, v in value.items() if k != "as_of"}
    return out


def rows_of(outcome: Outcome) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.topic, r.key, r.value) for r in outcome.rows]


def live_rows(settings: BusSettings, p: ViewPlan) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (topic, key, view.model_dump(mode="json"))
        for topic in sorted(p.state_topics)
        for key, view in read_views(settings, topic).items()
    ]


def picked(settings: BusSettings, p: ViewPlan, keep: Callable[[RawRecord], bool]) -> list[RawRecord]:
    """The source records ``keep`` picks, topic by topic in offset order; the domain topics' and the dead
    letters' stamped by the broker.
    """
    domain = {settings.topic(t) for t in (*domain_topics(), "bus.deadletter")}
    found = []
    for topic in (settings.topic(t) for t in p.sources):
        if not exists(settings, topic):
            continue
        for message in read_to_end(settings, topic):
            if topic in domain:
                assert message.timestamp_type == 1, f"{topic} is not stamped by the broker"
            raw = raw_from_kafka(message)
            if keep(raw):
                found.append(raw)
    return sorted(found, key=lambda r: (r.topic, r.partition, r.offset))


def items(p: ViewPlan, raw: RawRecord) -> list[tuple[int, RawRecord]]:
    """Where the live intake puts what it makes of ``raw`` (nothing for what the decoder refuses)."""
    if p.transform is None or p.decode is None:
        return [(raw.partition, raw)]
    try:
        event_id, incoming = p.decode(raw)
    except BusError:
        return []
    made = p.transform(incoming)
    if isinstance(made, bytes):
        forwards = [(event_id, made, False, None)]
    else:
        forwards = [(f.key, f.value, f.broadcast, f.topic) for f in made or []]
    topic = p.projection.input_topic
    out = []
    for key, value, broadcast, target in forwards:
        if (target or p.target) != topic:
            continue
        partitions = range(p.partitions) if broadcast else [partition_for(key.encode(), p.partitions)]
        out.extend((n, RawRecord(topic, n, 0, raw.timestamp, key.encode(), value, [])) for n in partitions)
    return out


def folded(
    settings: BusSettings, p: ViewPlan, keep: Callable[[RawRecord], bool], clock: datetime
) -> list[tuple[str, str, dict[str, Any]]]:
    """The projection over the source records ``keep`` picks, fed topic by topic in offset order, every
    record through the decoder (the bad ones refused there, not skipped by their dead letters), drained
    once at the end.
    """
    projection, store = p.projection, Store.in_memory()
    states = {n: projection.open(store.partition(n)) for n in range(p.partitions)}
    for raw in picked(settings, p, keep):
        for partition, record in items(p, raw):
            if partition not in states:
                states[partition] = projection.open(store.partition(partition))
            try:
                item = projection.read(record)
                if item is not None:
                    projection.apply(states[partition], item)
            except BusError:
                continue
    latest: dict[tuple[str, str], ViewRecord] = {}
    for state in states.values():
        if projection.clock:
            projection.tick(state, clock)
        for record in projection.drain(state, clock):
            if record.topic in p.state_topics:
                latest[record.topic, record.key] = record
    return [(r.topic, r.key, r.value) for r in (row_of(latest[k]) for k in sorted(latest))]


def exists(settings: BusSettings, topic: str) -> bool:
    try:
        end_offsets(settings, topic)
    except TopicMissing:
        return False
    return True


def run_bus(history: History, *args: str) -> subprocess.CompletedProcess[str]:
    settings = history.settings
    env = {
        **os.environ,
        "BUS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "BUS_TOPIC_PREFIX": settings.topic_prefix,
        "BUS_PARTITIONS": str(settings.partitions),
        **SLA,
    }
    done = subprocess.run(
        [sys.executable, "-m", "services", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.parametrize("view", VIEWS)
def test_replay_equals_the_live_view(history: History, view: str) -> None:
    """The view replayed from the domain topics (the dead letters' records skipped) equals the live
    worker's view topic, latest record per key, once the worker has applied everything.
    """
    outcome = history.full[view]
    live = standing(live_rows(history.settings, view_plan(history.settings, view)))
    replayed = standing(rows_of(outcome))
    assert len(replayed) > 10
    assert replayed == live
    counts = outcome.counts
    assert counts.applied > 0
    assert counts.refused == 0, "a bad record was decoded again although the live intake dead-lettered it"
    if view != "deadletters":
        assert counts.deadlettered > 0


@pytest.mark.parametrize("view", VIEWS)
def test_as_of_the_middle_is_the_history_appended_by_then(history: History, view: str) -> None:
    """As of a broker time between the halves: the projection over the records appended by then."""
    settings = history.settings
    cut = int(history.middle.timestamp() * 1000)
    outcome = replay_kafka(settings, view_plan(settings, view), as_of=history.middle)
    expected = folded(
        settings, view_plan(settings, view, encoded=True), lambda r: r.timestamp <= cut, history.middle
    )
    assert standing(rows_of(outcome)) == standing(expected)
    assert outcome.counts.read - outcome.counts.later < history.full[view].counts.read
    assert standing(rows_of(outcome)) != standing(rows_of(history.full[view]))


def test_as_of_on_the_events_clock(history: History) -> None:
    """With ``--event-time``, the registry as of the events' own middle time: what happened by then,
    whenever it was appended.
    """
    settings = history.settings
    p = view_plan(settings, "registry")
    times = sorted(
        record_time_ms(raw_from_kafka(m), Reading.EVENT)
        for m in read_to_end(settings, settings.topic("citizen"))
    )
    moment = datetime.fromtimestamp(times[len(times) // 2] / 1000, UTC)
    cut = int(moment.timestamp() * 1000)
    outcome = replay_kafka(settings, p, as_of=moment, reading=Reading.EVENT)
    expected = folded(
        settings,
        view_plan(settings, "registry", encoded=True),
        lambda r: record_time_ms(r, Reading.EVENT) <= cut,
        moment,
    )
    assert standing(rows_of(outcome)) == standing(expected)
    assert 0 < len(standing(expected)) < len(standing(rows_of(history.full["registry"])))


def test_bus_replay_prints_the_rows(history: History) -> None:
    """``bus replay`` prints the replay's rows: JSON lines with personal parts redacted, or CSV."""
    middle = history.middle.isoformat().replace("+00:00", "Z")
    done = run_bus(history, "replay", "--view", "registry", "--as-of", middle)
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    expected = replay_kafka(history.settings, view_plan(history.settings, "registry"), as_of=history.middle)
    assert printed == [{"topic": r.topic, "key": r.key, "value": redacted(r.value)} for r in expected.rows]
    assert any(row["value"].get("personal") for row in printed)
    assert all(
        value in ("<redacted>", None)
        for row in printed
        for value in (row["value"].get("personal") or {}).values()
    )
    done = run_bus(history, "replay", "--view", "deadletters", "--format", "csv")
    table = list(csv.reader(io.StringIO(done.stdout)))
    assert table[0] == ["topic", "key", "value"]
    full = history.full["deadletters"].rows
    assert [(t, k, json.loads(v)["count"]) for t, k, v in table[1:]] == [
        (r.topic, r.key, r.value["count"]) for r in full
    ]


def lookup(worker: ProcessorWorker, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **headers},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


def test_audit_access_lists_who_looked_a_citizen_up(history: History) -> None:
    """Two lookups of one citizen (by NIK, then by id) and one of another: ``bus audit access`` lists the
    two, oldest first, by NIK or by id alike, and never prints the NIK.
    """
    settings, registry = history.settings, history.workers["registry"]
    nik, other = history.niks[0], history.niks[1]
    citizen = citizen_id_for(nik_identifier(nik, citizen_hasher(settings)))
    asked = {"requested_by": "auditor-9", "office": "kbri-tokyo", "purpose": "AUDIT"}
    assert lookup(registry, "/registry/lookup", {"nik": nik, **asked}, {}) == 200
    who = {"X-Requested-By": "officer-3", "X-Office": "kjri-new-york", "X-Purpose": "CONSULAR_SERVICE"}
    assert lookup(registry, f"/registry/citizens/{citizen}", None, who) == 200
    assert (
        lookup(registry, "/registry/lookup", {"nik": other, **asked, "requested_by": "officer-x"}, {}) == 200
    )
    by_nik = run_bus(history, "audit", "access", "--citizen", nik)
    assert nik not in by_nik.stdout
    assert nik not in by_nik.stderr
    rows = [json.loads(line) for line in by_nik.stdout.splitlines()]
    assert [(r["requested_by"], r["office"], r["purpose"], r["lookup"], r["citizen_id"]) for r in rows] == [
        ("auditor-9", "kbri-tokyo", "AUDIT", "NIK", citizen),
        ("officer-3", "kjri-new-york", "CONSULAR_SERVICE", "CITIZEN_ID", citizen),
    ]
    assert rows[0]["accessed_at"] <= rows[1]["accessed_at"]
    by_id = run_bus(history, "audit", "access", "--citizen", citizen, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(by_id.stdout)))
    assert [r["access_id"] for r in table] == [r["access_id"] for r in rows]


def test_replay_reads_no_personal_data_into_its_log(history: History) -> None:
    """What a replay logs on stderr names counts, never a NIK of the history."""
    done = run_bus(history, "replay", "--view", "protection")
    assert "replayed" in done.stderr
    assert not any(nik in done.stderr for nik in history.niks)


def test_replay_from_an_archive_equals_the_replay_from_kafka(history: History, tmp_path: Path) -> None:
    """An archive of the history (domain topics and dead letters) replays the registry and the dead-letter
    figures to the very rows the broker's history gives, the same records skipped; ``bus replay
    --from-archive`` prints them.
    """
    settings, directory = history.settings, tmp_path / "archive"
    archive(settings, directory)
    clock = datetime(2030, 1, 1, tzinfo=UTC)  # the figures' as_of without --as-of: the same for both
    for view in ("registry", "deadletters"):
        from_archive = replay_archive(directory, view_plan(settings, view), clock=clock)
        from_kafka = replay_kafka(settings, view_plan(settings, view), clock=clock)
        assert from_archive.rows == from_kafka.rows
        assert from_archive.counts.deadlettered == from_kafka.counts.deadlettered
    assert history.full["registry"].counts.deadlettered > 0
    done = run_bus(
        history, "replay", "--view", "registry", "--from-archive", str(directory), "--show-personal"
    )
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["topic"], r["key"], without_as_of(r["value"])) for r in printed] == [
        (r.topic, r.key, without_as_of(r.value)) for r in history.full["registry"].rows
    ]


ARCHIVE_COMPLETE = ("registry", "deadletters")
"""Views whose whole input an archive holds: the protection and passport intakes also follow view topics
(the registry's golden records, the passport decisions), which the archive does not keep."""


def test_every_view_over_one_reading_equals_each_view_replayed_alone(
    history: History, tmp_path: Path
) -> None:
    """``--view all`` reads the history once (each record decoded once, shared by the views): every view's
    rows and counts are those of its own replay, from the broker and from an archive; ``bus replay --view
    all`` prints them all, view after view, the registry's replayed in a process of its own.
    """
    settings, directory = history.settings, tmp_path / "archive"
    clock = datetime(2030, 1, 1, tzinfo=UTC)
    decoding = Decoding(settings)
    plans = [
        plan(
            v,
            settings,
            levels=levels().service_levels(),
            partitions=view_plan(settings, v).partitions,
            decoding=decoding,
        )
        for v in VIEWS
    ]
    together = replay_views_kafka(settings, plans, clock=clock)
    archive(settings, directory)
    from_archive = replay_views_archive(directory, plans, clock=clock)
    for view in VIEWS:
        alone = replay_kafka(settings, view_plan(settings, view), clock=clock)
        assert together[view].rows == alone.rows, view
        assert together[view].counts == alone.counts, view
        if view in ARCHIVE_COMPLETE:
            assert from_archive[view].rows == alone.rows, view
    split = replay_split(lambda chosen, _: replay_views_kafka(settings, chosen, clock=clock), plans)
    assert list(split) == list(VIEWS)
    assert all(split[view].rows == together[view].rows for view in VIEWS)
    done = run_bus(history, "replay", "--view", "all", "--show-personal")
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["topic"], r["key"]) for r in printed] == [
        (r.topic, r.key) for view in VIEWS for r in history.full[view].rows
    ]


def without_as_of(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k != "as_of"}


def test_an_existing_topic_moves_to_the_brokers_clock(bus_settings: BusSettings, repo_root: Path) -> None:
    """The README's command moves a topic made before (producer time) to LogAppendTime: records already
    written keep the producer's timestamp, records appended afterwards carry the broker's.
    """
    topic = bus_settings.topic("citizen")
    create_topics(bus_settings, (replace(next(t for t in CATALOGUE if t.name == "citizen"), config=FOREVER),))
    producer = KafkaProducer(**producer_config(bus_settings))
    old = 1_000_000_000_000  # 2001: no broker's clock says that
    try:
        producer.send(topic, b"before", key=b"k", timestamp_ms=old).get(30)
        java = shutil.which("java")
        assert java is not None
        subprocess.run(
            [
                java,
                "-cp",
                str(repo_root / "deploy" / "kafka" / "lib" / "*"),
                "kafka.admin.ConfigCommand",
                "--bootstrap-server",
                bus_settings.bootstrap_servers,
                "--alter",
                "--entity-type",
                "topics",
                "--entity-name",
                topic,
                "--add-config",
                "message.timestamp.type=LogAppendTime",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        deadline = time.monotonic() + 30
        while True:  # the new setting reaches the partition leader shortly after the command returns
            producer.send(topic, b"after", key=b"k", timestamp_ms=old).get(30)
            last = list(read_to_end(bus_settings, topic))[-1]
            if last.timestamp_type == 1 or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        producer.close(10)
    records = list(read_to_end(bus_settings, topic))
    assert (records[0].timestamp_type, records[0].timestamp) == (0, old)
    assert records[-1].timestamp_type == 1
    assert records[-1].timestamp > old
