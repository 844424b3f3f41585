"""The projection as the runtime drives it: what it refuses (and that a refusal changes nothing), what it
stores, what it publishes, and simulated traffic end to end.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from services.bus.decoder import RawRecord
from services.bus.errors import BusError, EventConflict, MalformedPayload, UnknownSchema
from services.contracts.common import Personal
from services.protection.intake import case_event
from services.protection.items import encode_item
from services.protection.projection import ProtectionProjection
from services.protection.store import decode_record, encode_record
from services.protection.topics import CASES, ITEMS, OVERDUE, STATS
from services.registry.intake import to_item
from services.registry.items import encode_item as registry_item
from services.runtime.store import Store
from tests.unit.protection.builders import PWNI, SEOUL, TOKYO, Harness, T, Tick, at, ev, hasher, play
from tests.unit.registry.builders import SITI, opened, simulated

NOTE = "Afraid of the employer."


def raw(value: bytes | None, offset: int = 0) -> RawRecord:
    return RawRecord(ITEMS, 0, offset, 0, b"k", value)


class TestRefusals:
    @pytest.mark.parametrize(
        "value", [None, b"", b"\xc3\x01garbage", b"{}"], ids=["none", "empty", "frame", "json"]
    )
    def test_what_is_no_item_is_refused_at_read(self, value: bytes | None) -> None:
        """A record that is no ProtectionItem is refused with a BusError (dead-lettered by the runtime)."""
        with pytest.raises(BusError):
            ProtectionProjection().read(raw(value))

    def test_another_contract_is_refused(self) -> None:
        """A registry item on this topic is another contract: UNKNOWN_SCHEMA, not a crash."""
        item = to_item(opened(SITI.personal(), "CASE-1", TOKYO, at(0), "o1"), hasher)
        assert item is not None
        with pytest.raises(UnknownSchema):
            ProtectionProjection().read(raw(registry_item(item)))

    def test_same_id_other_body_is_refused_before_anything_changes(self) -> None:
        """An event id reused with another body: EventConflict, and the partition's pending state is as it
        was (the first body stays); the identical event again is a no-op.
        """
        harness = Harness()
        first = ev(T.CASE_OPENED, "e1", 0)
        harness.play([first])
        projection, state = harness.projection, harness.states[0]
        projection.apply(state, first)
        assert not state.touched
        with pytest.raises(EventConflict):
            projection.apply(state, ev(T.CASE_OPENED, "e1", 5))
        assert not state.touched
        assert state.columns.cases.pending == {}
        assert projection.drain(state, at(0)) == []

    def test_a_malformed_item_names_no_personal_data(self) -> None:
        """The refusal text of an item with a bad field names the rule, not the value."""
        item = case_event(opened(SITI.personal(), "CASE-1", TOKYO, at(0), "o1"), hasher)
        assert item is not None
        data = encode_item(item).replace(SITI.nik.encode(), b"9" * 16)
        with pytest.raises(MalformedPayload) as caught:
            ProtectionProjection().read(raw(data))
        assert "9" * 16 not in str(caught.value)
        assert SITI.nik not in str(caught.value)


class TestPublished:
    def test_drain_publishes_cases_then_breaches_then_figures(self) -> None:
        """One chunk: the changed case, its breach, the figures it moved, on their topics and keys."""
        run = play([ev(T.CASE_OPENED, "e1", 0), Tick(200)])
        topics = [record.topic for record in run.published]
        assert topics == sorted(topics, key=[CASES, OVERDUE, STATS].index)
        assert run.published[1].key == "CASE-1"

    def test_personal_data_only_in_personal(self) -> None:
        """A case with a name, NIK and note: none of them anywhere in what is published but the case's
        personal part.
        """
        personal = Personal(nik=SITI.nik, full_name="Siti Nurhaliza", notes=NOTE)
        item = case_event(opened(personal, "CASE-1", TOKYO, at(0), "o1"), hasher)
        assert item is not None
        run = play([item, Tick(500)])
        for record in run.published:
            data = record.view.to_avro()
            if record.topic == CASES:
                assert data["personal"]["subject"]["nik"] == SITI.nik
                assert data["personal"]["notes"][0]["text"] == NOTE
                data.pop("personal")
            text = json.dumps(data, default=str)
            assert SITI.nik not in text
            assert "Siti" not in text
            assert NOTE not in text

    def test_hand_over_history(self) -> None:
        """Opened by the national hotline, handed to the mission, on to another: the whole history."""
        run = play(
            [
                ev(T.CASE_OPENED, "o", 0, office=PWNI),
                ev(T.CASE_TRANSFERRED, "t1", 30, office=PWNI, to_office=TOKYO),
                ev(T.CASE_ASSIGNED, "a", 40, office=TOKYO),
                ev(T.CASE_TRANSFERRED, "t2", 90, office=TOKYO, to_office=SEOUL),
                ev(T.CASE_CLOSED, "late", 100, office=TOKYO),
            ]
        )
        view = run.cases["CASE-1"]
        assert [(h.from_office, h.to_office) for h in view.handovers] == [(PWNI, TOKYO), (TOKYO, SEOUL)]
        assert (view.office, view.opened_by, view.officer_id) == (SEOUL, PWNI, None)
        assert [(r.event_id, r.refusal.value) for r in view.refused] == [("late", "NOT_OWNER")]


class TestStore:
    def test_record_round_trips(self) -> None:
        """A stored case record decodes to what was stored, events, personal data and breaches included."""
        harness = Harness()
        harness.play([ev(T.CASE_OPENED, "e1", 0, personal={"full_name": "A", "notes": "n"}), Tick(200)])
        record = harness.states[0].columns.cases["CASE-1"]
        assert record.breaches
        assert decode_record(encode_record(record)) == record

    def test_restart_keeps_the_deadline_queue(self) -> None:
        """A worker restarted from the store still knows which deadlines are pending."""
        harness = Harness()
        harness.play([ev(T.CASE_OPENED, "e1", 0)])
        harness.restart()
        assert harness.states[0].due == {"CASE-1": at(120)}
        harness.play([Tick(121)])
        assert harness.run.cases["CASE-1"].overdue

    def test_memory_backend_through_the_runtime_store(self) -> None:
        """The projection's columns live in the runtime's store: committed with the progress, counted."""
        store = Store.in_memory()
        projection = ProtectionProjection()
        state = projection.open(store.partition(3))
        projection.apply(state, ev(T.CASE_OPENED, "e1", 0))
        projection.drain(state, at(0))
        store.partition(3).commit(1)
        assert store.partition(3).progress == 1
        assert projection.open(store.partition(3)).columns.case_count == 1


class TestSimulatedTraffic:
    def test_simulated_cases_fold_as_the_simulator_meant(self) -> None:
        """The simulator's protection traffic (in time order, on three partitions): every case opened,
        transferred and closed as simulated; only what the rules refuse is refused.
        """
        items = [item for event in simulated(11, 4000) if (item := case_event(event, hasher)) is not None]
        run = Harness(partitions=3).play(items, chunk=250)
        refused = Counter(r.refusal.value for case in run.cases.values() for r in case.refused)
        assert sum(len(case.history) for case in run.cases.values()) + sum(refused.values()) == len(items)
        statuses = Counter(case.status.value for case in run.cases.values())
        assert statuses["CLOSED"] > 0
        assert statuses["OPEN"] > 0
        assert any(case.handovers for case in run.cases.values())
        assert refused == Counter(), refused
