"""Hypothesis strategies over case histories; they shrink towards fewer, earlier, plainer events.

Times sit on a 30-minute grid over three days and sources among three offices, so ties on time (broken by
source, then id) and transfers between the offices that hold a case are common; event types are drawn
with the lifecycle's weight (opening and updates often, reopening rarely) but in any order, so illegal
transitions are common too.
"""

from __future__ import annotations

from hypothesis import strategies as st

from services.contracts.protection import Urgency
from services.protection.facts import CaseEvent
from tests.unit.protection.builders import OFFICES, T, Tick, ev

_KINDS = st.sampled_from(
    [
        T.CASE_OPENED,
        T.CASE_OPENED,
        T.HOTLINE_CALL_RECEIVED,
        T.CASE_UPDATED,
        T.CASE_UPDATED,
        T.CASE_ASSIGNED,
        T.CASE_ESCALATED,
        T.CASE_TRANSFERRED,
        T.CASE_TRANSFERRED,
        T.CASE_CLOSED,
        T.CASE_CLOSED,
        T.CASE_REOPENED,
    ]
)
_MINUTES = st.integers(0, 144).map(lambda half_hours: half_hours * 30)


@st.composite
def case_events(draw: st.DrawFn, case_id: str = "CASE-1", max_size: int = 10) -> list[CaseEvent]:
    """One case's distinct events (ids ``<case>-e<n>``), any types, in the order drawn."""
    size = draw(st.integers(1, max_size))
    events = []
    for n in range(size):
        kind = draw(_KINDS)
        office = draw(st.sampled_from(OFFICES))
        extra: dict[str, object] = {}
        if kind in (T.CASE_OPENED, T.HOTLINE_CALL_RECEIVED):
            extra["urgency"] = draw(st.sampled_from(Urgency))
        if kind is T.CASE_TRANSFERRED:
            extra["to_office"] = draw(st.sampled_from([o for o in OFFICES if o != office]))
        events.append(
            ev(
                kind,
                f"{case_id}-e{n}",
                draw(_MINUTES),
                case_id=case_id,
                office=office,
                source=draw(st.sampled_from(OFFICES)),
                **extra,
            )
        )
    return events


@st.composite
def arrivals(draw: st.DrawFn, events: list[CaseEvent]) -> list[CaseEvent]:
    """``events`` in any order, some of them more than once."""
    order = draw(st.permutations(events))
    again = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    mixed = list(order)
    for event in again:
        mixed.insert(draw(st.integers(0, len(mixed))), event)
    return mixed


@st.composite
def histories(draw: st.DrawFn, max_cases: int = 4) -> dict[str, list[CaseEvent]]:
    """Several cases' events."""
    count = draw(st.integers(1, max_cases))
    return {f"CASE-{n}": draw(case_events(f"CASE-{n}", max_size=8)) for n in range(count)}


@st.composite
def logs(draw: st.DrawFn, cases: dict[str, list[CaseEvent]]) -> list[CaseEvent | Tick]:
    """The cases' events interleaved in any order, with clock ticks (on every partition) among them."""
    items: list[CaseEvent | Tick] = [e for events in cases.values() for e in events]
    mixed = list(draw(st.permutations(items)))
    for minutes in draw(st.lists(_MINUTES.map(lambda m: m + 15), max_size=6)):
        mixed.insert(draw(st.integers(0, len(mixed))), Tick(minutes))
    return mixed
