"""The dead-letter figures view on the real broker: six partitions, two workers, one SIGKILLed mid-stream and
restarted; what the view topic says equals figures computed here from what was written to bus.deadletter.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from deploy.kafka.launcher import free_port
from services.bus.codec import AvroCodec
from services.bus.publisher import producer_config
from services.bus.reading import end_offsets, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.figures import combined
from services.contracts.deadletters import DeadLetterCountModel
from tests.integration.registry_harness import ProcessorWorker

PARTITIONS = 6
REASONS = ["MALFORMED", "UNKNOWN_SCHEMA", "INVALID_ENVELOPE", "UNKNOWN_SOURCE", "FUTURE_EVENT"]
COMPONENTS = ["registry-intake", "registry-core", "passport-intake"]
SOURCES = ["kbri-tokyo", "kjri-new-york", "ptri-geneva", "ditjen-imigrasi"]
HOUR_MS = 3_600_000
BASE_HOUR = 1_795_000_000_000 // HOUR_MS * HOUR_MS


def a_dead_letter(rng: random.Random) -> tuple[bytes, list[tuple[str, bytes]], str]:
    """Key, headers and the group this test expects the letter in (written from the contract's doc:
    a header that is missing or not a code lands in OTHER / other / unknown).
    """
    hour = BASE_HOUR + rng.randrange(4) * HOUR_MS
    refused_at = hour + rng.randrange(HOUR_MS)
    headers: list[tuple[str, bytes]] = [
        ("dlq_topic", b"citizen"),
        ("dlq_refused_at", str(refused_at).encode()),
    ]
    roll = rng.random()
    reason = rng.choice(REASONS)
    if roll < 0.05:
        expected_reason = "OTHER"  # no dlq_reason at all
    elif roll < 0.1:
        headers.append(("dlq_reason", b"\xff\xfenot-a-code"))
        expected_reason = "OTHER"
    else:
        headers.append(("dlq_reason", reason.encode()))
        expected_reason = reason
    component = rng.choice(COMPONENTS)
    headers.append(("dlq_component", component.encode()))
    source = rng.choice([*SOURCES, "kbri-atlantis", ""])
    if source:
        headers.append(("ce_source", source.encode()))
    expected_source = source if source in SOURCES else "unknown"
    stamp = datetime.fromtimestamp(hour / 1000, UTC)
    return uuid.uuid4().bytes, headers, f"{expected_reason}|{component}|{expected_source}|{stamp:%Y-%m-%dT%H}"


def send(settings: BusSettings, letters: list[tuple[bytes, list[tuple[str, bytes]], str]]) -> None:
    producer = KafkaProducer(**producer_config(settings))
    try:
        topic = settings.topic(settings.deadletter_topic)
        for key, headers, _ in letters:
            producer.send(topic, b"refused bytes", key=key, headers=headers)
        producer.flush(60)
    finally:
        producer.close()


def figures_worker(settings: BusSettings, tmp: Path, name: str) -> ProcessorWorker:
    return ProcessorWorker(
        settings,
        tmp / f"{name}-data",
        free_port(),
        tmp / f"{name}.log",
        command=("deadletter", "worker"),
        env_prefix="DEADLETTERS_",
        answers_on="/stats",
        instance=f"test-{name}",
    )


@pytest.fixture
def six_partitions(bus_settings: BusSettings) -> BusSettings:
    admin = KafkaAdminClient(bootstrap_servers=bus_settings.bootstrap_servers)
    try:
        admin.create_topics([NewTopic(bus_settings.topic(bus_settings.deadletter_topic), PARTITIONS, 1)])
    finally:
        admin.close()
    return bus_settings


class TestDeadLetterFigures:
    def test_two_workers_one_killed_midstream_equal_the_dead_letters(
        self, six_partitions: BusSettings, tmp_path: Path, record_property: pytest.RecordProperty
    ) -> None:
        """3,000 dead letters over six partitions, two workers sharing them, one SIGKILLed after the first
        half and restarted: the view's figures (latest per partition, summed per group) equal what was
        written, group by group, and every partition's figures add up to its number of records.
        """
        settings = six_partitions
        rng = random.Random(7)
        letters = [a_dead_letter(rng) for _ in range(3000)]
        one, two = figures_worker(settings, tmp_path, "one"), figures_worker(settings, tmp_path, "two")
        one.start()
        two.start()
        try:

            def owned(worker: ProcessorWorker) -> int:
                return len((worker.get("/stats") or {}).get("partitions", {}))

            one.wait_until(lambda: owned(one) + owned(two) == PARTITIONS > owned(one) > 0, 60, "a share each")
            send(settings, letters[:1500])
            two.wait_until(lambda: (two.get("/stats") or {}).get("applied", 0) > 0, 60, "worker two applying")
            two.kill()
            send(settings, letters[1500:])
            began = time.monotonic()
            two.start()
            two.wait_until(
                lambda: (two.get("/stats") or {}).get("ready") is True, 60, "worker two ready again"
            )
            restart_to_ready = time.monotonic() - began
            record_property("restart_to_ready_seconds", round(restart_to_ready, 2))
            print(f"restart to ready: {restart_to_ready:.2f} s")  # noqa: T201 - a measured figure for the report
            expected = Counter(group for _, _, group in letters)
            one.wait_until(
                lambda: combined(settings) == expected, 120, "the figures to equal the dead letters"
            )
            readers = [
                p["read_by"] for w in (one, two) for p in (w.get("/stats") or {})["partitions"].values()
            ]
            assert readers == ["tail"] * PARTITIONS  # caught up: each worker reads its partitions itself
        finally:
            one.stop()
            two.stop()
        assert combined(settings) == expected
        ends = end_offsets(settings, settings.topic(settings.deadletter_topic))
        per_partition: Counter[int] = Counter()
        latest = {}
        for message in read_to_end(settings, settings.topic("deadletters.figures")):
            latest[message.key] = message
        codec = AvroCodec(load_registry(settings.schemas_dir))
        for message in latest.values():
            view = DeadLetterCountModel.from_avro(codec.decode(message.value).record)
            per_partition[view.partition] += view.count
        assert dict(per_partition) == {p: n for p, n in ends.items() if n}
        assert sum(ends.values()) == len(letters)
