"""RegistryModel end to end on real BusEvents: one record per person across offices, and officer decisions."""

from __future__ import annotations

import pytest

from services.bus.errors import EventConflict
from services.bus.events import BusEvent
from services.contracts.common import Personal
from services.registry.decisions import confirm, reject, split_merge
from services.registry.golden import golden
from services.registry.identifiers import citizen_id_for
from services.registry.model import RegistryModel
from services.registry.record import fold
from tests.unit.registry.builders import (
    BUDI,
    CHI,
    DC,
    DEWI,
    LA,
    NY,
    SITI,
    at,
    departed,
    details,
    four_offices_history,
    hasher,
    obs_of,
    simulated,
    stay,
    submitted,
    tricky_history,
)


def model_of(*events: BusEvent) -> RegistryModel:
    model = RegistryModel(hasher=hasher)
    model.apply_events(events)
    return model


class TestOnePersonManyOffices:
    def test_nik_at_new_york_and_washington_is_one_record(self) -> None:
        """Stays reported at KJRI New York then KBRI Washington: one record, provenance from both offices."""
        model = model_of(
            stay(SITI.personal(), NY, "NY-1", at(0), "a"),
            stay(SITI.personal(name=False), DC, "DC-1", at(48), "b", city="Washington"),
        )
        (record,) = model.records.values()
        view = golden(record)
        assert view["offices"] == [DC, NY]
        assert view["residence"] == {"country": "US", "city": "Washington", "office": DC}
        assert view["provenance"]["residence.office"]["office"] == DC
        assert view["provenance"]["personal.full_name"]["office"] == NY
        assert model.counts().by_office == {DC: 1}

    def test_four_offices_one_record(self) -> None:
        """Stay in NY, move to DC, passport renewed in LA, protection case in Chicago: one golden record."""
        model = model_of(*four_offices_history())
        (record,) = model.records.values()
        view = golden(record)
        assert view["offices"] == [DC, CHI, LA, NY]
        assert {p["number"] for p in view["passports"]} == {SITI.passport, "C7777777"}
        assert view["open_cases"] == ["CASE-1"]

    def test_passport_event_merges_a_passport_only_record(self) -> None:
        """A passport-only stay and a NIK stay are two records until an application links number and NIK."""
        passport_only = stay(BUDI.personal(nik=False, passport=True, name=False), NY, "NY-3", at(0), "a")
        with_nik = stay(BUDI.personal(), DC, "DC-3", at(1), "b")
        model = model_of(passport_only, with_nik)
        assert len(model.records) == 2
        resolution = model.apply_event(submitted(BUDI.personal(passport=True), "APP-1", LA, at(2), "c"))
        assert resolution is not None
        assert resolution.merges[0].kind == "passport"
        (record,) = model.records.values()
        assert record.citizen_id == citizen_id_for(obs_of(with_nik).best)
        assert len(record.observations) == 3

    def test_details_changed_before_stay_reported(self) -> None:
        """An update that overtakes its registration is kept; the registration then joins the same record."""
        model = model_of(
            details(Personal(nik=SITI.nik, phone="+12125550999"), NY, "NY-1", at(5), "b"),
            stay(SITI.personal(), NY, "NY-1", at(0), "a"),
        )
        (record,) = model.records.values()
        assert golden(record)["personal"]["phone"] == "+12125550999"
        assert golden(record)["status"] == "ABROAD"

    def test_counts_follow_current_residence(self) -> None:
        """Counts are per office and country of citizens now abroad; a departure home removes them."""
        model = model_of(
            stay(SITI.personal(), NY, "NY-1", at(0), "a"),
            stay(BUDI.personal(), DC, "DC-1", at(0), "b", city="Washington"),
            stay(DEWI.personal(), "kbri-kuala-lumpur", "KL-1", at(0), "c", country="MY", city="Kuala Lumpur"),
            departed(DC, "DC-1", "ID", at(10), "d"),
        )
        counts = model.counts()
        assert counts.abroad == 2
        assert counts.by_office == {NY: 1, "kbri-kuala-lumpur": 1}
        assert counts.by_country == {"MY": 1, "US": 1}


class TestOfficerDecisions:
    def _weak_pair(self) -> RegistryModel:
        return model_of(
            stay(DEWI.personal(nik=False), NY, "NY-9", at(0), "a"),
            stay(DEWI.personal(nik=False), DC, "DC-2", at(1), "b", city="Washington"),
        )

    def test_weak_only_duplicates_are_a_candidate_until_confirmed(self) -> None:
        """Two weak-only records stay two records with a candidate; the officer's confirm merges them."""
        model = self._weak_pair()
        assert len(model.records) == 2
        (candidate,) = model.candidates.values()
        model.apply_decision(confirm(candidate))
        (record,) = model.records.values()
        assert len(golden(record)["stays"]) == 2
        assert model.candidates == {}

    def test_rejected_candidate_stays_two_records(self) -> None:
        """A rejection keeps both records and removes the candidate."""
        model = self._weak_pair()
        (candidate,) = model.candidates.values()
        model.apply_decision(reject(candidate))
        assert len(model.records) == 2
        assert model.candidates == {}

    def test_split_undoes_a_merge(self) -> None:
        """A mistyped passport number merges Siti and Budi; splitting the merge restores both records."""
        siti_events = [stay(SITI.personal(), NY, "NY-1", at(0), "a")]
        budi_events = [stay(BUDI.personal(passport=True), DC, "DC-1", at(1), "b")]
        mistyped = SITI.personal().model_copy(update={"passport_number": BUDI.passport})
        siti_events.append(stay(mistyped, NY, "NY-1", at(2), "c"))
        model = model_of(*siti_events[:1], *budi_events)
        resolution = model.apply_event(siti_events[1])
        assert resolution is not None
        assert len(model.records) == 1
        model.apply_decision(split_merge(resolution.merges[0]))
        expected = {
            record.citizen_id: record
            for record in (fold(obs_of(e) for e in siti_events), fold(obs_of(e) for e in budi_events))
            if record is not None
        }
        assert dict(model.records) == expected


class TestReplayAgreement:
    def test_record_ids_agree_with_the_resolver(self) -> None:
        """Over simulated traffic and the tricky history, every record sits under the id the resolver owns."""
        model = model_of(*simulated(3, 1500), *tricky_history())
        assert set(model.records) == set(model.state.identifiers)
        for citizen_id, record in model.records.items():
            assert record.citizen_id == citizen_id
            assert {obs.best for obs in record.observations.values()} <= model.state.identifiers[citizen_id]


class TestEventIds:
    def test_a_redelivered_event_changes_nothing(self) -> None:
        """The same event twice (a redelivery, a replay): one observation, the same record, no error."""
        first = stay(SITI.personal(), NY, "NY-1", at(0), "a")
        model = model_of(first)
        before = dict(model.records)
        assert model.apply_event(first) is not None
        assert dict(model.records) == before

    def test_the_same_id_with_another_body_is_refused_and_changes_nothing(self) -> None:
        """An event id applied before, now carrying another city: EventConflict, and the record keeps what
        the first body said (not dropped in silence, not applied).
        """
        model = model_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        before = dict(model.records)
        with pytest.raises(EventConflict) as refused:
            model.apply_event(stay(SITI.personal(), NY, "NY-1", at(0), "a", city="Buffalo"))
        assert refused.value.reason == "EVENT_CONFLICT"
        assert SITI.nik not in refused.value.message
        assert dict(model.records) == before
