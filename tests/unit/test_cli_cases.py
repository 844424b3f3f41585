"""``bus cases``: a case lookup needs the user's token and a purpose; a case prints with its whole hand-over
history and its citizen; lists print one line per case.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli.cases import render_case, render_list
from services.cli.main import app
from services.contracts.common import Personal
from services.protection.intake import case_event
from services.protection.views import case_summary
from tests.unit.protection.builders import PWNI, SEOUL, TOKYO, T, Tick, at, ev, hasher, play
from tests.unit.registry.builders import SITI, opened


def transferred_case() -> dict[str, object]:
    """A case opened by the national hotline, handed to Tokyo, then to Seoul, with a close refused."""
    personal = Personal(full_name="Siti Nurhaliza", passport_number=SITI.passport, notes="At the shelter.")
    first = case_event(opened(personal, "CASE-1", PWNI, at(0), "o1"), hasher)
    assert first is not None
    run = play(
        [
            first,
            ev(T.CASE_TRANSFERRED, "t1", 30, office=PWNI, to_office=TOKYO),
            ev(T.CASE_ASSIGNED, "a1", 40, office=TOKYO),
            ev(T.CASE_TRANSFERRED, "t2", 90, office=TOKYO, to_office=SEOUL),
            ev(T.CASE_CLOSED, "late", 100, office=TOKYO),
            Tick(700),
        ]
    )
    view = run.cases["CASE-1"].model_copy(update={"citizen_id": "cit-0123456789abcdef0123"})
    return view.model_dump(mode="json")


class TestShow:
    def test_a_lookup_without_a_purpose_is_refused(self) -> None:
        result = CliRunner().invoke(app, ["cases", "show", "CASE-1", "--token", "bus_x_y"])
        assert result.exit_code == 2
        assert "--purpose" in result.output

    def test_a_lookup_without_a_token_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A case shows personal data: without ``--token`` or ``BUS_TOKEN`` nothing is sent (exit 2)."""
        monkeypatch.delenv("BUS_TOKEN", raising=False)
        result = CliRunner().invoke(app, ["cases", "show", "CASE-1", "--purpose", "AUDIT"])
        assert result.exit_code == 2
        assert "--token or BUS_TOKEN" in result.output

    def test_a_transferred_case_prints_every_hand_over_and_its_citizen(self) -> None:
        """Both hand-overs in order, every applied event, the refused close with its reason, the breach,
        the citizen id; the personal part only when asked for.
        """
        case = transferred_case()
        text = render_case(case, show_personal=True)
        lines = text.splitlines()
        assert lines[0] == "case CASE-1  OPEN  held by kbri-seoul"
        assert "  citizen      cit-0123456789abcdef0123" in lines
        handovers = [line for line in lines if " -> " in line]
        assert [line.split()[1:4] for line in handovers] == [[PWNI, "->", TOKYO], [TOKYO, "->", SEOUL]]
        assert "hand-overs (2):" in lines
        assert "history (4 applied):" in lines
        assert any("CASE_CLOSED" in line and "NOT_OWNER" in line for line in lines)
        assert "breaches (1):" in lines
        assert any(line.startswith("  deadline") and "OVERDUE" in line for line in lines)
        assert "Siti Nurhaliza" in text
        redacted = render_case(case, show_personal=False)
        assert "Siti" not in redacted
        assert SITI.passport not in redacted
        assert "shelter" not in redacted

    def test_lists_print_one_line_per_case(self) -> None:
        """Summaries carry no personal data; each line names the case, its holder, deadline and state."""
        summary = case_summary(play([ev(T.CASE_OPENED, "o", 0), Tick(200)]).cases["CASE-1"])
        assert summary is not None
        (line,) = render_list([summary])
        assert line.startswith("CASE-1  OPEN    kbri-tokyo")
        assert "OVERDUE" in line
