"""Run the benchmarks: ``python -m bench [name ...]``; results go to bench/results/<name>.json.

Those that need Kafka share one throw-away broker for the run (``bench.common.broker``), so Kafka's own
limits (``kafka``: ProducerPerformance, ConsumerPerformance, EndToEndLatency) are measured on the very
broker our figures come from. ``memory`` runs before the broker starts (it needs none, and an idle JVM
would only take CPU from it). The run ends with one table (``bench.summary``) of every figure beside the
Kafka limit that bounds it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from bench import (
    audit,
    limits,
    memory,
    passport,
    protection,
    publish,
    registry,
    replay,
    restart,
    simulator,
    summary,
)
from bench.common import broker
from deploy.kafka.launcher import KafkaCluster

WITHOUT_BROKER: dict[str, Callable[[], dict[str, Any]]] = {
    "simulator": simulator.main,
    "memory": memory.main,
}
ON_BROKER: dict[str, Callable[[KafkaCluster], dict[str, Any]]] = {
    "kafka": limits.main,
    "publish": publish.main,
    "registry": registry.main,
    "protection": protection.main,
    "passport": passport.main,
    "restart": restart.main,
    "audit": audit.main,
    "replay": replay.main,
}
ORDER = (*WITHOUT_BROKER, *ON_BROKER)


def main(argv: list[str]) -> int:
    names = argv or list(ORDER)
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(ORDER)}", file=sys.stderr)
        return 2
    results: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        cluster: KafkaCluster | None = None
        for name in sorted(names, key=ORDER.index):
            print(f"== {name}", flush=True)
            if name in WITHOUT_BROKER:
                results[name] = WITHOUT_BROKER[name]()
                continue
            if cluster is None:
                cluster = stack.enter_context(broker())
            results[name] = ON_BROKER[name](cluster)
    summary.main(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
