"""What an operator of any processor watches, labelled by processor and partition (served on ``/metrics``).

The intake runs in a process of its own: its counters reach this process through shared memory
(``services.runtime.intake.IntakeCounters``) and are exported by ``IntakeCollector`` beside these.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECORDS_APPLIED = Counter(
    "runtime_records_applied_total", "Input records folded into a view's state", ["processor", "partition"]
)
RECORDS_REFUSED = Counter(
    "runtime_records_refused_total",
    "Input records a view's core refused (dead-lettered with the reason)",
    ["processor", "reason"],
)
GAPS_FILLED = Counter(
    "runtime_gaps_filled_total",
    "Times a core read records nobody handed it straight from its input topic",
    ["processor", "partition"],
)
REBUILDS = Counter(
    "runtime_rebuilds_total",
    "Times a partition's state was cleared and rebuilt (it held more than its topic, or a chunk failed)",
    ["processor", "partition"],
)
BATCH_SECONDS = Histogram(
    "runtime_batch_seconds",
    "Time to apply, publish and store one chunk of a partition",
    ["processor"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
PROGRESS = Gauge(
    "runtime_progress_offset",
    "Offset up to which a partition's stored state holds",
    ["processor", "partition"],
)
LAG = Gauge(
    "runtime_consumer_lag",
    "Records of a partition not yet in the stored state: end offset minus the stored progress",
    ["processor", "partition"],
)
READY = Gauge(
    "runtime_ready", "1 when every partition the worker owns is caught up and restored", ["processor"]
)
TAKEOVER_SECONDS = Histogram(
    "runtime_takeover_seconds",
    "From a partition's assignment to its state being ready (restored and caught up)",
    ["processor"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
