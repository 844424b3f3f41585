"""Stage 2 of fair booking, one fold per partition of ``passport.slots`` (keyed by office-day): capacity.

All asks for one office-day land on one partition, so one fold decides them one after the other and the
day cannot be overbooked however many workers run. An ask gets the smallest free queue number while the
day's holds are below the capacity the office set for that service and day (the latest ``QuotaSet`` whose
``from_date`` is on or before it, as this partition has seen them), else DAY_FULL (NO_QUOTA when there is no
quota). A release frees its booking's number. A lowered quota never takes a booking back.

The state is mappings with string keys (``<office>|<service>``, ``<office>|<yyyy-mm-dd>|<service>``, request
and quota ids), plain dicts by default or the partition's store columns (``services.passport.stage_store``):
every change is written back by assignment, never made in place on a value read from them.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date

from services.contracts.passport import PassportService
from services.contracts.passport_booking import BookingRefusal
from services.passport.booking import REQUESTS, Answer, Ask, Out, QuotaChange, Release

__all__ = ["SlotStage", "day_key", "quota_key"]

Day = tuple[str, date, PassportService]


def quota_key(office: str, service: PassportService) -> str:
    """The key of an office's quotas for one service: ``<office>|<service>``."""
    return f"{office}|{service.value}"


def day_key(office: str, day: date, service: PassportService) -> str:
    """The key of one office-day's holds for one service: ``<office>|<yyyy-mm-dd>|<service>``."""
    return f"{office}|{day.isoformat()}|{service.value}"


def _day_of(key: str) -> Day:
    office, day, service = key.rsplit("|", 2)
    return office, date.fromisoformat(day), PassportService(service)


@dataclass(slots=True)
class SlotStage:
    """The state of one ``passport.slots`` partition."""

    quotas: MutableMapping[str, Mapping[date, int]] = field(default_factory=dict)
    """``quota_key`` -> from day -> capacity (a later quota for the same day replaces it)."""
    quota_ids: MutableMapping[str, bool] = field(default_factory=dict)
    """The quota ids applied (a quota read again changes nothing)."""
    taken: MutableMapping[str, Mapping[str, int]] = field(default_factory=dict)
    """``day_key`` -> request id -> queue number."""
    answered: MutableMapping[str, Out] = field(default_factory=dict)
    """Ask's request id -> its answer (written again, unchanged, for an ask seen twice)."""
    released: MutableMapping[str, bool] = field(default_factory=dict)
    """The request ids whose slot was released."""

    @property
    def holds(self) -> dict[Day, Mapping[str, int]]:
        """(office, day, service) -> request id -> queue number: every office-day held (a full scan, for
        tests and tools).
        """
        return {_day_of(key): held for key, held in self.taken.items()}

    def capacity(self, office: str, day: date, service: PassportService) -> int | None:
        """The capacity for the day as this partition knows it; None without any quota."""
        rows = self.quotas.get(quota_key(office, service), {})
        days = sorted(rows)
        at = bisect.bisect_right(days, day)
        return rows[days[at - 1]] if at else None

    def held(self, office: str, day: date, service: PassportService) -> int:
        """How many slots of the day are held (booked, or answered and waiting for the citizen's decision)."""
        return len(self.taken.get(day_key(office, day, service), {}))

    def apply(self, record: Ask | Release | QuotaChange) -> list[Out]:
        """Fold one record of the partition; an ask's answer (the same again for an ask seen before)."""
        if isinstance(record, QuotaChange):
            if record.quota_id not in self.quota_ids:
                self.quota_ids[record.quota_id] = True
                key = quota_key(record.office, record.service)
                self.quotas[key] = {**self.quotas.get(key, {}), record.from_day: record.capacity}
            return []
        if isinstance(record, Release):
            if record.request_id not in self.released:
                self.released[record.request_id] = True
                key = day_key(record.office, record.day, record.service)
                held = self.taken.get(key)
                if held is not None and record.request_id in held:
                    kept = {rid: n for rid, n in held.items() if rid != record.request_id}
                    if kept:
                        self.taken[key] = kept
                    else:
                        del self.taken[key]
            return []
        seen = self.answered.get(record.request_id)
        if seen is not None:
            return [seen]
        out = Out(REQUESTS, record.citizen, self._answer(record))
        self.answered[record.request_id] = out
        return [out]

    def _answer(self, ask: Ask) -> Answer:
        capacity = self.capacity(ask.office, ask.day, ask.service)
        key = day_key(ask.office, ask.day, ask.service)
        held = self.taken.get(key, {})
        if capacity is None or len(held) >= capacity:
            reason = BookingRefusal.NO_QUOTA if not capacity else BookingRefusal.DAY_FULL
            return Answer(ask.request_id, ask.citizen, None, reason, ask.time, ask.office)
        taken = set(held.values())
        number = next(n for n in range(1, len(held) + 2) if n not in taken)
        self.taken[key] = {**held, ask.request_id: number}
        return Answer(ask.request_id, ask.citizen, number, None, ask.time, ask.office)
