"""The view's figures: what each case counts towards, and how readers combine partitions exactly.

Each case adds one to a few figure groups (``counted``): OPEN_CASES while open, OVERDUE_CASES while overdue,
OPENED once opened, CLOSED and TIME_TO_CLOSE while closed, HOTLINE_CALLS once per distinct call. The
projection keeps, per case, the groups it was last counted in and moves the partition's absolute counts by
the difference, so a redelivery or a replay never counts twice and a case whose late events change its
state moves its counts with it. A group is spelt as the ``ProtectionStats`` key without the partition.

Days are Western Indonesian Time (UTC+7, no daylight saving): what "opened today" means at the desk in
Jakarta. Hours are UTC hours (the same instants as WIB hours). Time to close is in whole minutes, rounded
down, so the histogram summed over partitions gives the exact median of those minutes (``median``), which
a median of per-partition medians would not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.contracts.protection import CaseCategory, Urgency
from services.contracts.protection_items import CaseEventType
from services.contracts.protection_views import CaseState, ProtectionFigure, ProtectionStatsModel
from services.protection.case import CaseFold
from services.protection.facts import CaseEvent

__all__ = [
    "WIB",
    "calls_of",
    "counted",
    "desk_figures",
    "figure_view",
    "median_minutes",
    "moved",
    "sum_partitions",
    "wib_day",
]

WIB = timedelta(hours=7)
_F = ProtectionFigure


def wib_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in Western Indonesian Time."""
    return (moment.astimezone(UTC) + WIB).date()


def _hour(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H}"


def counted(case: CaseFold, calls: Iterable[CaseEvent], *, overdue: bool) -> list[str]:
    """The groups a case adds one to (sorted; a group twice counts twice), given its distinct hotline calls
    and whether it is overdue now.
    """
    groups = [f"{_F.HOTLINE_CALLS}|{call.office}|{_hour(call.time)}" for call in calls]
    if case.status is CaseState.OPEN:
        groups.append(f"{_F.OPEN_CASES}|{case.office}|{case.category}|{case.urgency}")
    if overdue:
        groups.append(f"{_F.OVERDUE_CASES}|{case.office}|{case.urgency}")
    if case.opened_at is not None:
        groups.append(f"{_F.OPENED}|{wib_day(case.opened_at).isoformat()}|{case.opened_by}")
    if case.status is CaseState.CLOSED and case.closed_at is not None:
        groups.append(f"{_F.CLOSED}|{wib_day(case.closed_at).isoformat()}|{case.office}")
        if case.opened_at is not None:
            minutes = max(0, int((case.closed_at - case.opened_at).total_seconds()) // 60)
            groups.append(f"{_F.TIME_TO_CLOSE}|{minutes}")
    return sorted(groups)


def calls_of(events: Iterable[CaseEvent]) -> list[CaseEvent]:
    """The hotline calls among a case's distinct events (every one counts: a call is never refused)."""
    return [event for event in events if event.type is CaseEventType.HOTLINE_CALL_RECEIVED]


def moved(before: Iterable[str], after: Iterable[str]) -> Counter[str]:
    """How each group's count moves when a case's groups go from ``before`` to ``after``."""
    change: Counter[str] = Counter(after)
    change.subtract(Counter(before))
    return Counter({group: n for group, n in change.items() if n})


def figure_view(group: str, partition: int, count: int, as_of: datetime) -> ProtectionStatsModel:
    """The ``ProtectionStats`` record of one group's absolute count in ``partition``."""
    name, *dims = group.split("|")
    figure = ProtectionFigure(name)
    values: dict[str, object] = {}
    for dimension, text in zip(ProtectionStatsModel.DIMENSIONS[figure], dims, strict=True):
        if dimension == "day":
            values["day"] = date.fromisoformat(text)
        elif dimension == "hour":
            values["hour"] = datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        elif dimension == "minutes":
            values["minutes"] = int(text)
        elif dimension == "category":
            values["category"] = CaseCategory(text)
        elif dimension == "urgency":
            values["urgency"] = Urgency(text)
        else:
            values[dimension] = text
    return ProtectionStatsModel.model_validate(
        {"figure": figure, **values, "partition": partition, "count": count, "as_of": as_of}
    )


def sum_partitions(latest: Iterable[ProtectionStatsModel]) -> dict[str, int]:
    """Reader side: the figure across the bus per group, from the latest record per key of every partition
    (what a reader of the compacted ``protection.stats`` holds); groups at zero are left out.
    """
    totals: Counter[str] = Counter()
    for record in latest:
        totals[record.group] += record.count
    return {group: n for group, n in sorted(totals.items()) if n}


def median_minutes(totals: dict[str, int]) -> float | None:
    """Reader side: the exact median time to close, in minutes, from summed TIME_TO_CLOSE groups (the mean
    of the two middle values when their number is even); None when no case is closed.
    """
    histogram = sorted(
        (int(group.split("|")[1]), n)
        for group, n in totals.items()
        if group.startswith(f"{_F.TIME_TO_CLOSE}|")
    )
    size = sum(n for _, n in histogram)
    if size == 0:
        return None
    middle: list[int] = []
    seen = 0
    for minutes, n in histogram:
        middle.extend(minutes for rank in ((size - 1) // 2, size // 2) if seen <= rank < seen + n)
        seen += n
    return sum(middle) / len(middle)


def desk_figures(totals: dict[str, int], now: datetime | None) -> dict[str, Any]:
    """Reader side: the desk's figures from groups summed over partitions (``sum_partitions``), "today"
    (WIB) and "the last 24 hours" (the hour of ``now`` and the 23 before it) reckoned from ``now``: the
    latest partition clock, the time the log has reached, so a replay answers as the live run did.
    """
    today = None if now is None else wib_day(now).isoformat()
    hours = set() if now is None else {_hour(now - timedelta(hours=back)) for back in range(24)}
    rollup: dict[str, Counter[str]] = {
        name: Counter()
        for name in ("open_by_office", "open_by_category", "open_by_urgency", "overdue_by_office")
    }
    overdue_by_urgency: Counter[str] = Counter()
    opened = closed = calls = 0
    for group, n in totals.items():
        name, *dims = group.split("|")
        if name == _F.OPEN_CASES:
            for key, dim in zip(("open_by_office", "open_by_category", "open_by_urgency"), dims, strict=True):
                rollup[key][dim] += n
        elif name == _F.OVERDUE_CASES:
            rollup["overdue_by_office"][dims[0]] += n
            overdue_by_urgency[dims[1]] += n
        elif name == _F.OPENED and dims[0] == today:
            opened += n
        elif name == _F.CLOSED and dims[0] == today:
            closed += n
        elif name == _F.HOTLINE_CALLS and dims[1] in hours:
            calls += n
    return {
        "as_of": None if now is None else f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z",
        "today": today,
        "open_cases": sum(rollup["open_by_office"].values()),
        "overdue_cases": sum(overdue_by_urgency.values()),
        "opened_today": opened,
        "closed_today": closed,
        "median_minutes_to_close": median_minutes(totals),
        "hotline_calls_24h": calls,
        **{key: dict(sorted(counts.items())) for key, counts in rollup.items()},
        "overdue_by_urgency": dict(sorted(overdue_by_urgency.items())),
        "groups": dict(sorted(totals.items())),
    }
