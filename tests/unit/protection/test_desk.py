"""What the desk reads: breaches published under their derived ids, the called and open cases each partition
lists for the HTTP views, the figures rolled up for people, the partition of a case, who asks, and the
simulated traffic the view is shown with (hand-overs, reopenings, breaches).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from kafka.partitioner.default import DefaultPartitioner
from pydantic import ValidationError

from services.contracts.common import Personal
from services.contracts.protection_views import CaseOverdueClearedModel, CaseOverdueModel
from services.protection.figures import desk_figures, sum_partitions
from services.protection.intake import case_event
from services.protection.settings import ProtectionSettings
from services.protection.topics import ITEMS, OVERDUE
from services.protection.views import SUMMARY_FIELDS, case_summary, listing_order
from services.protection.web import who_asks
from services.runtime.peers import partition_of
from tests.unit.protection.builders import PWNI, SEOUL, TOKYO, Harness, T, Tick, at, ev, hasher, play
from tests.unit.registry.builders import SITI, opened, simulated


class TestBreachIds:
    def test_breach_records_carry_their_derived_id_and_moment(self) -> None:
        """A CaseOverdue goes out with ce_id = its overdue_id and ce_time = when it was found; its clearing
        with ce_id = cleared_id and ce_time = the action that cleared it.
        """
        run = play([ev(T.CASE_OPENED, "o", 0), Tick(200), ev(T.CASE_UPDATED, "u", 210)])
        records = [r for r in run.published if r.topic == OVERDUE]
        assert [type(r.view) for r in records] == [CaseOverdueModel, CaseOverdueClearedModel]
        found, cleared = records[0].view, records[1].view
        assert (records[0].event_id, records[0].time) == (found.overdue_id, found.detected_at)
        assert (records[1].event_id, records[1].time) == (cleared.cleared_id, cleared.cleared_at)
        assert cleared.cleared_at == at(210)

    def test_other_records_get_fresh_ids(self) -> None:
        """Cases and figures are states, not occurrences: the runtime gives them fresh ids."""
        run = play([ev(T.CASE_OPENED, "o", 0)])
        assert all(r.event_id is None and r.time is None for r in run.published if r.topic != OVERDUE)


class TestListedCases:
    def test_the_open_column_holds_the_called_and_open_cases(self) -> None:
        """After each chunk, a partition lists exactly its called and open cases, as their last published
        view summarises them; a closed case leaves the list, a reopened one comes back.
        """
        harness = Harness(partitions=2)
        steps = [
            ev(T.HOTLINE_CALL_RECEIVED, "c", 0, case_id="K-CALLED"),
            ev(T.CASE_OPENED, "o1", 0, case_id="K-OPEN", office=PWNI),
            ev(T.CASE_TRANSFERRED, "t1", 10, case_id="K-OPEN", office=PWNI, to_office=TOKYO),
            ev(T.CASE_OPENED, "o2", 0, case_id="K-CLOSED"),
            ev(T.CASE_CLOSED, "x2", 20, case_id="K-CLOSED"),
            ev(T.CASE_OPENED, "o3", 0, case_id="K-REOPENED", office=SEOUL),
            ev(T.CASE_CLOSED, "x3", 20, case_id="K-REOPENED", office=SEOUL),
            Tick(300),
            ev(T.CASE_REOPENED, "r3", 400, case_id="K-REOPENED", office=SEOUL),
        ]
        run = harness.play(steps, chunk=3)
        listed = {
            case_id: summary
            for state in harness.states.values()
            for case_id, summary in state.columns.open.items()
        }
        assert sorted(listed) == ["K-CALLED", "K-OPEN", "K-REOPENED"]
        for case_id, summary in listed.items():
            assert summary == case_summary(run.cases[case_id])
        assert listed["K-OPEN"]["handovers"] == 1
        assert listed["K-OPEN"]["office"] == TOKYO
        assert listed["K-OPEN"]["overdue"] is True
        assert listed["K-CALLED"]["overdue"] is False
        assert listed["K-REOPENED"]["overdue"] is False

    def test_a_summary_holds_no_personal_data(self) -> None:
        """Name, NIK, phone and notes stay in the case's personal part, never in what the lists show."""
        personal = Personal(
            nik=SITI.nik, full_name="Siti Nurhaliza", phone=SITI.phone, notes="At the shelter."
        )
        item = case_event(opened(personal, "CASE-1", TOKYO, at(0), "o1"), hasher)
        assert item is not None
        summary = case_summary(play([item]).cases["CASE-1"])
        assert summary is not None
        assert set(summary) == {*SUMMARY_FIELDS, "handovers"}
        text = json.dumps(summary)
        for value in (SITI.nik, "Siti", SITI.phone, "shelter"):
            assert value not in text

    def test_lists_show_overdue_first_then_the_nearest_deadline(self) -> None:
        """Overdue before not overdue, then by deadline (fractions of a second too), none last."""
        summaries = [
            {"case_id": "a", "overdue": False, "deadline": None},
            {"case_id": "b", "overdue": False, "deadline": "2026-03-02T10:00:00.500000Z"},
            {"case_id": "c", "overdue": False, "deadline": "2026-03-02T10:00:00Z"},
            {"case_id": "d", "overdue": True, "deadline": "2026-03-02T11:00:00Z"},
        ]
        assert [s["case_id"] for s in sorted(summaries, key=listing_order)] == ["d", "c", "b", "a"]


class TestDeskFigures:
    def test_today_and_the_last_24_hours_follow_the_clock(self) -> None:
        """Today is the clock's day in Jakarta (UTC+7); calls count in the clock's hour and the 23 before."""
        totals = {
            f"OPEN_CASES|{TOKYO}|DETENTION|CRITICAL": 2,
            f"OPEN_CASES|{SEOUL}|SCAM|LOW": 1,
            f"OVERDUE_CASES|{TOKYO}|CRITICAL": 1,
            f"OPENED|2026-03-03|{TOKYO}": 4,
            f"OPENED|2026-03-02|{TOKYO}": 9,
            f"CLOSED|2026-03-03|{SEOUL}": 1,
            "TIME_TO_CLOSE|10": 1,
            "TIME_TO_CLOSE|30": 2,
            f"HOTLINE_CALLS|{TOKYO}|2026-03-02T18": 5,
            f"HOTLINE_CALLS|{TOKYO}|2026-03-01T19": 1,
            f"HOTLINE_CALLS|{TOKYO}|2026-03-01T18": 7,
        }
        desk = desk_figures(totals, datetime(2026, 3, 2, 18, 30, tzinfo=UTC))
        assert desk["today"] == "2026-03-03"
        assert (desk["open_cases"], desk["overdue_cases"]) == (3, 1)
        assert (desk["opened_today"], desk["closed_today"]) == (4, 1)
        assert desk["hotline_calls_24h"] == 6
        assert desk["median_minutes_to_close"] == 30
        assert desk["open_by_office"] == {SEOUL: 1, TOKYO: 2}
        assert desk["open_by_urgency"] == {"CRITICAL": 2, "LOW": 1}
        assert desk["overdue_by_office"] == {TOKYO: 1}
        assert desk["groups"] == totals

    def test_nothing_yet(self) -> None:
        """Before any record there is no clock, no today and no median."""
        desk = desk_figures({}, None)
        assert (desk["as_of"], desk["today"], desk["median_minutes_to_close"]) == (None, None, None)


class _Cluster:
    """The cluster metadata kafka-python's partitioner asks: one topic with ``n`` partitions."""

    def __init__(self, n: int) -> None:
        self.n = n

    def topics(self) -> set[str]:
        return {ITEMS}

    def partitions_for_topic(self, _topic: str) -> set[int]:
        return set(range(self.n))

    def available_partitions_for_topic(self, _topic: str) -> set[int]:
        return set(range(self.n))


class TestWorkerParts:
    @pytest.mark.parametrize("partitions", [1, 3, 4, 6])
    def test_a_case_is_on_the_partition_the_producer_chose(self, partitions: int) -> None:
        """The partition the HTTP view looks a case up on is the one the intake's producer sent it to."""
        cluster = _Cluster(partitions)
        for n in range(200):
            case_id = f"CS-{n:04d}"
            chosen = DefaultPartitioner().partition(ITEMS, None, case_id.encode(), None, b"", cluster)
            assert partition_of(case_id, partitions) == chosen

    def test_peers_are_other_loopback_ports(self) -> None:
        """PROTECTION_PEER_PORTS lists every worker's port; a worker's peers are the others."""
        config = ProtectionSettings(web_port=7068, peer_ports=" 7069, 7068,7070 ")
        assert config.peers() == ["http://127.0.0.1:7069", "http://127.0.0.1:7070"]
        assert ProtectionSettings(web_port=7068).peers() == []
        with pytest.raises(ValidationError):
            ProtectionSettings(peer_ports="7069,evil.example:80")

    @pytest.mark.parametrize(
        "headers",
        [
            {"X-Office": "kbri-tokyo", "X-Purpose": "AUDIT"},
            {"X-Requested-By": "officer-7", "X-Office": "kbri-atlantis", "X-Purpose": "AUDIT"},
            {"X-Requested-By": "officer-7", "X-Office": "kbri-tokyo", "X-Purpose": "CURIOSITY"},
            {"X-Requested-By": "x" * 65, "X-Office": "kbri-tokyo", "X-Purpose": "AUDIT"},
        ],
        ids=["nobody", "unknown-office", "unknown-purpose", "long-staff-id"],
    )
    def test_a_lookup_must_say_who_asks_where_from_and_why(self, headers: dict[str, str]) -> None:
        """Refused before anything is read, naming what is missing and never the value given."""
        with pytest.raises(ValueError, match="X-Requested-By") as refused:
            who_asks(headers, "CASE-1")
        for value in headers.values():
            assert value not in str(refused.value) or value == "AUDIT"

    def test_who_asks_becomes_the_access_record(self) -> None:
        """A complete request gives the CaseAccessed to record, not found until the case is read."""
        access = who_asks(
            {"X-Requested-By": " officer-7 ", "X-Office": "kbri-tokyo", "X-Purpose": "CITIZEN_PROTECTION"},
            "K",
        )
        assert (access.requested_by, access.office, access.case_id, access.found) == (
            "officer-7",
            "kbri-tokyo",
            "K",
            False,
        )


class TestSimulatedCases:
    def test_simulated_traffic_has_hand_overs_reopenings_and_breaches(self) -> None:
        """What `make run` shows: cases handed to another office, reopened, and left without action beyond
        their service level (found overdue, most of them cleared later by the next action).
        """
        items = [item for event in simulated(7, 6000) if (item := case_event(event, hasher)) is not None]
        run = Harness(partitions=3).play(items, chunk=250)
        cases = run.cases.values()
        kinds = Counter(type(view).__name__ for view in run.breaches)
        assert sum(1 for case in cases if case.handovers) >= 5
        assert sum(1 for case in cases if any(e.type is T.CASE_REOPENED for e in case.history)) >= 5
        assert kinds["CaseOverdueModel"] >= 20
        assert kinds["CaseOverdueClearedModel"] >= 10
        figures = sum_partitions(run.stats.values())
        assert any(group.startswith("TIME_TO_CLOSE|") for group in figures)
