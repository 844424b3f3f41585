"""What the booking and status rules say, computed from raw decisions and events without the service's
code: the independent side of the property and figure tests.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from services.passport.booking import Cancelled, Confirmed, Decision, Refused

Place = tuple[str, date]


def distinct(decisions: list[Decision]) -> list[Decision]:
    """Each decision once, in the order first written."""
    seen: set[str] = set()
    out = []
    for decision in decisions:
        if decision.request_id not in seen:
            seen.add(decision.request_id)
            out.append(decision)
    return out


def active_bookings(decisions: list[Decision]) -> dict[str, Confirmed]:
    """Booking code -> booking, for bookings neither cancelled nor moved by a later reschedule."""
    active: dict[str, Confirmed] = {}
    for decision in distinct(decisions):
        if isinstance(decision, Confirmed):
            active.pop(decision.reschedules or "", None)
            active[decision.booking_code] = decision
        elif isinstance(decision, Cancelled):
            active.pop(decision.booking_code, None)
    return active


def oracle_figures(decisions: list[Decision]) -> dict[Place, tuple[int, int, Counter[str]]]:
    """(bookings, slots in use at the end, refusals by reason) per office-day, from raw decisions."""
    first = distinct(decisions)
    in_use = Counter((b.office, b.day) for b in active_bookings(first).values())
    bookings = Counter((d.office, d.day) for d in first if isinstance(d, Confirmed))
    refusals: dict[Place, Counter[str]] = defaultdict(Counter)
    for d in first:
        if isinstance(d, Refused):
            refusals[d.office, d.day][d.reason.value] += 1
    places = set(bookings) | set(refusals) | {(d.office, d.day) for d in first if isinstance(d, Cancelled)}
    return {p: (bookings[p], in_use[p], refusals.get(p, Counter())) for p in places}


def oracle_median(values: list[int]) -> float | None:
    """The textbook median of a list."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
