"""Citizen links: a case follows the registry's citizen id through merges and splits.

The registry here is the real one (``RegistryModel`` and its published ``CitizenRecord`` views); its views
go through the intake's ``citizen_link`` and the items' Avro into the projection, as they will live.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.contracts.common import Personal
from services.contracts.registry import CitizenRecordModel
from services.protection.facts import CitizenLink
from services.protection.intake import case_event, citizen_link
from services.protection.links import Links, nik_identifier, passport_identifier
from services.registry import identifiers as registry_ids
from services.registry.decisions import split_merge
from services.registry.mapping import citizen_record_view
from services.registry.model import RegistryModel
from services.registry.projection import note_changes
from services.registry.resolution import Resolution
from tests.unit.protection.builders import Harness, hasher
from tests.unit.registry.builders import BUDI, DC, NY, at, opened, stay, submitted

SF = "kjri-san-francisco"


class Registry:
    """The registry, publishing its changed records after each step as its projection does."""

    def __init__(self) -> None:
        self.model = RegistryModel(hasher=hasher)

    def views(self, resolution: Resolution | None) -> list[CitizenRecordModel]:
        touched: set[str] = set()
        moved: dict[str, str] = {}
        if resolution is not None:
            note_changes(resolution, touched, moved)
        records = self.model.records
        return [
            citizen_record_view(cid, records.get(cid), merged_into=None if cid in records else moved[cid])
            for cid in sorted(touched | moved.keys())
            if cid in records or cid in moved
        ]


def links_of(views: Sequence[CitizenRecordModel]) -> list[CitizenLink]:
    return [citizen_link(view, hasher) for view in views]


class TestMergeThenSplit:
    @pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "links-reversed"])
    def test_case_follows_the_citizen(self, reverse: bool) -> None:
        """A case opened with a passport number only belongs to the passport-only citizen; an application
        with NIK and passport merges that citizen into the NIK's (the case follows); the officer's split
        gives it back. The links of one step arriving in either order end the same.
        """
        registry, harness = Registry(), Harness(partitions=2)

        def step(resolution: Resolution | None) -> None:
            links = links_of(registry.views(resolution))
            harness.play(list(reversed(links)) if reverse else links)

        step(
            registry.model.apply_event(
                stay(BUDI.personal(nik=False, passport=True, name=False), SF, "SF-1", at(0), "s1")
            )
        )
        case_opening = opened(Personal(passport_number=BUDI.passport), "CASE-7", NY, at(1), "c1")
        step(registry.model.apply_event(case_opening))
        item = case_event(case_opening, hasher)
        assert item is not None
        harness.play([item])
        passport_citizen = harness.run.cases["CASE-7"].citizen_id
        assert passport_citizen is not None

        step(registry.model.apply_event(stay(BUDI.personal(), DC, "DC-1", at(2), "s2")))
        merging = registry.model.apply_event(
            submitted(BUDI.personal(passport=True), "APP-1", DC, at(3), "a1")
        )
        assert merging is not None
        assert merging.merges
        step(merging)
        merged_citizen = harness.run.cases["CASE-7"].citizen_id
        assert merged_citizen not in {None, passport_citizen}
        assert merged_citizen in registry.model.records

        step(registry.model.apply_decision(split_merge(merging.merges[0])))
        assert harness.run.cases["CASE-7"].citizen_id == passport_citizen
        assert passport_citizen in registry.model.records

    def test_link_before_the_case(self) -> None:
        """A citizen link that arrives before the case's first event still names the case's citizen."""
        harness = Harness()
        nik = nik_identifier(BUDI.nik, hasher)
        harness.play([CitizenLink("cit-" + "1" * 20, frozenset({nik}))])
        opening = case_event(opened(BUDI.personal(), "CASE-8", NY, at(1), "c8"), hasher)
        assert opening is not None
        assert harness.play([opening]).cases["CASE-8"].citizen_id == "cit-" + "1" * 20


class TestIdentifiers:
    def test_spelt_as_the_registry_spells_them(self) -> None:
        """The view's identifiers are the registry's, byte for byte (this layer may not import it)."""
        assert nik_identifier(BUDI.nik, hasher) == registry_ids.nik_identifier(BUDI.nik, hasher)
        for number in ("c1234567", " C 123 4567 "):
            assert passport_identifier(number, hasher) == registry_ids.passport_identifier(number, hasher)

    def test_a_merged_id_holds_nothing(self) -> None:
        """A merged-away citizen record becomes a link holding no identifiers."""
        record = CitizenRecordModel.merged("cit-" + "1" * 20, "cit-" + "2" * 20)
        assert citizen_link(record, hasher) == CitizenLink("cit-" + "1" * 20, frozenset(), "cit-" + "2" * 20)

    def test_two_claims_resolve_to_the_smallest_id_until_one_lets_go(self) -> None:
        """Between the two links of a split an identifier may have two claimers: the smaller id wins, the
        same everywhere, and the other takes over when the first lets go.
        """
        links = Links({}, {}, {})
        first, second = "cit-" + "2" * 20, "cit-" + "1" * 20
        links.hold(first, frozenset({"nik:a"}))
        links.hold(second, frozenset({"nik:a", "passport:b"}))
        assert links.citizen_of(["nik:a"]) == second
        links.hold(second, frozenset({"passport:b"}))
        assert links.citizen_of(["nik:a", "passport:b"]) == first
        assert links.citizen_of(["passport:b"]) == second
