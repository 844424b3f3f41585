"""Service levels: a case with no action past its urgency's level is overdue once per breach, cleared when
it moves; a breach's id depends on the breach alone, never on when, where or in which chunk it was found.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.contracts.protection import Urgency
from services.contracts.protection_views import CaseOverdueClearedModel, CaseOverdueModel
from services.protection.facts import CaseEvent
from services.protection.service_levels import ServiceLevels
from services.protection.settings import ProtectionSettings
from tests.unit.protection.builders import SEOUL, TOKYO, Harness, Step, T, Tick, at, ev, play
from tests.unit.protection.strategies import histories, logs

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:id.go.kemlu.bus:protection:overdue")


def expected_id(case_id: str, started_by: str, deadline_text: str, recurrence: int = 0) -> str:
    """The README's derivation, spelt out here."""
    return str(uuid.uuid5(NS, f"{case_id}|{started_by}|{deadline_text}|{recurrence}"))


def overdues(run_breaches: list[object]) -> list[CaseOverdueModel]:
    return [b for b in run_breaches if isinstance(b, CaseOverdueModel)]


def clearings(run_breaches: list[object]) -> list[CaseOverdueClearedModel]:
    return [b for b in run_breaches if isinstance(b, CaseOverdueClearedModel)]


def by_case(records: list[object]) -> dict[str, list[object]]:
    """Breach records per case, in order (partitions are drained one after another, so records of cases
    on different partitions interleave by chunk; within a case their order is the log's).
    """
    found: dict[str, list[object]] = {}
    for record in records:
        found.setdefault(str(getattr(record, "case_id")), []).append(record)  # noqa: B009
    return found


class TestOneCase:
    def test_critical_case_overdue_once_then_cleared(self) -> None:
        """CRITICAL, opened at 09:00: overdue at the first tick after 11:00, once however many ticks
        follow; the update at 12:00 clears it, and the case view says so.
        """
        run = play(
            [ev(T.CASE_OPENED, "e1", 0), Tick(119), Tick(121), Tick(150), ev(T.CASE_UPDATED, "e2", 180)],
            chunk=1,
        )
        (overdue,) = overdues(run.breaches)
        (cleared,) = clearings(run.breaches)
        assert overdue.overdue_id == expected_id("CASE-1", "e1", "2026-03-02T11:00:00.000Z")
        assert (overdue.started_by, overdue.detected_at) == ("e1", at(121))
        assert cleared.overdue_id == overdue.overdue_id
        assert cleared.cleared_id == str(uuid.uuid5(NS, f"cleared|{overdue.overdue_id}"))
        assert cleared.cleared_by == "e2"
        view = run.cases["CASE-1"]
        assert not view.overdue
        assert [(b.overdue_id, b.cleared_id) for b in view.breaches] == [
            (overdue.overdue_id, cleared.cleared_id)
        ]

    def test_overdue_case_view_names_its_breach(self) -> None:
        """While overdue the view says so, with the breach's id and deadline; the figure counts it."""
        run = play([ev(T.CASE_OPENED, "e1", 0, urgency=Urgency.HIGH), Tick(8 * 60 + 1)])
        view = run.cases["CASE-1"]
        assert view.overdue
        assert view.overdue_id == overdues(run.breaches)[0].overdue_id
        assert view.deadline == at(0) + timedelta(hours=8)
        assert run.stats[f"OVERDUE_CASES|{TOKYO}|HIGH|0"].count == 1

    def test_closing_clears_and_ends_the_clock(self) -> None:
        """Closing an overdue case clears the breach; a closed case is never overdue again."""
        run = play([ev(T.CASE_OPENED, "e1", 0), Tick(200), ev(T.CASE_CLOSED, "e2", 210), Tick(2000)])
        assert len(overdues(run.breaches)) == 1
        assert clearings(run.breaches)[0].status.value == "CLOSED"
        assert run.stats[f"OVERDUE_CASES|{TOKYO}|CRITICAL|0"].count == 0

    def test_a_call_starts_the_clock(self) -> None:
        """A called case nobody opened goes overdue too: nobody may forget a critical call."""
        run = play([ev(T.HOTLINE_CALL_RECEIVED, "c1", 0, urgency=Urgency.CRITICAL), Tick(121)])
        assert overdues(run.breaches)[0].status.value == "CALLED"

    def test_late_event_that_shows_the_case_had_moved_clears(self) -> None:
        """Overdue after the opening; an update timed before the deadline arrives late: the breach is
        cleared by it (the case had moved in time) and the clock restarts from it.
        """
        run = play([ev(T.CASE_OPENED, "e1", 0), Tick(125), ev(T.CASE_UPDATED, "e2", 100), Tick(130)])
        (cleared,) = clearings(run.breaches)
        assert (cleared.cleared_by, cleared.cleared_at.minute) == ("e2", 40)
        assert len(overdues(run.breaches)) == 1
        assert run.cases["CASE-1"].deadline == at(100) + timedelta(hours=2)

    def test_event_times_move_the_clock_too(self) -> None:
        """Without ticks, another case's later event is proof that time has passed."""
        run = play([ev(T.CASE_OPENED, "e1", 0), ev(T.CASE_OPENED, "f1", 500, case_id="CASE-2")])
        assert [o.case_id for o in overdues(run.breaches)] == ["CASE-1"]

    def test_wall_clock_is_never_used(self) -> None:
        """A figure carries the partition clock when it moved, never the runtime's wall clock."""
        run = play([ev(T.CASE_OPENED, "e1", 0), Tick(130)])
        assert run.stats[f"OPEN_CASES|{TOKYO}|DETENTION|CRITICAL|0"].as_of == at(0)
        assert run.stats[f"OVERDUE_CASES|{TOKYO}|CRITICAL|0"].as_of == at(130)

    @pytest.mark.parametrize(("urgency", "minutes"), [("LOW", 72 * 60), ("MEDIUM", 24 * 60)])
    def test_levels_are_settings(self, urgency: str, minutes: int) -> None:
        """Service levels come from settings (``PROTECTION_SLA_*_MINUTES``): a shorter one breaches sooner."""
        config = ProtectionSettings(sla_low_minutes=10, sla_medium_minutes=10)
        opened = ev(T.CASE_OPENED, "e1", 0, urgency=Urgency(urgency))
        assert not overdues(play([opened, Tick(minutes - 1)]).breaches)
        assert overdues(play([opened, Tick(11)], levels=config.service_levels()).breaches)

    def test_levels_must_cover_every_urgency(self) -> None:
        """A level missing or not positive is a configuration error, not a silent default."""
        with pytest.raises(ValueError, match="every urgency"):
            ServiceLevels({Urgency.CRITICAL: timedelta(hours=1)})

    def test_back_to_an_old_clock_is_a_new_breach(self) -> None:
        """Overdue after an update; a late close before it makes the update illegal (cleared); a late
        reopen makes it legal again: the same clock breached again is a second breach, recurrence 1, so
        consumers that dropped nothing as a re-send still see it.
        """
        steps: list[Step] = [
            ev(T.CASE_OPENED, "e1", 0),
            ev(T.CASE_UPDATED, "u1", 60),
            Tick(200),
            ev(T.CASE_CLOSED, "c1", 30),
            ev(T.CASE_REOPENED, "r1", 45),
        ]
        run = play(steps, chunk=1)
        found = overdues(run.breaches)
        assert [(o.started_by, o.recurrence) for o in found] == [("u1", 0), ("u1", 1)]
        assert found[0].overdue_id != found[1].overdue_id
        assert found[1].overdue_id == expected_id("CASE-1", "u1", "2026-03-02T12:00:00.000Z", 1)


class TestIds:
    @SETTINGS
    @given(data=st.data(), cases=histories())
    def test_chunking_and_restarts_give_the_same_records(
        self, data: st.DataObject, cases: dict[str, list[CaseEvent]]
    ) -> None:
        """The same log, committed in any chunking and restarted from the store at any chunk boundary,
        publishes the same breaches and clearings (ids and all) and the same final cases and figures.
        """
        log = data.draw(logs(cases))
        reference = Harness(partitions=2).play(log)
        chunk = data.draw(st.integers(1, max(1, len(log))))
        restart_every = data.draw(st.integers(0, 3))
        other = Harness(partitions=2).play(log, chunk=chunk, restart_every=restart_every)
        assert by_case(other.breaches) == by_case(reference.breaches)
        assert other.cases == reference.cases
        assert other.stats == reference.stats

    @SETTINGS
    @given(data=st.data(), cases=histories())
    def test_no_breach_gets_two_ids(self, data: st.DataObject, cases: dict[str, list[CaseEvent]]) -> None:
        """Across different arrival orders and tick schedules, a breach (case, started_by, deadline,
        recurrence) always has the same id, the README's; within a run each id is published once, and each
        clearing follows its breach.
        """
        seen: dict[str, tuple[str, str, object, int]] = {}
        for _ in range(3):
            run = Harness(partitions=2).play(data.draw(logs(cases)), chunk=data.draw(st.integers(1, 5)))
            found = overdues(run.breaches)
            assert len({o.overdue_id for o in found}) == len(found)
            for o in found:
                key = (o.case_id, o.started_by, o.deadline, o.recurrence)
                deadline = o.deadline.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                assert o.overdue_id == expected_id(o.case_id, o.started_by, deadline, o.recurrence)
                assert seen.setdefault(o.overdue_id, key) == key
            published = {o.overdue_id for o in found}
            cleared = [c.overdue_id for c in clearings(run.breaches)]
            assert len(set(cleared)) == len(cleared)
            assert set(cleared) <= published


def test_transfer_restarts_the_clock_at_the_new_office() -> None:
    """A hand-over is an action: the clock restarts, and a breach after it names the new holder."""
    run = play([ev(T.CASE_OPENED, "e1", 0), ev(T.CASE_TRANSFERRED, "t1", 100, to_office=SEOUL), Tick(230)])
    (overdue,) = overdues(run.breaches)
    assert (overdue.office, overdue.started_by) == (SEOUL, "t1")
