"""Passport figures per office and day, pure: from the decisions and from the status view.

Every figure is a count or a histogram, so figures of two partitions (or two days' runs) merge by adding
them, and the median of the merged histogram is exact where a median of medians would not be. Decisions
are counted once per decision id, so a decision sent again after a crash changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from services.passport.booking import Cancelled, Confirmed, Decision, Refused
from services.passport.status import Application, ApplicationStatus

__all__ = [
    "DayFigures",
    "booking_figures",
    "median_days",
    "merge_days",
    "ready_days",
    "ready_not_collected",
]

OfficeDay = tuple[str, date]


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
    asked for (a cancellation refused counts on the day it was asked).
    """
    figures: dict[OfficeDay, DayFigures] = {}
    seen: set[str] = set()
    booked: dict[str, Confirmed] = {}
    for decision in decisions:
        if decision.decision_id in seen:
            continue
        seen.add(decision.decision_id)
        if isinstance(decision, Confirmed):
            booked[decision.booking_code] = decision
            figures.setdefault((decision.office, decision.day), DayFigures()).bookings += 1
            moved = booked.get(decision.reschedules or "")
            if moved is not None:
                figures.setdefault((moved.office, moved.day), DayFigures()).freed += 1
        elif isinstance(decision, Cancelled):
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
