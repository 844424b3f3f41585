"""What an operator of the registry watches beyond the runtime's figures (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DECISION_CONFLICTS = Counter(
    "registry_decision_conflicts_total", "Officer decisions refused: their id was used for another decision"
)
CITIZENS = Gauge("registry_citizens", "Citizen records stored")
