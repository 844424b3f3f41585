"""The figures on ``protection.stats``: summed over partitions as a reader does, they equal figures computed
here from the raw events (``oracle``), whatever the arrival order, duplicates, ticks and partitioning; the
median time to close combines exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.contracts.protection_views import ProtectionFigure, ProtectionStatsModel
from services.protection.facts import CaseEvent
from services.protection.figures import figure_view, median_minutes, sum_partitions, wib_day
from tests.unit.protection.builders import TOKYO, Harness, T, Tick, at, ev, partition_of, play
from tests.unit.protection.oracle import oracle_figures
from tests.unit.protection.strategies import histories, logs

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _clocks(log: list[CaseEvent | Tick], partitions: int) -> dict[int, datetime | None]:
    """Each partition's clock at the end: its latest tick or event time."""
    clock: dict[int, datetime | None] = dict.fromkeys(range(partitions))
    for step in log:
        targets = range(partitions) if isinstance(step, Tick) else [partition_of(step.case_id, partitions)]
        moment = at(step.minutes) if isinstance(step, Tick) else step.time
        for p in targets:
            current = clock[p]
            clock[p] = moment if current is None or moment > current else current
    return clock


class TestAgainstTheRawEvents:
    @SETTINGS
    @given(data=st.data(), cases=histories(max_cases=6))
    def test_sum_over_partitions_is_the_oracle(
        self, data: st.DataObject, cases: dict[str, list[CaseEvent]]
    ) -> None:
        """Open, overdue, opened and closed per WIB day, time to close and calls per office and hour: the
        latest record per key, summed over three partitions, is what the raw events say.
        """
        log = data.draw(logs(cases))
        log += data.draw(st.lists(st.sampled_from([s for s in log if isinstance(s, CaseEvent)]), max_size=4))
        run = Harness(partitions=3).play(log, chunk=data.draw(st.integers(1, 8)))
        clocks = _clocks(log, 3)
        expected = oracle_figures(cases, {case_id: clocks[partition_of(case_id, 3)] for case_id in cases})
        assert sum_partitions(run.stats.values()) == expected

    @SETTINGS
    @given(cases=histories(max_cases=6))
    def test_every_record_is_its_partitions_absolute_value(self, cases: dict[str, list[CaseEvent]]) -> None:
        """Each key names its partition, and its count never goes below zero."""
        run = Harness(partitions=3).play([e for events in cases.values() for e in events], chunk=3)
        for key, record in run.stats.items():
            assert key == record.record_key
            assert key.endswith(f"|{record.partition}")
            assert record.count >= 0


class TestDays:
    def test_opened_day_is_western_indonesian_time(self) -> None:
        """Opened at 17:30 UTC on 2 March: 00:30 on 3 March in Jakarta, counted on the 3rd."""
        run = play([ev(T.CASE_OPENED, "e1", 8 * 60 + 30)])
        assert f"OPENED|2026-03-03|{TOKYO}|0" in run.stats
        assert wib_day(datetime(2026, 3, 2, 16, 59, tzinfo=UTC)).day == 2

    def test_calls_per_office_and_utc_hour(self) -> None:
        """Two calls in one hour, one in the next, the same call twice: 2 and 1."""
        calls = [
            ev(T.HOTLINE_CALL_RECEIVED, f"c{n}", m, case_id=f"K{n}") for n, m in ((1, 5), (2, 50), (3, 65))
        ]
        run = play([*calls, calls[0]])
        totals = sum_partitions(run.stats.values())
        assert totals[f"HOTLINE_CALLS|{TOKYO}|2026-03-02T09"] == 2
        assert totals[f"HOTLINE_CALLS|{TOKYO}|2026-03-02T10"] == 1

    def test_reopened_case_leaves_closed_and_time_to_close(self) -> None:
        """A reopened case no longer counts as closed; closed again, it counts on the new day and time."""
        steps = [ev(T.CASE_OPENED, "o", 0), ev(T.CASE_CLOSED, "c1", 60), ev(T.CASE_REOPENED, "r", 90)]
        totals = sum_partitions(play(steps).stats.values())
        assert not [g for g in totals if g.startswith(("CLOSED", "TIME_TO_CLOSE"))]
        totals = sum_partitions(play([*steps, ev(T.CASE_CLOSED, "c2", 150)]).stats.values())
        assert totals["TIME_TO_CLOSE|150"] == 1


class TestMedian:
    def test_median_of_merged_histograms_not_of_medians(self) -> None:
        """Partition 0 closed cases in 10 and 20 minutes, partition 1 in 30, 40 and 50: the median of all
        five is 30 (the median of the two medians would be 27.5).
        """
        when = datetime(2026, 3, 2, tzinfo=UTC)
        records = [
            figure_view(f"TIME_TO_CLOSE|{m}", p, 1, when)
            for p, ms in ((0, (10, 20)), (1, (30, 40, 50)))
            for m in ms
        ]
        assert median_minutes(sum_partitions(records)) == 30
        assert median_minutes(sum_partitions(records[:4])) == 25
        assert median_minutes({}) is None

    @given(st.lists(st.integers(0, 10_000), min_size=1, max_size=60), st.integers(1, 5))
    def test_median_equals_the_median_of_all_values(self, minutes: list[int], partitions: int) -> None:
        """Spread over partitions any way, the combined histogram's median is the values' median."""
        when = datetime(2026, 3, 2, tzinfo=UTC)
        counts: dict[tuple[int, int], int] = {}
        for n, m in enumerate(minutes):
            counts[(n % partitions, m)] = counts.get((n % partitions, m), 0) + 1
        records = [figure_view(f"TIME_TO_CLOSE|{m}", p, c, when) for (p, m), c in counts.items()]
        ordered = sorted(minutes)
        middle = (ordered[(len(ordered) - 1) // 2] + ordered[len(ordered) // 2]) / 2
        assert median_minutes(sum_partitions(records)) == middle


class TestRecords:
    def test_group_round_trips_through_the_record(self) -> None:
        """A figure group becomes a ProtectionStats record whose key spells the same group."""
        when = datetime(2026, 3, 2, tzinfo=UTC)
        for group in (
            f"OPEN_CASES|{TOKYO}|DETENTION|CRITICAL",
            f"OVERDUE_CASES|{TOKYO}|LOW",
            f"OPENED|2026-03-03|{TOKYO}",
            f"CLOSED|2026-03-03|{TOKYO}",
            "TIME_TO_CLOSE|61",
            f"HOTLINE_CALLS|{TOKYO}|2026-03-02T09",
        ):
            record = figure_view(group, 2, 5, when)
            assert isinstance(record, ProtectionStatsModel)
            assert record.group == group
            assert record.record_key == f"{group}|2"
        assert {f.value for f in ProtectionFigure} == set(ProtectionStatsModel.DIMENSIONS)
