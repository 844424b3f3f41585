"""The front door's own Prometheus metrics, served on ``GET /metrics`` (no login: figures only, like every
processor's ``/metrics`` on loopback; labels are small fixed sets, never an account, office or person).

Only the front door's own families (``dashboard_*``) and its process's (``process_*``, ``python_*``) are
served, so ``/metrics`` never carries whatever else a process importing the bus's modules happens to count.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

SERVED = ("dashboard_", "process_", "python_")


class FrontDoorFamilies(Collector):
    """The default registry's families whose names start with one of ``SERVED``."""

    def collect(self) -> Iterable[Metric]:
        """Each served family, as the default registry collects it now."""
        return [family for family in REGISTRY.collect() if family.name.startswith(SERVED)]


FRONT_DOOR = CollectorRegistry(auto_describe=False)
FRONT_DOOR.register(FrontDoorFamilies())

LOOKUPS = Counter(
    "dashboard_lookups_total",
    "Personal-data lookups through the front door, by kind and answer status",
    ["kind", "status"],
)
LOOKUP_SECONDS = Histogram(
    "dashboard_lookup_seconds",
    "Time to answer a personal-data lookup (the processor's view included)",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

METRICS_PATH = "/metrics"


def metrics() -> Response:
    """Prometheus text exposition of the front door's metrics."""
    return Response(generate_latest(FRONT_DOOR), media_type=CONTENT_TYPE_LATEST)
