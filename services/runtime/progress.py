"""What a partition's core does with what it was handed: pure decisions, tested without Kafka.

The stored state of a partition holds "every record before ``progress`` applied". Whatever faust hands
over (a redelivery below ``progress``, a batch that skips records after a rebalance, the same offset
twice), the core applies exactly the records that continue the state, and reads from the topic itself the
records nobody handed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Step(Generic[R]):
    """Apply ``apply`` (consecutive offsets from ``progress``), or read ``[progress, read_to)`` first."""

    apply: tuple[tuple[int, R], ...] = ()
    read_to: int | None = None
    """When set, the batch does not continue at ``progress``: read everything up to here from the topic."""


def next_step(progress: int, batch: Sequence[tuple[int, R]]) -> Step[R]:
    """What to do with ``batch`` (offset, record) given the stored ``progress``.

    Offsets below ``progress`` are already applied and dropped; a repeated offset counts once (the last
    copy, which is the same record). The rest is applied as it is if it continues exactly at ``progress``,
    else the range from ``progress`` to the batch's last offset is read from the topic instead: the only
    way to be sure that no record in between was skipped.
    """
    fresh = sorted({offset: record for offset, record in batch if offset >= progress}.items())
    if not fresh:
        return Step()
    last = fresh[-1][0]
    if fresh[0][0] == progress and last == progress + len(fresh) - 1:
        return Step(apply=tuple(fresh))
    return Step(read_to=last + 1)


class Start(StrEnum):
    """How a partition's stored state relates to its topic when the core takes the partition."""

    CATCH_UP = "catch-up"
    """The topic has records the state has not applied (or none): apply them from ``progress``."""
    REBUILD = "rebuild"
    """The state holds more than the topic has: the topic was recreated, the state describes another
    history. Clear it and fold the topic from offset 0, never skip the new records."""


def on_start(progress: int, end: int) -> Start:
    """Compare the stored ``progress`` with the partition's ``end`` offset when taking it over."""
    return Start.REBUILD if progress > end else Start.CATCH_UP


def chunks(start: int, end: int, size: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into ranges of at most ``size`` offsets, so memory stays bounded."""
    return [(lo, min(end, lo + size)) for lo in range(start, end, size)]
