"""The transition table: every cell, through the projection, and the README's table equal to the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.contracts.protection_items import CaseEventType
from services.contracts.protection_views import CaseState, ProtectionCaseModel, RefusalReason
from services.protection.case import OWNER_ONLY, TRANSITIONS
from services.protection.facts import CaseEvent
from tests.unit.protection.builders import SEOUL, TOKYO, T, ev, play

README = Path(__file__).resolve().parents[3] / "README.md"
PREFIX: dict[CaseState, list[CaseEvent]] = {
    CaseState.NOT_OPENED: [],
    CaseState.CALLED: [ev(T.HOTLINE_CALL_RECEIVED, "p1", 0)],
    CaseState.OPEN: [ev(T.CASE_OPENED, "p1", 0)],
    CaseState.CLOSED: [ev(T.CASE_OPENED, "p1", 0), ev(T.CASE_CLOSED, "p2", 10)],
}
CELLS = [(state, kind) for state in CaseState for kind in CaseEventType]


def _case_after(state: CaseState, event: CaseEvent) -> ProtectionCaseModel:
    return play([*PREFIX[state], event]).cases["CASE-1"]


class TestTransitionTable:
    @pytest.mark.parametrize(("state", "kind"), CELLS, ids=str)
    def test_each_cell_by_the_holder(self, state: CaseState, kind: CaseEventType) -> None:
        """An event by the office holding the case leads where the table says, or is listed with the
        table's reason and changes nothing.
        """
        event = ev(kind, "x", 60, office=TOKYO)
        view = _case_after(state, event)
        outcome = TRANSITIONS[kind][state]
        if isinstance(outcome, RefusalReason):
            assert [(r.event_id, r.refusal) for r in view.refused] == [("x", outcome)]
            assert view.status is state
        else:
            assert view.refused == ()
            assert view.history[-1].event_id == "x"
            assert view.status is outcome

    @pytest.mark.parametrize(
        ("state", "kind"),
        [(s, k) for s, k in CELLS if k in OWNER_ONLY and isinstance(TRANSITIONS[k][s], CaseState)],
        ids=str,
    )
    def test_owner_only_by_another_office(self, state: CaseState, kind: CaseEventType) -> None:
        """Where the table allows a transfer, close or reopening, another office's is refused NOT_OWNER."""
        extra = {"to_office": TOKYO} if kind is T.CASE_TRANSFERRED else {}
        view = _case_after(state, ev(kind, "x", 60, office=SEOUL, **extra))
        assert [(r.event_id, r.refusal) for r in view.refused] == [("x", RefusalReason.NOT_OWNER)]
        assert view.status is state

    @pytest.mark.parametrize("kind", [T.CASE_UPDATED, T.CASE_ASSIGNED, T.CASE_ESCALATED])
    def test_others_may_act_on_a_case_they_do_not_hold(self, kind: CaseEventType) -> None:
        """The directorate or another mission may update, assign or escalate a case held elsewhere."""
        view = _case_after(CaseState.OPEN, ev(kind, "x", 60, office=SEOUL, source="kemlu-pwni"))
        assert view.refused == ()
        assert view.office == TOKYO

    def test_a_follow_up_call_is_linked_not_an_action(self) -> None:
        """A call on an open case is applied and linked; the last action (the clock) stays the opening."""
        view = _case_after(CaseState.OPEN, ev(T.HOTLINE_CALL_RECEIVED, "x", 60, office=SEOUL, call_id="c9"))
        assert view.last_action_id == "p1"
        assert view.office == TOKYO
        assert "c9" in view.hotline_call_ids


def _readme_table() -> dict[tuple[str, str], str]:
    """The README's transition table: (state, event type) -> cell text."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- table: protection-transitions -->", 1)[1].strip().split("\n\n", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block.splitlines()]
    header, body = rows[0], rows[2:]
    return {
        (row[0].strip("`"), event): cell
        for row in body
        for event, cell in zip(header[1:], row[1:], strict=True)
    }


def _event_name(kind: CaseEventType) -> str:
    return "".join(part.capitalize() for part in kind.value.split("_"))


class TestReadme:
    def test_readme_table_is_the_code_table(self) -> None:
        """Each README cell names the table's new state (and NOT_OWNER exactly where the holder alone may
        act) or 'refused' and the table's reason.
        """
        table = _readme_table()
        assert len(table) == len(CELLS)
        for state, kind in CELLS:
            cell = table[(state.value, _event_name(kind))]
            outcome = TRANSITIONS[kind][state]
            named = re.findall(r"`([A-Z_]+)`", cell)
            if isinstance(outcome, RefusalReason):
                assert cell.startswith("refused"), (state, kind, cell)
                assert named == [outcome.value], (state, kind, cell)
            else:
                owner_only = kind in OWNER_ONLY
                expected = [outcome.value, RefusalReason.NOT_OWNER.value] if owner_only else [outcome.value]
                assert named == expected, (state, kind, cell)
