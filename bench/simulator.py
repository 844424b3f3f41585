"""How fast the traffic simulator generates events (it must never be what limits a load test)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bench.common import print_table, write_result
from services.sim.simulator import TrafficSimulator

EVENTS = 50_000


def main() -> None:
    rates = []
    for seed in range(3):
        sim = TrafficSimulator(seed, start=datetime.now(UTC) - timedelta(days=365))
        began = time.perf_counter()
        sim.next_batch(EVENTS)
        rates.append(EVENTS / (time.perf_counter() - began))
    print_table("simulator", ["seed", "events/s"], [[i, f"{r:,.0f}"] for i, r in enumerate(rates)])
    print(f"written to {write_result('simulator', {'events': EVENTS, 'events_per_s': rates})}")
