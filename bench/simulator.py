"""How fast the traffic simulator generates events (it must never be what limits a load test)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import write_result
from services.sim.simulator import TrafficSimulator

EVENTS = 50_000


def main() -> dict[str, Any]:
    """Events generated per second by three seeds; bench/results/simulator.json."""
    rates = []
    for seed in range(3):
        sim = TrafficSimulator(seed, start=datetime.now(UTC) - timedelta(days=365))
        began = time.perf_counter()
        sim.next_batch(EVENTS)
        rates.append(EVENTS / (time.perf_counter() - began))
    result = {"events": EVENTS, "events_per_s": rates, "median": statistics.median(rates)}
    print(f"simulator: {result['median']:,.0f} events/s; written to {write_result('simulator', result)}")
    return result
