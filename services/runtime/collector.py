"""Python's cyclic garbage collector, tuned for a processor: a long-lived in-memory state and many short
allocations per record.

With the default thresholds (700 allocations) the collector ran every few records and each older-generation
pass walked the whole in-memory index: a quarter of the registry core's CPU (in process, 271 -> 206 us per
item with the threshold below). Reference counting still frees almost everything at once; the collector is
only needed for cycles, which the folds do not make per record. Objects that survive a take-over (the
restored state) are moved out of the collector's sight with ``gc.freeze``, so later passes do not walk them.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000
"""Allocations (minus deallocations) between two young-generation passes (Python's default: 700)."""
OLDER_THRESHOLDS = (50, 100)


def tune_collector() -> None:
    """Set the process's collector thresholds for a processor (called once per process at start)."""
    gc.set_threshold(GEN0_THRESHOLD, *OLDER_THRESHOLDS)


def freeze_survivors() -> None:
    """Collect once, then keep every object alive now out of later passes (after restoring a state)."""
    gc.collect()
    gc.freeze()
