"""Passport figures against an oracle computed from the raw decisions and dates: bookings, slots in use
and refusals per office-day for any run of the protocol; medians exact after merging partitions.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.passport.figures import (
    DayFigures,
    booking_figures,
    median_days,
    merge_days,
    ready_days,
    ready_not_collected,
)
from services.passport.status import Application, ApplicationStatus
from tests.unit.passport.oracle import oracle_figures, oracle_median
from tests.unit.passport.strategies import Scenario, scenarios, schedules
from tests.unit.passport.test_protocol import play

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = date(2026, 3, 2)


def app(n: int, office: str, status: ApplicationStatus, days: int | None) -> Application:
    """An application submitted on START, ready ``days`` later (None: not ready yet)."""
    ready = START + timedelta(days=days) if days is not None else None
    return Application(f"app-{n}", office, status, submitted_on=START, ready_from=ready)


_APPS = st.lists(
    st.tuples(
        st.sampled_from(["kanim-medan", "kanim-batam"]),
        st.sampled_from(list(ApplicationStatus)),
        st.none() | st.integers(0, 12),
    ),
    max_size=30,
).map(lambda rows: [app(n, *row) for n, row in enumerate(rows)])


class TestBookingFigures:
    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules())
    def test_equal_the_oracle_for_any_run(self, scenario: Scenario, schedule: list[int]) -> None:
        """Bookings, slots in use and refusals by reason per office-day equal the oracle's, decisions sent
        twice included.
        """
        decisions = play(scenario, schedule).decisions
        figures = booking_figures(decisions + decisions[: len(decisions) // 2])
        expected = oracle_figures(decisions)
        assert set(figures) == set(expected)
        for place, (bookings, in_use, refusals) in expected.items():
            found = figures[place]
            assert (found.bookings, found.quota_used, +found.refusals) == (bookings, in_use, +refusals)

    def test_merge_adds(self) -> None:
        """Two partitions' figures of an office-day add up; no decisions, no figures."""
        one = DayFigures(3, 1, Counter({"DAY_FULL": 2}))
        two = DayFigures(1, 0, Counter({"DAY_FULL": 1, "TOO_MANY_REQUESTS": 4}))
        both = one.merge(two)
        assert (both.bookings, both.quota_used) == (4, 3)
        assert both.refusals == Counter({"DAY_FULL": 3, "TOO_MANY_REQUESTS": 4})
        assert booking_figures([]) == {}


class TestStatusFigures:
    @SETTINGS
    @given(apps=_APPS, cut=st.integers(0, 30))
    def test_median_of_merged_partitions_is_exact(self, apps: list[Application], cut: int) -> None:
        """Histograms of two partitions merged give the textbook median of the days from submission to
        ready per office and day of readiness; waiting passports are those ready, not collected.
        """
        merged = merge_days(ready_days(apps[:cut]), ready_days(apps[cut:]))
        places = {(a.office, a.ready_from) for a in apps if a.ready_from is not None}
        assert all(ready is not None for _, ready in places)
        assert set(merged) == places
        for office, ready in places:
            values = [(ready - START).days for a in apps if (a.office, a.ready_from) == (office, ready)]
            assert median_days(merged[office, ready]) == oracle_median(values)
        waiting = Counter(a.office for a in apps if a.status == "READY_FOR_PICKUP")
        assert ready_not_collected(apps) == waiting

    def test_no_data_no_median(self) -> None:
        """An empty histogram has no median."""
        assert median_days(Counter()) is None
