"""The golden record fold: latest wins with a fixed tie order, provenance, collections, stored form."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.contracts.common import Personal
from services.registry.facts import Observation
from services.registry.golden import golden
from services.registry.identifiers import citizen_id_for
from services.registry.record import CitizenRecord, apply, fold, from_dict, to_dict
from tests.unit.registry.builders import (
    BUDI,
    SITI,
    at,
    closed,
    details,
    hotline,
    obs_of,
    opened,
    printed,
    reopened,
    stay,
    submitted,
    transferred,
    wrap,
)

NY, DC, LA = "kjri-new-york", "kbri-washington", "kjri-los-angeles"


def record_of(*observations: Observation) -> CitizenRecord:
    record = fold(observations)
    assert record is not None
    return record


class TestLatestWins:
    def test_later_event_wins_whatever_the_order(self) -> None:
        """A later phone number wins over an earlier one, applied in either order."""
        early = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        late = obs_of(details(Personal(nik=SITI.nik, phone="+12125550999"), NY, "NY-1", at(1), "b"))
        assert golden(record_of(early, late))["personal"]["phone"] == "+12125550999"
        assert record_of(late, early) == record_of(early, late)

    def test_ties_are_settled_by_source_then_event_id(self) -> None:
        """Same event time: the larger source code wins, then the larger event id; never arrival order."""
        payload = details(Personal(nik=SITI.nik, phone="+12125550001"), NY, "NY-1", at(1), "x").payload
        other = details(Personal(nik=SITI.nik, phone="+12125550002"), NY, "NY-1", at(1), "x").payload
        from_pusat = obs_of(wrap(payload, at(1), "t1", source="kemlu-pusat"))
        from_ny = obs_of(wrap(other, at(1), "t2", source=NY))
        assert (
            golden(record_of(from_ny, from_pusat))["personal"]["phone"] == "+12125550002"
        )  # "kjri" > "kemlu"
        same_a = obs_of(wrap(payload, at(1), "t3", source=NY))
        same_b = obs_of(wrap(other, at(1), "t4", source=NY))
        winner = max(same_a, same_b, key=lambda o: o.event_id)
        assert golden(record_of(same_a, same_b))["personal"]["phone"] == winner.personal["phone"]

    def test_provenance_names_office_event_and_time(self) -> None:
        """Each field says which office, which event and when: here the city from DC, the name from NY."""
        ny = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        moved = {"city": "Washington", "arrival_date": date(2026, 1, 2)}
        dc = obs_of(stay(SITI.personal(name=False), DC, "DC-1", at(9), "b", **moved))
        view = golden(record_of(ny, dc))
        assert view["provenance"]["residence.city"]["office"] == DC
        assert view["provenance"]["residence.city"]["event_id"] == dc.event_id
        assert view["provenance"]["personal.full_name"]["office"] == NY
        assert view["offices"] == [DC, NY]
        assert [s["office"] for s in view["stays"]] == [NY, DC]

    def test_details_changed_before_stay_reported_is_not_an_error(self) -> None:
        """A change that arrives before the registration folds fine; the later-timed facts still win."""
        change = obs_of(details(Personal(nik=SITI.nik, phone="+12125550999"), NY, "NY-1", at(5), "b"))
        registration = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        cid = citizen_id_for(change.best)
        record = apply(apply(None, change, cid), registration, cid)
        view = golden(record)
        assert view["personal"]["phone"] == "+12125550999"
        assert view["status"] == "ABROAD"
        assert view["residence"]["office"] == NY


class TestCollections:
    def test_printed_passport_details_win_over_mentions(self) -> None:
        """A later mention of a passport number does not erase the issue data from its printing."""
        printing = obs_of(printed(SITI.passport, "APP-1", LA, at(0), "a"))
        mention = obs_of(submitted(SITI.personal(passport=True), "APP-2", NY, at(5), "b"))
        (held,) = golden(record_of(printing, mention))["passports"]
        assert held == {
            "number": SITI.passport,
            "issuing_office": LA,
            "issue_date": date(2026, 3, 1),
            "expiry_date": date(2036, 3, 1),
            "event_id": printing.event_id,
        }

    def test_cases_open_close_reopen_and_move(self) -> None:
        """Case status is the latest of open/closed events; its office follows transfers."""
        events = [
            hotline("C-1", NY, at(0), "a", BUDI.personal(), subject=True),
            opened(BUDI.personal(), "C-1", NY, at(1), "b"),
            transferred("C-1", NY, DC, at(2), "c"),
            closed("C-1", DC, at(3), "d"),
            opened(BUDI.personal(), "C-2", NY, at(1), "e"),
        ]
        view = golden(record_of(*(obs_of(e) for e in events)))
        assert view["cases"] == {
            "C-1": {"status": "CLOSED", "office": DC},
            "C-2": {"status": "OPEN", "office": NY},
        }
        assert view["open_cases"] == ["C-2"]
        again = record_of(*(obs_of(e) for e in [*events, reopened("C-1", DC, at(4), "f")]))
        assert golden(again)["open_cases"] == ["C-1", "C-2"]


class TestRecordRules:
    def test_applying_an_event_twice_changes_nothing(self) -> None:
        """The second apply of an event id returns the record unchanged."""
        obs = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        record = apply(None, obs, citizen_id_for(obs.best))
        assert apply(record, obs, record.citizen_id) is record

    def test_routing_to_the_wrong_citizen_is_refused(self) -> None:
        """If the caller routes an event elsewhere than the resolver would, the fold refuses (ids only)."""
        obs = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        with pytest.raises(ValueError, match="routed to cit-wrong") as caught:
            apply(None, obs, "cit-wrong")
        assert SITI.nik not in str(caught.value)

    def test_repr_shows_no_personal_data(self) -> None:
        """A record in a log line shows its id and size only."""
        record = record_of(obs_of(stay(SITI.personal(passport=True), NY, "NY-1", at(0), "a")))
        for secret in (SITI.nik, SITI.passport, SITI.full_name, SITI.phone):
            assert secret not in repr(record)

    def test_stored_form_round_trips_exactly(self) -> None:
        """to_dict -> JSON -> from_dict gives an equal record, golden view included."""
        events = [
            stay(SITI.personal(passport=True), NY, "NY-1", at(0), "a"),
            printed(SITI.passport, "APP-1", LA, at(1), "b"),
            opened(SITI.personal(), "C-9", DC, at(2), "c"),
        ]
        record = record_of(*(obs_of(e) for e in events))
        stored = json.loads(json.dumps(to_dict(record)))
        observations = {
            k: Observation.from_dict(json.loads(json.dumps(o.to_dict())))
            for k, o in record.observations.items()
        }
        assert from_dict(stored, observations.__getitem__) == record
        assert golden(from_dict(stored, observations.__getitem__)) == golden(record)

    def test_stored_keys_hold_no_passport_number(self) -> None:
        """Passports are keyed by their hashed identifier: the raw number is a value, never a key."""
        record = record_of(obs_of(printed(SITI.passport, "APP-1", LA, at(1), "b")))
        assert SITI.passport not in json.dumps(to_dict(record)["winners"])
        assert golden(record)["passports"][0]["number"] == SITI.passport

    def test_stored_form_of_another_format_is_refused(self) -> None:
        """An unknown format or a record whose id does not match its observations is not read."""
        record = record_of(obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a")))
        with pytest.raises(ValueError, match="format"):
            from_dict({**to_dict(record), "format": 99}, record.observations.__getitem__)
        with pytest.raises(ValueError, match="inconsistent"):
            from_dict({**to_dict(record), "citizen_id": "cit-other"}, record.observations.__getitem__)
