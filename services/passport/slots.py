"""Stage 2 of fair booking, one fold per partition of ``passport.slots`` (keyed by office-day): capacity.

All asks for one office-day land on one partition, so one fold decides them one after the other and the
day cannot be overbooked however many workers run. An ask gets the smallest free queue number while the
day's holds are below the capacity the office set for that service and day (the latest ``QuotaSet`` whose
``from_date`` is on or before it, as this partition has seen them), else DAY_FULL (NO_QUOTA when there is no
quota). A release frees its booking's number. A lowered quota never takes a booking back.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date

from services.contracts.passport import PassportService
from services.contracts.passport_booking import BookingRefusal
from services.passport.booking import REQUESTS, Answer, Ask, Out, QuotaChange, Release

__all__ = ["SlotStage"]

Day = tuple[str, date, PassportService]


@dataclass(slots=True)
class SlotStage:
    """The state of one ``passport.slots`` partition."""

    quotas: dict[tuple[str, PassportService], dict[date, int]] = field(default_factory=dict)
    """(office, service) -> from day -> capacity (a later quota for the same day replaces it)."""
    quota_ids: set[str] = field(default_factory=set)
    holds: dict[Day, dict[str, int]] = field(default_factory=dict)
    """(office, day, service) -> request id -> queue number."""
    answered: dict[str, Out] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)

    def capacity(self, office: str, day: date, service: PassportService) -> int | None:
        """The capacity for the day as this partition knows it; None without any quota."""
        rows = self.quotas.get((office, service), {})
        days = sorted(rows)
        at = bisect.bisect_right(days, day)
        return rows[days[at - 1]] if at else None

    def apply(self, record: Ask | Release | QuotaChange) -> list[Out]:
        """Fold one record of the partition; an ask's answer (the same again for an ask seen before)."""
        if isinstance(record, QuotaChange):
            if record.quota_id not in self.quota_ids:
                self.quota_ids.add(record.quota_id)
                self.quotas.setdefault((record.office, record.service), {})[record.from_day] = record.capacity
            return []
        if isinstance(record, Release):
            if record.request_id not in self.released:
                self.released.add(record.request_id)
                self.holds.get((record.office, record.day, record.service), {}).pop(record.request_id, None)
            return []
        seen = self.answered.get(record.request_id)
        if seen is not None:
            return [seen]
        out = Out(REQUESTS, record.citizen, self._answer(record))
        self.answered[record.request_id] = out
        return [out]

    def _answer(self, ask: Ask) -> Answer:
        capacity = self.capacity(ask.office, ask.day, ask.service)
        held = self.holds.setdefault((ask.office, ask.day, ask.service), {})
        if capacity is None or len(held) >= capacity:
            reason = BookingRefusal.NO_QUOTA if not capacity else BookingRefusal.DAY_FULL
            return Answer(ask.request_id, ask.citizen, None, reason, ask.time, ask.office)
        taken = set(held.values())
        number = next(n for n in range(1, len(held) + 2) if n not in taken)
        held[ask.request_id] = number
        return Answer(ask.request_id, ask.citizen, number, None, ask.time, ask.office)
