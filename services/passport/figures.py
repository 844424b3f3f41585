"""Passport figures per office and day, pure: from the decisions and from the status view.

Every figure is a count or a histogram, so figures of two partitions (or two days' runs) merge by adding
them, and the median of the merged histogram is exact where a median of medians would not be. Decisions
are counted once per decision id, so a decision sent again after a crash changes nothing.

The status view (``status_projection``) keeps one ``OfficeDayFigures`` per office-day and partition of
``passport.status`` and publishes it as absolute values (``figures_view``, ``PassportFigures`` on the
compacted ``passport.figures``, key ``<office>|<yyyy-mm-dd>|<partition>``). Which day a figure counts on:
bookings, freed and quota used on the booked slot's local day, refusals on the local day asked for,
ready-not-collected and the days-to-ready histogram on the local day the passport became ready
(``pickup_from``), so the passports waiting at an office are the sum over its days. **Readers sum the
latest record per key over partitions** (``sum_partitions``; ``merge`` adds two office-days): exact,
because each partition is counted by one owner from its stored progress. An application counts in the
groups ``application_groups`` gives for its state now; the view moves the counts by the difference when
an application changes (``moved``), so a redelivery or a replay never counts twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.contracts.passport_views import PassportFiguresModel
from services.passport.booking import Cancelled, Confirmed, Decision, Refused
from services.passport.status import Application, ApplicationStatus

__all__ = [
    "READY_DAYS",
    "READY_NOT_COLLECTED",
    "DayFigures",
    "OfficeDayFigures",
    "application_groups",
    "booking_figures",
    "figures_view",
    "median_days",
    "merge_days",
    "moved",
    "ready_days",
    "ready_not_collected",
    "sum_partitions",
]

OfficeDay = tuple[str, date]
READY_NOT_COLLECTED = "ready_not_collected"
READY_DAYS = "ready_days"


@dataclass
class DayFigures:
    """One office-day: bookings confirmed for it, bookings freed again, refusals of requests for it."""

    bookings: int = 0
    freed: int = 0
    refusals: Counter[str] = field(default_factory=Counter)

    @property
    def quota_used(self) -> int:
        """Slots held now: confirmed minus cancelled or moved away."""
        return self.bookings - self.freed

    def merge(self, other: DayFigures) -> DayFigures:
        """The sum of two partitions' figures of the same office-day."""
        return DayFigures(
            self.bookings + other.bookings, self.freed + other.freed, self.refusals + other.refusals
        )


def booking_figures(decisions: Iterable[Decision]) -> dict[OfficeDay, DayFigures]:
    """Figures per (office, day) from decisions: bookings and frees by the slot's day, refusals by the day
    asked for (a cancellation refused counts on the day it was asked). A booking is freed once, whether it
    was cancelled or moved first (a reschedule asked before a cancellation may be confirmed after it).
    """
    figures: dict[OfficeDay, DayFigures] = {}
    seen: set[str] = set()
    booked: dict[str, Confirmed] = {}
    freed: set[str] = set()
    for decision in decisions:
        if decision.decision_id in seen:
            continue
        seen.add(decision.decision_id)
        if isinstance(decision, Confirmed):
            booked[decision.booking_code] = decision
            figures.setdefault((decision.office, decision.day), DayFigures()).bookings += 1
            moved = booked.get(decision.reschedules or "")
            if moved is not None and moved.booking_code not in freed:
                freed.add(moved.booking_code)
                figures.setdefault((moved.office, moved.day), DayFigures()).freed += 1
        elif isinstance(decision, Cancelled) and decision.booking_code not in freed:
            freed.add(decision.booking_code)
            figures.setdefault((decision.office, decision.day), DayFigures()).freed += 1
        elif isinstance(decision, Refused):
            figures.setdefault((decision.office, decision.day), DayFigures()).refusals[
                decision.reason.value
            ] += 1
    return figures


def ready_not_collected(apps: Iterable[Application]) -> Counter[str]:
    """Passports waiting at each office: ready for pickup, not collected."""
    return Counter(app.office for app in apps if app.status is ApplicationStatus.READY_FOR_PICKUP)


def ready_days(apps: Iterable[Application]) -> dict[OfficeDay, Counter[int]]:
    """Per (office, day it became ready): how many applications took how many days from submission."""
    found: dict[OfficeDay, Counter[int]] = {}
    for app in apps:
        if app.ready_from is None or app.submitted_on is None:
            continue
        found.setdefault((app.office, app.ready_from), Counter())[
            (app.ready_from - app.submitted_on).days
        ] += 1
    return found


def merge_days(*parts: dict[OfficeDay, Counter[int]]) -> dict[OfficeDay, Counter[int]]:
    """Histograms of several partitions added together."""
    merged: dict[OfficeDay, Counter[int]] = {}
    for part in parts:
        for place, counts in part.items():
            merged[place] = merged.get(place, Counter()) + counts
    return merged


def median_days(histogram: Counter[int]) -> float | None:
    """The exact median of a days histogram (the mean of the two middle values for an even count)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    ordered = sorted(histogram.items())

    def nth(index: int) -> int:
        for days, count in ordered:
            if index < count:
                return days
            index -= count
        raise IndexError(index)

    return (nth((total - 1) // 2) + nth(total // 2)) / 2


@dataclass
class OfficeDayFigures:
    """All figures of one office-day in one partition (or summed over partitions): absolute counts."""

    bookings: int = 0
    freed: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    ready_not_collected: int = 0
    ready_days: Counter[int] = field(default_factory=Counter)

    @property
    def quota_used(self) -> int:
        """Slots held now: bookings less freed."""
        return self.bookings - self.freed

    def merge(self, other: OfficeDayFigures) -> OfficeDayFigures:
        """The sum of two partitions' figures of the same office-day."""
        return OfficeDayFigures(
            self.bookings + other.bookings,
            self.freed + other.freed,
            self.refusals + other.refusals,
            self.ready_not_collected + other.ready_not_collected,
            self.ready_days + other.ready_days,
        )

    def to_json(self) -> dict[str, Any]:
        """As the view stores it."""
        return {
            "bookings": self.bookings,
            "freed": self.freed,
            "refusals": dict(sorted(self.refusals.items())),
            "ready_not_collected": self.ready_not_collected,
            "ready_days": {str(days): n for days, n in sorted(self.ready_days.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OfficeDayFigures:
        """What ``to_json`` wrote."""
        return cls(
            data["bookings"],
            data["freed"],
            Counter(data["refusals"]),
            data["ready_not_collected"],
            Counter({int(days): n for days, n in data["ready_days"].items()}),
        )

    def move(self, figure: str, change: int) -> None:
        """Move one status figure (``application_groups``' last part) by ``change``."""
        if figure == READY_NOT_COLLECTED:
            self.ready_not_collected += change
            return
        name, days = figure.split(":")
        if name != READY_DAYS:
            raise ValueError(f"no status figure {name}")
        self.ready_days[int(days)] += change
        if not self.ready_days[int(days)]:
            del self.ready_days[int(days)]


def application_groups(app: Application) -> list[str]:
    """The status figures one application counts in now, as ``<office>|<yyyy-mm-dd>|<figure>`` (sorted):
    once it is ready, the days from submission to ready on its ready day; while it waits at the office
    (READY_FOR_PICKUP), ready-not-collected on the same day.
    """
    if app.ready_from is None:
        return []
    place = f"{app.office}|{app.ready_from.isoformat()}"
    groups = []
    if app.submitted_on is not None:
        groups.append(f"{place}|{READY_DAYS}:{(app.ready_from - app.submitted_on).days}")
    if app.status is ApplicationStatus.READY_FOR_PICKUP:
        groups.append(f"{place}|{READY_NOT_COLLECTED}")
    return sorted(groups)


def moved(before: Iterable[str], after: Iterable[str]) -> Counter[str]:
    """How each group moves when an application's groups go from ``before`` to ``after``."""
    change: Counter[str] = Counter(after)
    change.subtract(Counter(before))
    return Counter({group: n for group, n in change.items() if n})


def figures_view(
    office: str, day: date, partition: int, figures: OfficeDayFigures, as_of: datetime
) -> PassportFiguresModel:
    """The ``PassportFigures`` record of one office-day's absolute figures in ``partition``."""
    return PassportFiguresModel(
        office=office,
        day=day,
        partition=partition,
        bookings=figures.bookings,
        freed=figures.freed,
        quota_used=figures.quota_used,
        refusals=dict(sorted(figures.refusals.items())),
        ready_not_collected=figures.ready_not_collected,
        ready_days={str(days): n for days, n in sorted(figures.ready_days.items())},
        as_of=as_of,
    )


def sum_partitions(latest: Iterable[PassportFiguresModel]) -> dict[OfficeDay, OfficeDayFigures]:
    """Reader side: the figures across the bus per (office, day), from the latest record per key of every
    partition (what a reader of the compacted ``passport.figures`` holds): each partition's absolute values
    added, maps key by key. The median days to ready of an office-day is ``median_days`` of its
    ``ready_days``; the passports waiting at an office, the sum of ``ready_not_collected`` over its days.
    """
    totals: dict[OfficeDay, OfficeDayFigures] = {}
    for record in latest:
        part = OfficeDayFigures(
            record.bookings,
            record.freed,
            Counter(record.refusals),
            record.ready_not_collected,
            Counter({int(days): n for days, n in record.ready_days.items()}),
        )
        place = (record.office, record.day)
        totals[place] = totals[place].merge(part) if place in totals else part
    return dict(sorted(totals.items()))
