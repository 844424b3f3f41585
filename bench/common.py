"""What the benchmarks share: a throw-away broker, result files and a printed table."""

from __future__ import annotations

import json
import platform
import statistics
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


def latency_figures(latencies: list[float], not_visible_after: float) -> dict[str, float]:
    """Samples, how many were not visible within ``not_visible_after`` s (counted as that bound), and
    p50 / p99 / max in ms of publish -> visible latencies given in seconds.
    """
    ordered = sorted(latencies)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "samples": len(ordered),
        "not_visible_within_s": not_visible_after,
        "not_visible": sum(1 for value in ordered if value >= not_visible_after),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


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
