"""Kafka's own limits on the benchmark broker, with the settings the bus uses: the yardstick for ours.

Kafka's tools from the ``kafka-tools`` jar of the broker's release (``deploy/kafka/pom.xml``), run with
the JDK on ``deploy/kafka/lib/*`` against the broker the other benchmarks use in the same run:

- ``ProducerPerformance``: as fast as it can, records of the mean size of our events as they go on the
  wire (Avro value + key + envelope headers of simulated events through ``Publisher.prepare``), with our
  producer settings (``producer_config``: acks=all, idempotence, 5 in flight, our linger and batch size)
  into a topic of the domain topics' partition count and replication;
- ``ConsumerPerformance``: the same records read back by one consumer with our consumer settings (no
  auto-commit, 500 records per poll); ``fetch`` rates leave the group join out, the others include it;
- ``EndToEndLatency``: one record of that size at a time, produced (acks=all) and consumed: one hop of
  the bus's publish-to-view path, which crosses two (domain topic, then ``registry.observations``).

``ROUNDS`` rounds on fresh topics (deleted after), medians reported.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic

from bench.common import broker_for, write_result
from deploy.kafka.launcher import LIB, KafkaCluster
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator

RECORDS = 1_000_000
ROUNDS = 3
LATENCY_RECORDS = 2_000
SIZE_SAMPLE = 20_000
TOOL_HEAP = "512m"
TOOLS = "org.apache.kafka.tools."
TOOL_TIMEOUT = 600
CONSUMER_PROPS = {"enable.auto.commit": "false", "max.poll.records": "500"}
"""What our consumers set (``BusConsumer`` and the runtime's intake); the rest are both clients' defaults."""
QUIET_LOG4J = "log4j.rootLogger=ERROR, stderr\n" + "".join(
    f"log4j.appender.stderr{k}\n"
    for k in (
        "=org.apache.log4j.ConsoleAppender",
        ".Target=System.err",
        ".layout=org.apache.log4j.PatternLayout",
        ".layout.ConversionPattern=%p %m (%c)%n",
    )
)

_PRODUCED = re.compile(
    r"(?P<records>\d+) records sent, (?P<records_per_s>[\d.]+) records/sec \((?P<mb_per_s>[\d.]+) MB/sec\), "
    r"(?P<avg_ms>[\d.]+) ms avg latency, (?P<max_ms>[\d.]+) ms max latency, (?P<p50_ms>\d+) ms 50th, "
    r"(?P<p95_ms>\d+) ms 95th, (?P<p99_ms>\d+) ms 99th, (?P<p999_ms>\d+) ms 99.9th"
)
_E2E_AVG = re.compile(r"Avg latency: (?P<avg_ms>[\d.]+) ms")
_E2E_PCT = re.compile(r"50th = (?P<p50_ms>\d+), 99th = (?P<p99_ms>\d+), 99.9th = (?P<p999_ms>\d+)")


class ToolFailed(RuntimeError):
    """A Kafka tool exited with an error or printed nothing we could read."""


def tools_jar(lib: Path = LIB) -> Path:
    """The kafka-tools jar of the broker's release; ToolFailed naming ``make jars`` when it is missing."""
    jars = sorted(lib.glob("kafka-tools-[0-9]*.jar"))
    if not jars:
        raise ToolFailed(f"no kafka-tools jar in {lib}: run `make jars` (deploy/kafka/pom.xml names it)")
    return jars[-1]


def kafka_version(lib: Path = LIB) -> str:
    """The release of the jars in ``lib`` (from the tools jar's name)."""
    return tools_jar(lib).stem.removeprefix("kafka-tools-")


PYTHON_ONLY = frozenset({"partitioner"})
"""Settings with no Java property: the bus's partitioner is Kafka's default one (murmur2 of the key), which
Java's producer uses anyway."""


def java_props(config: dict[str, Any]) -> list[str]:
    """kafka-python producer settings as Java client properties (``acks=all``, ``linger.ms=5``...)."""
    text = {True: "true", False: "false"}
    return [
        f"{key.replace('_', '.')}={text.get(value, value)}"
        for key, value in sorted(config.items())
        if key not in PYTHON_ONLY
    ]


@contextmanager
def quiet_logging() -> Iterator[Path]:
    """A log4j configuration that prints errors only (to stderr), for the tools' JVMs."""
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as tmp:
        path = Path(tmp) / "log4j.properties"
        path.write_text(QUIET_LOG4J)
        yield path


def run_tool(main: str, *args: str, log4j: Path) -> str:
    """Run one of Kafka's tools on the broker's classpath; its stdout."""
    java = shutil.which("java")
    if java is None:
        raise ToolFailed("java is not on PATH (OpenJDK 17 is needed)")
    tools_jar()
    cmd = [java, f"-Xmx{TOOL_HEAP}", f"-Dlog4j.configuration=file:{log4j}", "-cp", f"{LIB}/*", TOOLS + main]
    out = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    if out.returncode != 0:
        raise ToolFailed(f"{main} exited with {out.returncode}:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return out.stdout


def record_size(settings: BusSettings) -> dict[str, float]:
    """Mean bytes of simulated events as ``Publisher.prepare`` encodes them: value, key, headers, total."""
    sim = TrafficSimulator(42, start=datetime.now(UTC) - timedelta(days=60))
    with Publisher(settings) as publisher:
        encoded = [
            publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
            for s in sim.next_batch(SIZE_SAMPLE)
        ]
    value = statistics.fmean(len(o.value) for o in encoded)
    key = statistics.fmean(len(o.key) for o in encoded)
    headers = statistics.fmean(sum(len(k) + len(v) for k, v in o.headers) for o in encoded)
    return {
        "events": SIZE_SAMPLE,
        "value": value,
        "key": key,
        "headers": headers,
        "total": value + key + headers,
    }


def produce(settings: BusSettings, topic: str, records: int, size: int, log4j: Path) -> dict[str, float]:
    """``ProducerPerformance`` at full speed with our producer settings."""
    props = java_props({**producer_config(settings), "client_id": "bench-producer-performance"})
    out = run_tool(
        "ProducerPerformance",
        *("--topic", topic, "--num-records", str(records), "--record-size", str(size)),
        *("--throughput", "-1", "--producer-props", *props),
        log4j=log4j,
    )
    found = list(_PRODUCED.finditer(out))
    if not found:
        raise ToolFailed(f"ProducerPerformance printed no summary:\n{out[-2000:]}")
    return {k: float(v) for k, v in found[-1].groupdict().items()}


def consume(settings: BusSettings, topic: str, records: int, log4j: Path) -> dict[str, float]:
    """``ConsumerPerformance``: ``records`` read back by one consumer with our consumer settings."""
    with tempfile.NamedTemporaryFile("w", suffix=".properties", prefix="bench-consumer-") as config:
        config.write("".join(f"{k}={v}\n" for k, v in CONSUMER_PROPS.items()))
        config.flush()
        out = run_tool(
            "ConsumerPerformance",
            *("--bootstrap-server", settings.bootstrap_servers, "--topic", topic),
            *("--messages", str(records), "--timeout", "60000", "--consumer.config", config.name),
            log4j=log4j,
        )
    lines = [line for line in out.splitlines() if line.strip()]
    header = next((i for i, line in enumerate(lines) if line.startswith("start.time")), None)
    if header is None or header + 1 >= len(lines):
        raise ToolFailed(f"ConsumerPerformance printed no summary:\n{out[-2000:]}")
    names = [name.strip() for name in lines[header].split(",")]
    values = [value.strip() for value in lines[header + 1].split(",")]
    row = dict(zip(names, values, strict=True))
    return {
        "records": float(row["data.consumed.in.nMsg"]),
        "records_per_s": float(row["nMsg.sec"]),
        "mb_per_s": float(row["MB.sec"]),
        "fetch_records_per_s": float(row["fetch.nMsg.sec"]),
        "fetch_mb_per_s": float(row["fetch.MB.sec"]),
        "rebalance_ms": float(row["rebalance.time.ms"]),
    }


def end_to_end(settings: BusSettings, topic: str, size: int, log4j: Path) -> dict[str, float]:
    """``EndToEndLatency``: produce one record (acks=all), wait until it is consumed, next."""
    out = run_tool(
        "EndToEndLatency",
        *(settings.bootstrap_servers, topic, str(LATENCY_RECORDS), "all", str(size)),
        log4j=log4j,
    )
    avg, pct = _E2E_AVG.search(out), _E2E_PCT.search(out)
    if avg is None or pct is None:
        raise ToolFailed(f"EndToEndLatency printed no summary:\n{out[-2000:]}")
    return {
        "records": LATENCY_RECORDS,
        **{k: float(v) for k, v in (avg.groupdict() | pct.groupdict()).items()},
    }


def measure(cluster: KafkaCluster) -> dict[str, Any]:
    """Every round of producer and consumer, then the end-to-end latency, on ``cluster``."""
    settings = BusSettings(bootstrap_servers=cluster.bootstrap_servers, topic_prefix="kperf.")
    size = record_size(settings)
    record_bytes = round(size["total"])
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="bench-kafka")
    produced: list[dict[str, float]] = []
    consumed: list[dict[str, float]] = []
    try:
        with quiet_logging() as log4j:
            for round_no in range(ROUNDS):
                topic = settings.topic(f"round{round_no}")
                admin.create_topics([NewTopic(topic, settings.partitions, settings.replication_factor)])
                produced.append(produce(settings, topic, RECORDS, record_bytes, log4j))
                consumed.append(consume(settings, topic, RECORDS, log4j))
                admin.delete_topics([topic])
            topic = settings.topic("latency")
            admin.create_topics([NewTopic(topic, 1, settings.replication_factor)])
            latency = end_to_end(settings, topic, record_bytes, log4j)
            admin.delete_topics([topic])
    finally:
        admin.close()

    def median(rounds: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    return {
        "kafka_version": kafka_version(),
        "record_bytes": size,
        "records": RECORDS,
        "rounds": ROUNDS,
        "producer_settings": [p for p in java_props(producer_config(settings)) if "bootstrap" not in p],
        "consumer_settings": CONSUMER_PROPS,
        "partitions": settings.partitions,
        "replication_factor": settings.replication_factor,
        "producer": produced,
        "consumer": consumed,
        "end_to_end": latency,
        "producer_records_per_s": median(produced, "records_per_s"),
        "producer_mb_per_s": median(produced, "mb_per_s"),
        "producer_p99_ms": median(produced, "p99_ms"),
        "consumer_records_per_s": median(consumed, "records_per_s"),
        "consumer_fetch_records_per_s": median(consumed, "fetch_records_per_s"),
        "consumer_fetch_mb_per_s": median(consumed, "fetch_mb_per_s"),
    }


def main(cluster: KafkaCluster | None = None) -> dict[str, Any]:
    """Kafka's limits on ``cluster`` (a broker of its own when None); bench/results/kafka.json."""
    with broker_for(cluster) as used:
        result = measure(used)
    size = result["record_bytes"]
    print(
        f"kafka {result['kafka_version']}: records of {size['total']:.0f} B, "
        f"producer {result['producer_records_per_s']:,.0f} records/s, "
        f"consumer {result['consumer_fetch_records_per_s']:,.0f} records/s, "
        f"end-to-end p99 {result['end_to_end']['p99_ms']:.0f} ms; "
        f"written to {write_result('kafka', result)}"
    )
    return result
