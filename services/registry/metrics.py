"""What an operator of the registry worker watches (served on ``/metrics`` by the worker's web server)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ITEMS_APPLIED = Counter(
    "registry_items_applied_total", "Observations and officer decisions applied by the core", ["kind"]
)
GAPS_FILLED = Counter(
    "registry_gaps_filled_total", "Times the core read missed items straight from the resolver topic"
)
DECISION_CONFLICTS = Counter(
    "registry_decision_conflicts_total", "Officer decisions refused: their id was used for another decision"
)
BATCH_SECONDS = Histogram(
    "registry_batch_seconds",
    "Time to apply, publish and store one batch of the core",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
PROGRESS = Gauge("registry_progress_offset", "Offset of the resolver topic up to which the store holds")
CITIZENS = Gauge("registry_citizens", "Citizen records stored")
