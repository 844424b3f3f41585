"""Replay at scale: every view rebuilt from a million events, from Kafka and from the archive.

The history is ``EVENTS`` simulated events (1,000,000 unless ``BENCH_REPLAY_EVENTS`` says otherwise) over
400 days on the domain topics and one dead letter per 50 events on ``bus.deadletter``, loaded a batch at a
time with a raw kafka-python producer of records encoded beforehand (so loading costs nothing of ours).
Then, on the same broker:

- Kafka's own ``ConsumerPerformance`` reads the largest domain topic: the physical limit;
- the history is read and merged by log time alone, without folding: what reading costs;
- ``bus replay --view all`` from Kafka: one reading of the history, each record decoded once and fed to
  every view's own intake transform and projection, rows made from the final state;
- ``bus archive`` of the same history, ``bus verify`` of the archive, and the same replay from the archive.

Rates are source records per second. Resident memory (this process and the registry's) is sampled as
the replay goes (the processes hold nothing else), so its growth per record over the second half
projects the memory of a 10-million-event replay; the time of one is projected from the rate of the
second half (the registry's index grows as it goes).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from bench.common import broker_for, print_table, write_result
from bench.limits import consume, quiet_logging
from deploy.kafka.launcher import KafkaCluster
from services.audit.archiving import archive
from services.audit.history import Outcome, input_partitions, merged, replay_views_archive, replay_views_kafka
from services.audit.parallel import replay_split
from services.audit.replay import ViewPlan
from services.audit.verify import verify_archive
from services.audit.views import VIEWS, plans
from services.bus.catalogue import CATALOGUE, create_topics, domain_topics
from services.bus.deadletter import deadletter_headers
from services.bus.decoder import RawRecord
from services.bus.errors import MalformedPayload
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.reading import end_offsets
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator

EVENTS = int(os.environ.get("BENCH_REPLAY_EVENTS", "1000000"))
LETTER_EVERY = 50
BATCH = 50_000
PROJECTED = 10_000_000
DAYS = 1_200
"""Days of history: the simulator's traffic puts about 430,000 events in 400 days."""


def rss_mib() -> float:
    """Resident memory of this process and its children (the registry's replay runs in one), in MiB."""
    pids = [str(os.getpid())]
    for task in Path("/proc/self/task").iterdir():
        children = task / "children"
        if children.exists():
            pids += children.read_text().split()
    total = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue  # ended meanwhile
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total / 1024


def load(settings: BusSettings, events: int) -> dict[str, Any]:
    """The history on the broker, a batch encoded and then sent raw at a time; what was sent."""
    now = datetime.now(UTC)
    sim = TrafficSimulator(17, start=now - timedelta(days=DAYS))
    publisher = Publisher(settings, producer=object())
    producer = KafkaProducer(**{**producer_config(settings), "linger_ms": 20})
    elsewhere = settings.topic("elsewhere")  # names no record a replay reads, so none is skipped for it
    sent = letters = 0
    sending = 0.0
    try:
        while sent < events:
            batch = [s for s in sim.next_batch(BATCH) if s.time < now][: events - sent]
            if not batch:
                break
            encoded = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in batch]
            started = time.perf_counter()
            for n, o in enumerate(encoded, start=sent):
                producer.send(o.topic, o.value, key=o.key, headers=o.headers)
                if n % LETTER_EVERY == 0:
                    raw = RawRecord(
                        elsewhere, 0, n, int(now.timestamp() * 1000), o.key, b"x" + o.value, o.headers
                    )
                    headers = deadletter_headers(raw, MalformedPayload("bench"), "registry-intake")
                    producer.send(
                        settings.topic("bus.deadletter"), b"x" + o.value, key=o.key, headers=headers
                    )
                    letters += 1
            sending += time.perf_counter() - started
            sent += len(encoded)
        started = time.perf_counter()
        producer.flush(600)
        sending += time.perf_counter() - started
    finally:
        producer.close(30)
    return {
        "events": sent,
        "deadletters": letters,
        "records": sent + letters,
        "send_seconds": round(sending, 1),
    }


class Watch:
    """A replay's progress: seconds and resident memory at every tenth of the history."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.perf_counter()
        self.marks: list[tuple[int, float, float]] = [(0, 0.0, rss_mib())]

    def __call__(self, done: int) -> None:
        """Hear that ``done`` records were read."""
        if done >= self.marks[-1][0] + self.total // 10 or done == self.total:
            self.marks.append((done, time.perf_counter() - self.started, rss_mib()))

    def figures(self, seconds: float, records: int) -> dict[str, Any]:
        """Rate overall and over the second half, memory at the start, the end and its growth per record
        over the second half, and both projected to ``PROJECTED`` records.
        """
        if self.marks[-1][0] < records:  # the end, where the progress heard last came earlier
            self.marks.append((records, seconds, self.marks[-1][2]))
        half = min(self.marks[:-1], key=lambda m: abs(m[0] - records // 2))  # the start at the least
        last = self.marks[-1]
        late_rate = (last[0] - half[0]) / max(last[1] - half[1], 1e-9)
        per_record = (last[2] - half[2]) / max(last[0] - half[0], 1)
        peak = max(m[2] for m in self.marks)
        return {
            "records": records,
            "seconds": round(seconds, 1),
            "records_per_s": round(records / seconds),
            "second_half_records_per_s": round(late_rate),
            "rss_start_mib": round(self.marks[0][2]),
            "rss_peak_mib": round(peak),
            "rss_bytes_per_record": round(per_record * 2**20),
            "projected_seconds": round(PROJECTED / late_rate),
            "projected_rss_mib": round(peak + (PROJECTED - records) * per_record),
            "marks": [(n, round(t, 1), round(m)) for n, t, m in self.marks],
        }


def plans_on(settings: BusSettings) -> list[ViewPlan]:
    """Every view's replay plan, sharing one decoding, partitioned as the broker holds its input."""
    return plans(VIEWS, settings, partitions_of=partial(input_partitions, settings))


def timed_replay(run: Callable[[Watch], dict[str, Outcome]], total: int) -> dict[str, Any]:
    """One replay of every view, with its figures and each view's counts."""
    gc.collect()
    watch = Watch(total)
    started = time.perf_counter()
    outcomes = run(watch)
    seconds = time.perf_counter() - started
    result = watch.figures(seconds, total)
    result["views"] = {
        name: {"read": o.counts.read, "applied": o.counts.applied, "rows": len(o.rows)}
        for name, o in outcomes.items()
    }
    return result


def main(cluster: KafkaCluster | None = None) -> dict[str, Any]:
    """The history loaded, read alone, replayed from Kafka, archived, verified, replayed from the archive."""
    with broker_for(cluster) as used, quiet_logging() as log4j:
        settings = BusSettings(bootstrap_servers=used.bootstrap_servers, topic_prefix="replay.")
        create_topics(settings, CATALOGUE)
        loaded = load(settings, EVENTS)
        sources = [settings.topic(t) for t in (*domain_topics(), "bus.deadletter")]
        sizes = {t: sum(end_offsets(settings, t).values()) for t in sources}
        largest = max(sizes, key=lambda t: sizes[t])
        kafka_consumer = consume(settings, largest, sizes[largest], log4j)
        total = sum(sizes.values())
        started = time.perf_counter()
        read = sum(1 for _ in merged(settings, sources))
        read_seconds = time.perf_counter() - started
        replayed = plans_on(settings)
        from_kafka = timed_replay(
            lambda w: replay_split(lambda c, h: replay_views_kafka(settings, c, progress=h), replayed, w),
            total,
        )
        tmp = Path(tempfile.mkdtemp(prefix="bench-replay-"))
        try:
            directory = tmp / "archive"
            started = time.perf_counter()
            run = archive(settings, directory)
            archive_seconds = time.perf_counter() - started
            started = time.perf_counter()
            report = verify_archive(directory)
            verify_seconds = time.perf_counter() - started
            assert not report.failed, [f.line() for f in report.findings[:5]]
            replayed = plans_on(settings)
            from_archive = timed_replay(
                lambda w: replay_split(
                    lambda c, h: replay_views_archive(directory, c, progress=h), replayed, w
                ),
                total,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    assert from_kafka["views"] == from_archive["views"], "the archive replays to other figures than Kafka"
    result: dict[str, Any] = {
        "loaded": loaded,
        "kafka_consumer": {"topic": largest, **kafka_consumer},
        "read_only": {
            "records": read,
            "seconds": round(read_seconds, 2),
            "records_per_s": round(read / read_seconds),
        },
        "from_kafka": from_kafka,
        "archive": {
            "records": run.records,
            "seconds": round(archive_seconds, 1),
            "records_per_s": round(run.records / archive_seconds),
        },
        "verify": {
            "records": report.records,
            "seconds": round(verify_seconds, 1),
            "records_per_s": round(report.records / verify_seconds),
        },
        "from_archive": from_archive,
        "projected_records": PROJECTED,
    }
    limit = kafka_consumer["records_per_s"]
    rows = [
        ["Kafka ConsumerPerformance (" + largest + ")", f"{limit:,.0f}", "1.00", "", ""],
        ["history read and merged alone", f"{result['read_only']['records_per_s']:,}", "", "", ""],
        *(
            [
                f"replay --view all from {where}",
                f"{r['records_per_s']:,}",
                f"{r['records_per_s'] / limit:.3f}",
                f"{r['rss_peak_mib']:,} MiB",
                f"{r['projected_seconds'] / 60:,.0f} min, {r['projected_rss_mib'] / 1024:,.1f} GiB",
            ]
            for where, r in (("Kafka", from_kafka), ("the archive", from_archive))
        ),
        [
            "archive",
            f"{result['archive']['records_per_s']:,}",
            f"{result['archive']['records_per_s'] / limit:.3f}",
            "",
            "",
        ],
        [
            "verify",
            f"{result['verify']['records_per_s']:,}",
            f"{result['verify']['records_per_s'] / limit:.3f}",
            "",
            "",
        ],
    ]
    print_table(
        f"replay of {total:,} records ({loaded['events']:,} events), records/s",
        ["", "records/s", "x Kafka", "peak RSS", f"projected to {PROJECTED:,}"],
        rows,
    )
    print(f"written to {write_result('replay', result)}")
    return result


if __name__ == "__main__":
    main()
