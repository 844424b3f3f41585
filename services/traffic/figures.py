"""Reader side of the traffic figures: the latest record per key of every partition, summed, windowed by
the reader's clock.

Each ``OfficeTraffic`` record holds absolute per-minute counts, so the sum over partitions of a minute is
exact, and a reader can take any window within the last hour: an office that fell silent keeps its last
record, whose minutes simply fall out of the window as time passes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.contracts.traffic import OfficeTrafficModel
from services.reference.offices import missions
from services.traffic.fold import WINDOW

HOUR = timedelta(hours=1)


def minute_of(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC minute."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass
class TrafficTotals:
    """The traffic across the bus as of ``now``: per minute of the window by domain (oldest first), per
    office and domain over the last hour and in the current minute, when each office was last heard.
    """

    now: datetime
    minutes: list[datetime]
    series: dict[str, list[int]] = field(default_factory=dict)
    last_hour: dict[str, Counter[str]] = field(default_factory=dict)
    """Office -> domain -> records in the last ``WINDOW`` minutes (the current one included)."""
    this_minute: Counter[str] = field(default_factory=Counter)
    """Office -> records in the current minute, all domains."""
    last_heard: dict[str, datetime] = field(default_factory=dict)

    def heard_within(self, offices: Iterable[str], span: timedelta = HOUR) -> set[str]:
        """Which of ``offices`` were heard from within ``span`` before ``now``."""
        return {o for o in offices if o in self.last_heard and self.now - self.last_heard[o] < span}


def representative_offices() -> frozenset[str]:
    """The codes of the 132 representative offices (embassies, consulates, permanent missions)."""
    return frozenset(office.code for office in missions())


def sum_partitions(
    latest: Iterable[OfficeTrafficModel],
    now: datetime,
    domains: Iterable[str] = ("citizen", "passport", "protection"),
    offices: frozenset[str] | None = None,
) -> TrafficTotals:
    """The totals of the latest record per key (``<domain>|<office>|<partition>``) as of ``now``, over the
    ``WINDOW`` minutes ending with ``now``'s minute; only ``offices`` when given.
    """
    current = minute_of(now)
    minutes = [current - timedelta(minutes=back) for back in range(WINDOW - 1, -1, -1)]
    index = {minute: i for i, minute in enumerate(minutes)}
    totals = TrafficTotals(now, minutes, {domain: [0] * WINDOW for domain in domains})
    for record in latest:
        if offices is not None and record.office not in offices:
            continue
        heard = totals.last_heard.get(record.office)
        if heard is None or record.last_heard > heard:
            totals.last_heard[record.office] = record.last_heard
        series = totals.series.setdefault(record.domain, [0] * WINDOW)
        for each in record.minutes:
            at = index.get(each.minute)
            if at is None:
                continue
            series[at] += each.count
            totals.last_hour.setdefault(record.office, Counter())[record.domain] += each.count
            if each.minute == current:
                totals.this_minute[record.office] += each.count
    return totals
