"""observe(): what the registry takes from each kind of event; raw ids never become identifiers."""

from __future__ import annotations

import json
from datetime import date, timedelta, timezone
from typing import ClassVar

from services.bus.events import BusEvent
from services.contracts.base import EventModel
from services.contracts.common import Personal
from services.registry.facts import CaseStatus, Observation, Status
from services.registry.identifiers import citizen_id_for, kind_of, normalise_text, rank_key
from services.registry.observation import observe
from tests.unit.registry.builders import (
    BUDI,
    SITI,
    at,
    closed,
    departed,
    details,
    hasher,
    hotline,
    obs_of,
    opened,
    paid,
    printed,
    returned,
    simulated,
    stay,
    submitted,
    transferred,
    wrap,
)

NY = "kjri-new-york"


class TestIdentifiers:
    def test_citizen_event_carries_ref_nik_passport_and_weak_key(self) -> None:
        """A stay with NIK and passport gives ref, nik and passport identifiers, and one weak key."""
        obs = obs_of(stay(SITI.personal(passport=True), NY, "NY-1", at(0), "x1"))
        assert sorted(kind_of(i) for i in obs.identifiers) == ["nik", "passport", "ref"]
        assert f"ref:{NY}:NY-1" in obs.identifiers
        assert len(obs.weak_keys) == 1
        assert obs.best.startswith("nik:")

    def test_raw_nik_and_passport_never_in_identifiers_or_repr(self) -> None:
        """Identifiers, weak keys and repr hold hashes only; the raw values stay in the personal facts."""
        obs = obs_of(stay(SITI.personal(passport=True), NY, "NY-1", at(0), "x1"))
        exposed = " ".join([*obs.identifiers, *obs.weak_keys, repr(obs)])
        for secret in (SITI.nik, SITI.passport, SITI.full_name, SITI.phone, "New York"):
            assert secret not in exposed
        assert obs.personal["nik"] == SITI.nik
        assert obs.passport is not None
        assert obs.passport.number == SITI.passport

    def test_weak_key_ignores_case_accents_spaces_and_punctuation(self) -> None:
        """Two offices typing the same name differently produce the same weak key."""
        plain = SITI.personal(nik=False)
        typed = plain.model_copy(
            update={"full_name": "  SITÍ   nurhaliza,", "place_of_birth": "lombok-timur"}
        )
        spaced = plain.model_copy(update={"place_of_birth": "Lombok  Timur."})
        first = obs_of(stay(plain, NY, "A", at(0), "w1")).weak_keys
        assert first == obs_of(stay(spaced, NY, "B", at(0), "w2")).weak_keys
        assert normalise_text("  SITÍ   nurhaliza,") == "siti nurhaliza"
        # "lombok-timur" drops the hyphen: "lomboktimur" is another place text, so another key.
        assert first != obs_of(stay(typed, NY, "C", at(0), "w3")).weak_keys

    def test_no_weak_key_without_all_three_parts(self) -> None:
        """Name, birth date and birth place are all needed for a weak key."""
        partial = SITI.personal().model_copy(update={"place_of_birth": None})
        assert obs_of(stay(partial, NY, "NY-1", at(0), "x1")).weak_keys == frozenset()

    def test_rank_orders_kinds_then_text(self) -> None:
        """Nik < passport < ref < app < case, then lexicographic; citizen ids derive from the best."""
        ids = ["case:1", "app:1", "ref:a:1", "passport:z", "nik:b", "nik:a"]
        assert sorted(ids, key=rank_key) == ["nik:a", "nik:b", "passport:z", "ref:a:1", "app:1", "case:1"]
        assert citizen_id_for("nik:a").startswith("cit-")
        assert len(citizen_id_for("nik:a")) == 24


class _Unfollowed(EventModel):
    """An event type of some other service: the registry does not read it."""

    SCHEMA: ClassVar[str] = "id.go.kemlu.bus.other.v1.Unfollowed"
    TOPIC: ClassVar[str] = "other"
    office: str


class TestFacts:
    def test_unfollowed_event_types_give_none(self) -> None:
        """observe() returns None for an event type it does not know, instead of guessing."""
        event = stay(SITI.personal(), NY, "NY-1", at(0), "u1")
        other = BusEvent(envelope=event.envelope, payload=_Unfollowed(office=NY), key="k")
        assert observe(other, hasher=hasher) is None

    def test_stay_reported_is_abroad_with_residence_and_stay(self) -> None:
        """StayReported: status ABROAD, residence at the office, a stay report, personal fields."""
        obs = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "x1", city="Queens"))
        assert obs.kind == "StayReported"
        assert obs.status is Status.ABROAD
        assert dict(obs.residence) == {"country": "US", "city": "Queens", "office": NY}
        assert obs.stay is not None
        assert obs.stay.arrival_date == date(2025, 9, 1)
        assert obs.personal["full_name"] == SITI.full_name
        assert obs.personal["date_of_birth"] == "1990-05-17"

    def test_details_changed_sets_residence_only_when_place_changes(self) -> None:
        """A new phone is no statement about where the stay is registered; a new city is."""
        phone_only = details(Personal(phone="+12125550999"), NY, "NY-1", at(1), "x2")
        assert dict(obs_of(phone_only).residence) == {}
        moved = obs_of(details(Personal(phone="+12125550999"), NY, "NY-1", at(1), "x3", city="Bronx"))
        assert dict(moved.residence) == {"office": NY, "city": "Bronx"}
        assert moved.status is Status.ABROAD

    def test_departure_and_return(self) -> None:
        """Departed abroad: ABROAD, city and office unknown; Departed to ID or ReturnedHome: RETURNED."""
        onward = obs_of(departed(NY, "NY-1", "CA", at(2), "x4"))
        assert onward.status is Status.ABROAD
        assert dict(onward.residence) == {"country": "CA", "city": None, "office": None}
        assert obs_of(departed(NY, "NY-1", "ID", at(2), "x5")).status is Status.RETURNED
        home = obs_of(returned(NY, "NY-1", at(2), "x6"))
        assert home.status is Status.RETURNED
        assert home.residence["country"] == "ID"

    def test_passport_events(self) -> None:
        """Application ids tie events without personal data; a printing gives the passport's issue data."""
        assert obs_of(paid("APP-1", NY, at(0), "p1")).identifiers == frozenset({"app:APP-1"})
        printing = obs_of(printed("c 777 7777", "APP-1", NY, at(1), "p2"))
        assert printing.passport is not None
        assert printing.passport.number == "C7777777"
        assert printing.passport.issuing_office == NY
        assert printing.passport.expiry_date == date(2036, 3, 1)
        mention = obs_of(submitted(BUDI.personal(passport=True), "APP-2", NY, at(0), "p3")).passport
        assert mention is not None
        assert not mention.printed

    def test_protection_events(self) -> None:
        """Cases: open, closed, transferred; a caller who is not the subject contributes nothing personal."""
        call = obs_of(hotline("C-1", NY, at(0), "c1", BUDI.personal(), subject=False))
        assert call.identifiers == frozenset({"case:C-1"})
        assert dict(call.personal) == {}
        assert call.weak_keys == frozenset()
        assert call.case is not None
        assert call.case.status is CaseStatus.OPEN
        self_call = obs_of(hotline("C-1", NY, at(0), "c2", BUDI.personal(), subject=True))
        assert any(i.startswith("nik:") for i in self_call.identifiers)
        assert obs_of(opened(BUDI.personal(), "C-1", NY, at(1), "c3")).case is not None
        closing = obs_of(closed("C-1", NY, at(2), "c4")).case
        assert closing is not None
        assert closing.status is CaseStatus.CLOSED
        moving = obs_of(transferred("C-1", NY, "kbri-washington", at(3), "c5")).case
        assert moving is not None
        assert (moving.status, moving.office) == (None, "kbri-washington")

    def test_time_is_utc_and_source_from_envelope(self) -> None:
        """Event time is taken from the envelope in UTC; the source is the publishing office."""
        local = at(0).astimezone(timezone(timedelta(hours=-5)))
        obs = obs_of(
            wrap(stay(SITI.personal(), NY, "NY-1", at(0), "x1").payload, local, "t1", source="kemlu-pusat")
        )
        assert obs.time == at(0)
        assert obs.time.utcoffset() == timedelta(0)
        assert obs.source == "kemlu-pusat"
        assert obs.office == NY


class TestStoredForm:
    def test_round_trip_through_json(self) -> None:
        """Every observation of a simulated day survives to_dict -> JSON -> from_dict unchanged."""
        events = simulated(7, 400)
        for event in events:
            obs = observe(event, hasher=hasher)
            assert obs is not None
            assert Observation.from_dict(json.loads(json.dumps(obs.to_dict()))) == obs
