"""Passport figures against an oracle computed from the raw decisions and dates: bookings, slots in use
and refusals per office-day for any run of the protocol; medians exact after merging partitions.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.passport.figures import (
    DayFigures,
    OfficeDayFigures,
    application_groups,
    booking_figures,
    figures_view,
    median_days,
    merge_days,
    moved,
    ready_days,
    ready_not_collected,
    sum_partitions,
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


class TestPartitionFigures:
    def test_views_of_partitions_sum_to_the_merge(self) -> None:
        """Each partition publishes its absolute figures; summing the records gives the merged figures
        (maps key by key, quota used = bookings - freed), and the stored form round-trips.
        """
        one = OfficeDayFigures(3, 1, Counter({"DAY_FULL": 2}), 1, Counter({4: 2}))
        two = OfficeDayFigures(1, 2, Counter({"NO_QUOTA": 1}), 0, Counter({4: 1, 6: 1}))
        at = datetime(2026, 3, 2, tzinfo=UTC)
        records = [
            figures_view("kanim-medan", START, 0, one, at),
            figures_view("kanim-medan", START, 1, two, at),
        ]
        assert [r.record_key for r in records] == ["kanim-medan|2026-03-02|0", "kanim-medan|2026-03-02|1"]
        assert records[1].quota_used == -1  # a partition may free what another booked
        total = sum_partitions(records)[("kanim-medan", START)]
        assert total == one.merge(two)
        assert (total.bookings, total.freed, total.quota_used, total.ready_not_collected) == (4, 3, 1, 1)
        assert median_days(total.ready_days) == 4
        assert OfficeDayFigures.from_json(one.to_json()) == one

    def test_an_application_counts_where_it_is_ready(self) -> None:
        """Ready: its days on its ready day, and waiting while not collected; collected: only its days."""
        ready = app(1, "kanim-batam", ApplicationStatus.READY_FOR_PICKUP, 4)
        collected = app(1, "kanim-batam", ApplicationStatus.COLLECTED, 4)
        assert application_groups(ready) == [
            "kanim-batam|2026-03-06|ready_days:4",
            "kanim-batam|2026-03-06|ready_not_collected",
        ]
        assert moved(application_groups(ready), application_groups(collected)) == Counter(
            {"kanim-batam|2026-03-06|ready_not_collected": -1}
        )
        assert application_groups(app(2, "kanim-batam", ApplicationStatus.PRINTED, None)) == []
