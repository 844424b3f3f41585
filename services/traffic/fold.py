"""The traffic fold, pure: ``state = apply(state, heard)`` per office and partition, no Kafka, no clock.

Time is the log's (each record's timestamp), never a machine's wall clock, so a replay of a partition
gives the figures the live run gave. An office's state keeps its records per minute for the ``WINDOW``
minutes ending with the latest minute it was heard in: a reader picks the minutes of its own window from
them (``services.traffic.figures``), so a figure nobody updates because an office fell silent still reads
right. A record older than the window still counts in ``total``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.reference.offices import is_known_office

MINUTE_MS = 60_000
WINDOW = 60
"""Minutes of per-minute counts an office's state keeps."""
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Heard:
    """One record of a domain topic, as traffic counts it: who sent it and when the log took it."""

    office: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class OfficeTraffic:
    """One office's records on one partition: per minute (``(minute start ms, count)``, oldest first, within
    the window), in total, and the latest log time it was heard at.
    """

    minutes: tuple[tuple[int, int], ...]
    total: int
    last_ms: int


def heard(source: str | None, timestamp_ms: int) -> Heard:
    """What a record counts as: its ``ce_source`` if that is a known office (``unknown`` otherwise, so a
    forged source is never echoed), at its log timestamp.
    """
    office = source if source is not None and is_known_office(source) else UNKNOWN
    return Heard(office, max(0, timestamp_ms))


def apply(state: OfficeTraffic | None, event: Heard) -> OfficeTraffic:
    """The office's traffic with ``event`` counted: its minute one more, minutes out of the window dropped."""
    minute = event.at_ms // MINUTE_MS * MINUTE_MS
    last = max(event.at_ms, state.last_ms) if state is not None else event.at_ms
    oldest = last // MINUTE_MS * MINUTE_MS - (WINDOW - 1) * MINUTE_MS
    counts = dict(state.minutes) if state is not None else {}
    if minute >= oldest:
        counts[minute] = counts.get(minute, 0) + 1
    kept = tuple(sorted((m, n) for m, n in counts.items() if m >= oldest))
    return OfficeTraffic(kept, (state.total if state is not None else 0) + 1, last)


def fold(events: Iterable[Heard], state: dict[str, OfficeTraffic] | None = None) -> dict[str, OfficeTraffic]:
    """Every office's traffic after ``events`` (in log order), from ``state`` (empty by default)."""
    offices = dict(state or {})
    for event in events:
        offices[event.office] = apply(offices.get(event.office), event)
    return offices


def encode(state: OfficeTraffic) -> bytes:
    """The state as stored: ``total last minute:count ...`` in ASCII."""
    minutes = " ".join(f"{m}:{n}" for m, n in state.minutes)
    return f"{state.total} {state.last_ms} {minutes}".strip().encode()


def decode(data: bytes) -> OfficeTraffic:
    """The stored state read back (``encode`` reversed)."""
    total, last, *minutes = data.decode().split(" ")
    pairs = tuple((int(m), int(n)) for m, _, n in (part.partition(":") for part in minutes))
    return OfficeTraffic(pairs, int(total), int(last))
