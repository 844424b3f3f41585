"""The traffic view on the real broker: simulated events from many offices through the SDK on the three
domain topics, plus raw records with a forged or missing source, counted by a traffic worker; the figures
on ``traffic.figures`` (latest per key, summed over partitions) equal counts made here from the domain
topics' own records (their ``ce_source`` and log timestamps), per domain, office and minute.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from deploy.kafka.launcher import free_port
from services.bus.catalogue import create_topics
from services.bus.codec import AvroCodec
from services.bus.keys import citizen_hasher
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.reading import end_offsets, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.traffic import OfficeTrafficModel
from services.reference.offices import is_known_office
from services.sim.simulator import TrafficSimulator
from services.traffic.figures import sum_partitions
from services.traffic.fold import MINUTE_MS
from tests.integration.registry_harness import ProcessorWorker

DOMAINS = ("citizen", "passport", "protection")


def traffic_worker(settings: BusSettings, tmp: Path) -> ProcessorWorker:
    return ProcessorWorker(
        settings,
        tmp / "traffic-data",
        free_port(),
        tmp / "traffic.log",
        command=("traffic", "worker"),
        env_prefix="TRAFFIC_",
        answers_on="/stats",
        instance="test-traffic",
    )


def publish_simulated(settings: BusSettings, count: int) -> None:
    """``count`` simulated events of every office, through the SDK (times are the events' own; the log
    timestamps are now).
    """
    now = datetime.now(UTC)
    sim = TrafficSimulator(11, start=now - timedelta(days=2), pseudonym=citizen_hasher(settings))
    with Publisher(settings) as publisher:
        sent = 0
        while sent < count:
            batch = [
                (s.event, EventMeta(source=s.source, time=min(s.time, now))) for s in sim.next_batch(100)
            ]
            publisher.publish_many(batch)
            sent += len(batch)


def publish_forged(settings: BusSettings) -> None:
    """Records a broken producer would send: a forged source, none at all."""
    producer = KafkaProducer(**producer_config(settings))
    try:
        for topic, headers in (
            ("citizen", [("ce_source", b"kbri-atlantis")]),
            ("passport", []),
            ("protection", [("ce_source", b"\xff\xfe")]),
        ):
            producer.send(settings.topic(topic), b"not avro", key=b"k", headers=headers)
        producer.flush(30)
    finally:
        producer.close()


def caught_up(worker: ProcessorWorker, settings: BusSettings) -> bool:
    stats: dict[str, Any] = worker.get("/stats") or {}
    stages = stats.get("stages") or {}
    if not stats.get("ready") or len(stages) != len(DOMAINS):
        return False
    for domain in DOMAINS:
        ends = end_offsets(settings, settings.topic(domain))
        held = stages.get(f"traffic-{domain}", {}).get("partitions", {})
        if {int(p): v["progress"] for p, v in held.items()} != ends:
            return False
    return True


def test_traffic_figures_equal_counts_from_the_domain_topics(
    bus_settings: BusSettings, tmp_path: Path
) -> None:
    """1,500 simulated events and three forged records: each (domain, office)'s total and every minute's
    count of the last hour, read from the view topic and summed over partitions, equal what the domain
    topics hold; forged and missing sources count as ``unknown``.
    """
    settings = bus_settings
    create_topics(settings)
    worker = traffic_worker(settings, tmp_path)
    worker.start()
    try:
        publish_simulated(settings, 1500)
        publish_forged(settings)
        worker.wait_until(lambda: caught_up(worker, settings), 90, "the traffic worker caught up")
        codec = AvroCodec(load_registry(settings.schemas_dir))
        latest: dict[str, OfficeTrafficModel] = {}
        for message in read_to_end(settings, settings.topic(OfficeTrafficModel.TOPIC)):
            view = OfficeTrafficModel.from_avro(codec.decode(message.value).record)
            latest[view.record_key] = view
        assert all(key == view.record_key for key, view in latest.items())

        raw: list[tuple[str, str, int]] = []  # (domain, office, log timestamp) of every domain record
        for domain in DOMAINS:
            for message in read_to_end(settings, settings.topic(domain)):
                headers = dict(message.headers or [])
                source = headers.get("ce_source", b"").decode("utf-8", "replace")
                raw.append((domain, source if is_known_office(source) else "unknown", message.timestamp))
        assert len(raw) > 1000  # the rest of the 1,500 went to passport.quotas, not a domain topic counted

        totals: Counter[tuple[str, str]] = Counter()
        for view in latest.values():
            totals[view.domain, view.office] += view.total
        assert totals == Counter((domain, office) for domain, office, _ in raw)
        assert {("citizen", "unknown"), ("passport", "unknown"), ("protection", "unknown")} <= set(totals)

        now = datetime.now(UTC)
        summed = sum_partitions(latest.values(), now)
        window = {int(m.timestamp() * 1000) for m in summed.minutes}
        for domain in DOMAINS:
            per_minute = Counter(t // MINUTE_MS * MINUTE_MS for d, _, t in raw if d == domain)
            assert per_minute.keys() <= window  # all published moments ago
            assert summed.series[domain] == [per_minute[int(m.timestamp() * 1000)] for m in summed.minutes]
        heard = {office for _, office, _ in raw}
        assert set(summed.last_heard) == heard
        assert len(heard) > 50
    finally:
        worker.stop()
