"""The auditors' archive: how fast ``bus archive`` writes history to Avro files and ``bus verify`` checks it.

A history of 200,000 records (simulated events encoded once by the SDK, then sent again and again by a
raw kafka-python producer, so loading costs no encoding) on the domain topics, six partitions each. The
clock runs over one ``archive`` of all of it into an empty directory (read from Kafka, deflate, SHA-256,
a digest per record, files and manifests flushed to disk), then over one ``verify`` of the archive (every
file hashed and decoded, every record's digest, the chain, the offsets). Both in records per second,
beside what Kafka's own ConsumerPerformance reads on the same broker.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from bench.common import write_result
from deploy.kafka.launcher import KafkaCluster
from services.audit.archiving import archive
from services.audit.verify import verify_archive
from services.bus.catalogue import create_topics
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator

RECORDS = 200_000
DISTINCT = 5_000
"""Distinct encoded events, sent in turn: enough keys to spread over every partition."""


def load_history(settings: BusSettings, records: int) -> float:
    """Put ``records`` pre-encoded records on the domain topics; returns the seconds it took."""
    create_topics(settings)
    sim = TrafficSimulator(17, start=datetime.now(UTC) - timedelta(days=30))
    with Publisher(settings) as publisher:
        prepared = [
            publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
            for s in sim.next_batch(DISTINCT)
        ]
    producer = KafkaProducer(**{**producer_config(settings), "linger_ms": 20})
    started = time.perf_counter()
    try:
        for i in range(records):
            o = prepared[i % len(prepared)]
            producer.send(o.topic, o.value, key=o.key, headers=o.headers)
        producer.flush(600)
    finally:
        producer.close()
    return time.perf_counter() - started


def main(cluster: KafkaCluster) -> dict[str, Any]:
    settings = BusSettings(bootstrap_servers=cluster.bootstrap_servers, topic_prefix="audit.")
    load_seconds = load_history(settings, RECORDS)
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        directory = tmp / "archive"
        started = time.perf_counter()
        run = archive(settings, directory)
        archive_seconds = time.perf_counter() - started
        assert run.records == RECORDS, run
        size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
        started = time.perf_counter()
        report = verify_archive(directory)
        verify_seconds = time.perf_counter() - started
        assert not report.failed, [f.line() for f in report.findings[:5]]
        assert report.records == RECORDS, report.records
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "records": RECORDS,
        "load_seconds": round(load_seconds, 2),
        "archive_seconds": round(archive_seconds, 2),
        "archive_records_per_s": round(RECORDS / archive_seconds),
        "verify_seconds": round(verify_seconds, 2),
        "verify_records_per_s": round(RECORDS / verify_seconds),
        "files": run.files,
        "archive_bytes": size,
        "bytes_per_record": round(size / RECORDS, 1),
    }
    print(
        f"archive {result['archive_records_per_s']:,} records/s, verify {result['verify_records_per_s']:,} "
        f"records/s ({run.files} files, {size / 2**20:,.1f} MiB)"
    )
    write_result("audit", result)
    return result
