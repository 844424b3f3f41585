"""The registry's views and decisions through their Avro contracts: built from folded records, encoded with
the bus codec, decoded back equal; officer decisions survive event -> Avro -> dataclass unchanged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.bus.codec import HEADER_SIZE, AvroCodec
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.envelope import truncate_ms
from services.bus.events import build_payload
from services.bus.keys import key_for
from services.bus.modelwriter import model_writer
from services.bus.publisher import EventMeta, Publisher
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts.base import EventModel
from services.contracts.registry import (
    TOTAL_KEY,
    AccessPurpose,
    CitizenRecordModel,
    CountDimension,
    LookupKind,
    MatchConfirmed,
    MatchRejected,
    OfficeCountModel,
    RecordAccessedModel,
    RecordSplit,
    Residence,
    ViewModel,
)
from services.registry.decisions import Decision, confirm, reject, split_merge
from services.registry.golden import golden
from services.registry.mapping import (
    citizen_record_avro,
    citizen_record_view,
    count_view,
    count_views,
    decision_event,
    decision_from_event,
)
from services.registry.model import RegistryModel
from services.registry.record import CitizenRecord
from tests.unit.registry.builders import (
    BUDI,
    CHI,
    DC,
    DEWI,
    LA,
    NY,
    SITI,
    at,
    four_offices_history,
    hasher,
    simulated,
    stay,
    submitted,
    tricky_history,
)

CODEC = AvroCodec(load_registry(get_settings().schemas_dir))
_WRITER = model_writer(CODEC.registry.latest(CitizenRecordModel.SCHEMA).schema, plain=True)
assert _WRITER is not None
PLAIN_WRITER = _WRITER
NOW = datetime(2026, 3, 20, 12, 0, 0, 123456, tzinfo=UTC)
WHO = {"office": "kemlu-pwni", "officer_id": "officer-0042"}


def through_avro(model: ViewModel | EventModel) -> dict[str, Any]:
    """Encode as the registry publishes (single-object Avro), decode as any reader would."""
    return CODEC.decode(CODEC.encode(model.SCHEMA, model.to_avro()), expected=model.SCHEMA).record


def model_of(*events: Any) -> RegistryModel:
    model = RegistryModel(hasher=hasher)
    model.apply_events(events)
    return model


@pytest.fixture(scope="module")
def traffic() -> RegistryModel:
    """The registry folded from 2,000 simulated events (about 150 citizens)."""
    return model_of(*simulated(7, 2000))


def assert_carries_golden(view: CitizenRecordModel, record: CitizenRecord) -> None:
    """Every part of ``golden(record)`` is in the view, under its contract name, with the same value."""
    expected = golden(record)
    dumped = view.model_dump()
    personal = dumped["personal"]
    assert {k: v for k, v in personal.items() if k != "passports" and v is not None} == {
        k: date.fromisoformat(v) if k == "date_of_birth" else v for k, v in expected["personal"].items()
    }
    assert list(personal["passports"]) == expected["passports"]
    assert dumped["status"] == expected["status"]
    assert dumped["residence"] == expected["residence"]
    assert list(dumped["stays"]) == expected["stays"]
    assert {c["case_id"]: {"status": c["status"], "office": c["office"]} for c in dumped["cases"]} == (
        expected["cases"]
    )
    assert list(dumped["open_cases"]) == expected["open_cases"]
    assert list(dumped["offices"]) == expected["offices"]
    assert {path: p.model_dump() for path, p in view.provenance.items()} == {
        path: {**p, "time": truncate_ms(p["time"])} for path, p in expected["provenance"].items()
    }
    assert view.first_seen == truncate_ms(expected["first_seen"])
    assert view.updated_at == truncate_ms(expected["last_seen"])
    assert view.observations == expected["events"]


def assert_published_as_validated(citizen_id: str, record: CitizenRecord | None, **merged: str) -> None:
    """The plain data the core publishes encodes to the very bytes of the validated model's data."""
    plain = citizen_record_avro(citizen_id, record, **merged)
    validated = citizen_record_view(citizen_id, record, **merged).to_avro()
    schema = CitizenRecordModel.SCHEMA
    expected = CODEC.encode(schema, validated)
    assert CODEC.encode(schema, plain) == expected
    assert CODEC.encode_plain(schema, plain) == expected
    body = bytearray()
    PLAIN_WRITER(body, plain)  # the generated writer itself covers it: no fall-back to the general way
    assert bytes(body) == expected[HEADER_SIZE:]


class TestCitizenRecordView:
    def test_simulated_records_carry_golden_and_round_trip(self, traffic: RegistryModel) -> None:
        """Every record folded from simulated traffic becomes a view holding exactly its golden record,
        and decodes back equal from the bus codec's bytes.
        """
        views = [citizen_record_view(cid, record) for cid, record in traffic.records.items()]
        for view, record in zip(views, traffic.records.values(), strict=True):
            assert_carries_golden(view, record)
            assert CitizenRecordModel.from_avro(through_avro(view)) == view
            assert_published_as_validated(view.citizen_id, record)
        # Not vacuous: printed passports, cases, both statuses and unknown offices all occurred.
        assert any(p.issue_date for v in views if v.personal for p in v.personal.passports)
        assert any(v.open_cases for v in views)
        assert any(v.cases and not v.open_cases for v in views)
        assert {v.status for v in views} >= {None, "ABROAD", "RETURNED"}
        assert any(v.residence.office is None for v in views)

    def test_identity_work_records_round_trip(self) -> None:
        """Records shaped by renames, passport merges, transfers and weak-only duplicates round-trip too."""
        model = model_of(*tricky_history())
        for cid, record in model.records.items():
            view = citizen_record_view(cid, record)
            assert_carries_golden(view, record)
            assert CitizenRecordModel.from_avro(through_avro(view)) == view
            assert_published_as_validated(cid, record)

    def test_four_offices_in_one_view(self) -> None:
        """NY and DC stays, an LA passport and a Chicago case: one view, passports inside personal."""
        model = model_of(*four_offices_history())
        ((cid, record),) = model.records.items()
        view = citizen_record_view(cid, record)
        assert view.personal is not None
        assert [p.number for p in view.personal.passports] == [SITI.passport, "C7777777"]
        assert view.personal.passports[1].issuing_office == LA
        assert view.residence.office == DC
        assert view.provenance["residence.office"].office == DC
        assert view.open_cases == ("CASE-1",)
        assert view.offices == (DC, CHI, LA, NY)
        assert (view.first_seen, view.updated_at, view.observations) == (at(0), at(100), 5)

    def test_no_personal_data_outside_personal(self) -> None:
        """Without its personal part, the published record shows no NIK, name, birth data, phone or
        passport number of the citizen.
        """
        model = model_of(
            stay(SITI.personal(), NY, "NY-1", at(0), "a"),
            submitted(SITI.personal(passport=True), "APP-1", LA, at(60), "c"),
        )
        ((cid, record),) = model.records.items()
        rest = citizen_record_view(cid, record).model_dump_json(exclude={"personal"})
        for value in (SITI.nik, SITI.full_name, SITI.place_of_birth, SITI.phone, SITI.passport):
            assert value not in rest
        assert SITI.date_of_birth.isoformat() not in rest

    def test_times_keep_milliseconds(self) -> None:
        """Event times with microseconds are published at millisecond precision, so decoding is exact."""
        model = model_of(stay(SITI.personal(), NY, "NY-1", at(0) + timedelta(microseconds=123456), "a"))
        ((cid, record),) = model.records.items()
        view = citizen_record_view(cid, record)
        assert view.updated_at == at(0) + timedelta(milliseconds=123)
        assert CitizenRecordModel.from_avro(through_avro(view)) == view
        assert_published_as_validated(cid, record)

    def test_merged_id_points_to_the_survivor(self) -> None:
        """The id absorbed by a passport merge is published as a pointer: citizen_id and merged_into only."""
        model = model_of(
            stay(BUDI.personal(nik=False, passport=True, name=False), NY, "NY-3", at(0), "a"),
            stay(BUDI.personal(), DC, "DC-3", at(1), "b"),
        )
        resolution = model.apply_event(submitted(BUDI.personal(passport=True), "APP-1", LA, at(2), "c"))
        assert resolution is not None
        (merge,) = resolution.merges
        view = citizen_record_view(
            merge.absorbed, model.records.get(merge.absorbed), merged_into=merge.surviving
        )
        assert view.citizen_id == merge.absorbed
        assert view.merged_into == merge.surviving
        assert view.status is None
        assert view.residence == Residence()
        assert view.personal is None
        assert view.provenance == {}
        assert view.stays == ()
        assert view.observations == 0
        assert CitizenRecordModel.from_avro(through_avro(view)) == view
        assert_published_as_validated(merge.absorbed, None, merged_into=merge.surviving)

    def test_record_or_pointer_not_both_nor_neither(self) -> None:
        """A view needs exactly one of record and merged_into, and a record under its own id only."""
        model = model_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        ((cid, record),) = model.records.items()
        other = "cit-" + "0" * 20
        with pytest.raises(ValueError, match="needs its record"):
            citizen_record_view(cid, None)
        with pytest.raises(ValueError, match="not merged"):
            citizen_record_view(cid, record, merged_into=other)
        with pytest.raises(ValueError, match="stored under"):
            citizen_record_view(other, record)

    def test_contract_rules_of_the_record(self) -> None:
        """A pointer carries nothing else, never points to itself; a live record has its times; provenance
        keys are paths of single-valued fields.
        """
        cid, other = "cit-" + "1" * 20, "cit-" + "2" * 20
        pointer = CitizenRecordModel.merged(cid, other).model_dump()
        with pytest.raises(ValidationError, match="nothing but merged_into"):
            CitizenRecordModel.model_validate({**pointer, "observations": 3})
        with pytest.raises(ValidationError, match="into itself"):
            CitizenRecordModel.merged(cid, cid)
        with pytest.raises(ValidationError, match="observations and first and last"):
            CitizenRecordModel.model_validate({**pointer, "merged_into": None})
        seen = {"source": NY, "office": NY, "event_id": "e", "time": NOW}
        with pytest.raises(ValidationError, match="provenance keys"):
            CitizenRecordModel.model_validate({**pointer, "provenance": {"personal.passports": seen}})


class TestCountViews:
    def test_simulated_figures_round_trip(self, traffic: RegistryModel) -> None:
        """The total comes first, then every office and country figure; each decodes back equal."""
        counts = traffic.counts()
        views = count_views(counts, NOW)
        assert (views[0].dimension, views[0].key, views[0].citizens) == (CountDimension.TOTAL, TOTAL_KEY, 60)
        offices = {v.key: v.citizens for v in views if v.dimension is CountDimension.OFFICE}
        countries = {v.key: v.citizens for v in views if v.dimension is CountDimension.COUNTRY}
        assert (offices, countries) == (counts.by_office, counts.by_country)
        assert len({v.record_key for v in views}) == len(views)
        for view in views:
            assert view.as_of == NOW.replace(microsecond=123000)
            assert OfficeCountModel.from_avro(through_avro(view)) == view

    @pytest.mark.parametrize(
        ("key", "dimension", "value"),
        [
            ("office:kjri-new-york", "OFFICE", "kjri-new-york"),
            ("country:US", "COUNTRY", "US"),
            ("abroad", "TOTAL", "abroad"),
        ],
    )
    def test_record_keys_parse_and_come_back(self, key: str, dimension: str, value: str) -> None:
        """A figure key gives its dimension and bare key, and record_key gives the Kafka key back."""
        view = count_view(key, 0, NOW)
        assert (view.dimension, view.key, view.record_key) == (dimension, value, key)

    @pytest.mark.parametrize(
        "key", ["office:kbri-atlantis", "country:usa", "country:", "region:EU", "ABROAD"]
    )
    def test_bad_keys_are_refused(self, key: str) -> None:
        """Unknown offices, malformed countries and unknown prefixes are refused (ValidationError is a
        ValueError).
        """
        with pytest.raises(ValueError, match="key"):
            count_view(key, 1, NOW)

    def test_figures_are_never_negative(self) -> None:
        """A figure below zero is a counting bug, refused before it is published."""
        with pytest.raises(ValidationError, match="citizens"):
            count_view("abroad", -1, NOW)


def weak_pair() -> RegistryModel:
    """Dewi twice without a NIK, at two offices: one candidate match for an officer."""
    return model_of(
        stay(DEWI.personal(nik=False), NY, "NY-9", at(0), "a"),
        stay(DEWI.personal(nik=False), DC, "DC-2", at(1), "b", city="Washington"),
    )


def mistyped_merge() -> tuple[RegistryModel, Any]:
    """Siti's stay with Budi's passport number merges the two; returns the model and that merge."""
    model = model_of(
        stay(SITI.personal(), NY, "NY-1", at(0), "a"),
        stay(BUDI.personal(passport=True), DC, "DC-1", at(1), "b"),
    )
    mistyped = SITI.personal().model_copy(update={"passport_number": BUDI.passport})
    resolution = model.apply_event(stay(mistyped, NY, "NY-1", at(2), "c"))
    assert resolution is not None
    return model, resolution.merges[0]


def round_trip(decision: Decision, **extra: Any) -> tuple[EventModel, Decision]:
    """Decision -> event -> Avro bytes -> event model (as the intake validates it) -> decision."""
    event = decision_event(decision, reason="checked-documents", **WHO, **extra)
    decoded = build_payload(event.SCHEMA, through_avro(event))
    assert decoded == event
    return decoded, decision_from_event(decoded)


class TestDecisionEvents:
    def test_confirm_round_trip_merges(self) -> None:
        """A confirmation read back from the topic equals the officer's and merges the pair."""
        model = weak_pair()
        (candidate,) = model.candidates.values()
        event, decision = round_trip(confirm(candidate))
        assert isinstance(event, MatchConfirmed)
        assert decision == confirm(candidate)
        model.apply_decision(decision)
        assert len(model.records) == 1

    def test_reject_round_trip(self) -> None:
        """A rejection read back from the topic equals the officer's and drops the candidate."""
        model = weak_pair()
        (candidate,) = model.candidates.values()
        event, decision = round_trip(reject(candidate))
        assert isinstance(event, MatchRejected)
        assert decision == reject(candidate)
        model.apply_decision(decision)
        assert len(model.records) == 2
        assert not model.candidates

    def test_split_round_trip_undoes_the_merge(self) -> None:
        """A split of a reported merge survives the topic (sides as sets, merge id kept) and separates."""
        model, merge = mistyped_merge()
        event, decision = round_trip(split_merge(merge), merge_id=merge.merge_id)
        assert isinstance(event, RecordSplit)
        assert event.merge_id == merge.merge_id
        assert decision == split_merge(merge)
        model.apply_decision(decision)
        assert len(model.records) == 2

    def test_standard_publisher_and_decoder(self) -> None:
        """A decision goes out through the bus Publisher (topic registry.decisions, keyed by candidate) and
        comes back through the EventDecoder every intake uses, as the same decision.
        """
        settings = get_settings()
        (candidate,) = weak_pair().candidates.values()
        event = decision_event(confirm(candidate), reason="x", **WHO)
        out = Publisher(settings, producer=object()).prepare(event, EventMeta(source=WHO["office"]))
        assert (out.topic, out.key) == (settings.topic("registry.decisions"), candidate.candidate_id.encode())
        raw = RawRecord(out.topic, 0, 0, 0, out.key, out.value, out.headers)
        decoded = EventDecoder(settings, load_registry(settings.schemas_dir)).decode(raw)
        assert decision_from_event(decoded.payload) == confirm(candidate)

    def test_keys(self) -> None:
        """Match decisions are keyed by their candidate, splits by the citizen they split."""
        model = weak_pair()
        (candidate,) = model.candidates.values()
        match = decision_event(confirm(candidate), reason="x", **WHO)
        assert key_for(match, b"unused") == candidate.candidate_id
        _, merge = mistyped_merge()
        split = decision_event(split_merge(merge), reason="x", **WHO)
        assert key_for(split, b"unused") == merge.surviving

    def test_only_decisions_become_decisions(self) -> None:
        """Any other payload is a TypeError; merge_id on a match decision is refused."""
        with pytest.raises(TypeError, match="not an officer decision"):
            decision_from_event(stay(SITI.personal(), NY, "NY-1", at(0), "a").payload)
        (candidate,) = weak_pair().candidates.values()
        with pytest.raises(ValueError, match="split only"):
            decision_event(confirm(candidate), reason="x", merge_id="mrg-" + "0" * 20, **WHO)

    def test_raw_numbers_are_refused_without_echo(self) -> None:
        """An anchor holding a raw NIK instead of its HMAC is refused, and the error does not quote it."""
        with pytest.raises(ValidationError) as caught:
            MatchConfirmed(
                decision_id="d-1",
                candidate_id="cand-" + "0" * 20,
                anchors=(f"nik:{SITI.nik}", "ref:kjri-new-york:NY-1"),
                reason="x",
                **WHO,
            )
        assert "pseudonymous" in str(caught.value)
        assert SITI.nik not in str(caught.value)

    @pytest.mark.parametrize(
        ("moved", "kept", "message"),
        [((), ("app:A",), "at least one"), (("app:A",), ("app:A", "case:C"), "both sides")],
    )
    def test_split_sides(self, moved: tuple[str, ...], kept: tuple[str, ...], message: str) -> None:
        """Both sides of a split are non-empty and disjoint, as the registry's Split requires."""
        with pytest.raises(ValidationError, match=message):
            RecordSplit(
                decision_id="d-1", citizen_id="cit-" + "0" * 20, moved=moved, kept=kept, reason="x", **WHO
            )

    def test_a_candidate_pairs_two_anchors(self) -> None:
        """The same anchor twice is no pair."""
        with pytest.raises(ValidationError, match="differ"):
            MatchRejected(
                decision_id="d-1",
                candidate_id="cand-" + "0" * 20,
                anchors=("app:A", "app:A"),
                reason="x",
                **WHO,
            )


class TestRecordAccessed:
    @pytest.mark.parametrize("citizen_id", ["cit-0123456789abcdef0123", None])
    def test_round_trip(self, citizen_id: str | None) -> None:
        """A lookup that found a record, or nothing, decodes back equal."""
        access = RecordAccessedModel(
            access_id="5f0c8a52-3e4b-4d6e-9f1a-2b3c4d5e6f70",
            requested_by="officer-0042",
            office=NY,
            accessed_at=NOW,
            citizen_id=citizen_id,
            lookup=LookupKind.PASSPORT_NUMBER,
            purpose=AccessPurpose.PASSPORT_SERVICE,
            found=citizen_id is not None,
        )
        assert RecordAccessedModel.from_avro(through_avro(access)) == access

    @pytest.mark.parametrize(("citizen_id", "found"), [(None, True), ("cit-0123456789abcdef0123", False)])
    def test_found_names_the_record(self, citizen_id: str | None, found: bool) -> None:
        """Found is true exactly when a citizen id is recorded."""
        with pytest.raises(ValidationError, match="exactly when"):
            RecordAccessedModel(
                access_id="a-1",
                requested_by="officer-0042",
                office=NY,
                accessed_at=NOW,
                citizen_id=citizen_id,
                lookup=LookupKind.NIK,
                purpose=AccessPurpose.AUDIT,
                found=found,
            )

    def test_purpose_defaults_to_other_for_readers(self) -> None:
        """Readers map a purpose added later to OTHER (the contract's enum default)."""
        schema = CODEC.registry.latest(RecordAccessedModel.SCHEMA).schema
        (purpose,) = [f for f in schema["fields"] if f["name"] == "purpose"]
        assert purpose["type"]["default"] == "OTHER"
