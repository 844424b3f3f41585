"""Prometheus metrics an operator watches, created once; labels are small fixed sets, never personal data."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_PUBLISHED = Counter(
    "bus_events_published_total", "Events acknowledged by the broker", ["type", "source"]
)
PUBLISH_FAILURES = Counter(
    "bus_publish_failures_total", "Events refused before sending or not acknowledged", ["type", "reason"]
)
EVENTS_CONSUMED = Counter("bus_events_consumed_total", "Events decoded by a consumer", ["topic", "type"])
EVENTS_DEADLETTERED = Counter(
    "bus_events_deadlettered_total", "Records sent to the dead-letter topic", ["topic", "reason", "component"]
)
DEADLETTERS_REPLAYED = Counter(
    "bus_deadletters_replayed_total", "Dead letters re-published to their original topic", ["topic"]
)
PUBLISH_SECONDS = Histogram(
    "bus_publish_seconds",
    "Time from send to broker acknowledgement (acks=all)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
