"""What the benchmarks share: a throw-away broker, result files and a printed table."""

from __future__ import annotations

import json
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy.kafka.launcher import KafkaCluster

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def broker() -> Iterator[KafkaCluster]:
    """A fresh single-node broker on free ports, so figures never depend on what the dev broker holds."""
    with tempfile.TemporaryDirectory(prefix="bench-kafka-") as tmp:
        cluster = KafkaCluster.on_free_ports(Path(tmp))
        cluster.start(timeout=120)
        try:
            yield cluster
        finally:
            cluster.stop()


@contextmanager
def broker_for(cluster: KafkaCluster | None) -> Iterator[KafkaCluster]:
    """``cluster`` when a run shares one broker between benchmarks, else a throw-away one of its own."""
    if cluster is not None:
        yield cluster
        return
    with broker() as own:
        yield own


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {
        "benchmark": name,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        **result,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
