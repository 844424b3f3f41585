"""Property tests of the case fold through the projection and its store: any arrival order and any
duplicate give the same case; every event is either applied or listed with the reason the README's rules
give (computed independently, ``oracle``); a restart from the store in the middle changes nothing.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.protection.facts import CaseEvent
from tests.unit.protection.builders import Harness, fold_part, play
from tests.unit.protection.oracle import is_overdue, oracle_case
from tests.unit.protection.strategies import arrivals, case_events

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestArrivalOrder:
    @SETTINGS
    @given(data=st.data(), events=case_events())
    def test_any_order_and_duplicates_give_the_same_case(
        self, data: st.DataObject, events: list[CaseEvent]
    ) -> None:
        """The case folded from its events in time order equals the case folded from them shuffled and
        repeated (breach history aside: when the clock passed a deadline depends on arrival).
        """
        reference = play(events).cases["CASE-1"]
        shuffled = data.draw(arrivals(events))
        chunk = data.draw(st.integers(1, len(shuffled)))
        again = play(shuffled, chunk=chunk).cases["CASE-1"]
        assert fold_part(again) == fold_part(reference)

    @SETTINGS
    @given(data=st.data(), events=case_events())
    def test_restart_from_the_store_changes_nothing(
        self, data: st.DataObject, events: list[CaseEvent]
    ) -> None:
        """Committing after every event and restarting the worker from its store after every other chunk
        gives the same case, breaches included, as one pass in memory.
        """
        shuffled = data.draw(arrivals(events))
        whole = play(shuffled)
        restarted = Harness().play(shuffled, chunk=1, restart_every=2)
        assert restarted.cases["CASE-1"] == whole.cases["CASE-1"]
        assert restarted.breaches == whole.breaches


class TestLegality:
    @SETTINGS
    @given(data=st.data(), events=case_events())
    def test_every_event_applied_or_listed_with_its_reason(
        self, data: st.DataObject, events: list[CaseEvent]
    ) -> None:
        """History and refusals are exactly what the README's rules give, reason by reason; status, holder,
        opening and close times and the overdue flag agree too.
        """
        view = play(data.draw(arrivals(events))).cases["CASE-1"]
        expected = oracle_case(events)
        assert [entry.event_id for entry in view.history] == expected.applied
        assert {r.event_id: r.refusal.value for r in view.refused} == expected.refused
        assert view.status.value == expected.status
        assert view.office == expected.holder
        assert view.opened_at == expected.opened_at
        assert view.closed_at == expected.closed_at
        assert [h.from_office for h in view.handovers] == expected.holders
        assert view.overdue == is_overdue(expected, max(e.time for e in events))

    @SETTINGS
    @given(events=case_events())
    def test_a_late_opening_applies_what_waited(self, events: list[CaseEvent]) -> None:
        """Whatever was refused NEVER_OPENED before the opening arrived is judged again once it does: the
        case with the opening delivered last equals the case with it delivered first.
        """
        openings = [e for e in events if e.type.value == "CASE_OPENED"]
        rest = [e for e in events if e.type.value != "CASE_OPENED"]
        assert fold_part(play([*rest, *openings]).cases["CASE-1"]) == fold_part(
            play([*openings, *rest]).cases["CASE-1"]
        )
