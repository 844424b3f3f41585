"""The items on ``protection.items``: what the intake makes of events and citizen records, their Avro, and
the contract's rules (personal data only in ``personal``, exactly the fields of the event's type).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.bus.codec import AvroCodec
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings
from services.contracts.base import format_validation_error
from services.contracts.common import Personal, Sex
from services.contracts.protection_items import ProtectionItemModel
from services.contracts.registry import CitizenPersonal, CitizenRecordModel, HeldPassport, Residence
from services.protection.facts import CaseEvent, CitizenLink
from services.protection.intake import ProtectionTransform, case_event, citizen_link, make_transform
from services.protection.items import ITEM_SCHEMA, decode_item, encode_item
from services.protection.links import nik_identifier, passport_identifier
from tests.unit.protection import samples
from tests.unit.protection.builders import TOKYO, T, hasher
from tests.unit.protection.strategies import case_events
from tests.unit.registry.builders import BUDI, SITI, at, hotline, opened, simulated, stay, wrap

CODEC = AvroCodec(load_registry(get_settings().schemas_dir))
PERSON = Personal(
    nik=SITI.nik,
    full_name="Siti Nurhaliza",
    date_of_birth=date(1990, 5, 17),
    sex=Sex.FEMALE,
    passport_number="C 123 4567",
    phone="+12125550001",
    notes="Afraid of the employer.",
)
SECRETS = (SITI.nik, "Siti Nurhaliza", "C 123 4567", "+12125550001", "Afraid")


def outside_personal(data: bytes) -> str:
    """Everything of an item but its personal part, as text."""
    record = CODEC.decode(data, expected=ITEM_SCHEMA).record
    record.pop("personal")
    return json.dumps(record, default=str)


class TestIntake:
    def test_opening_hashes_nik_and_passport_and_keeps_personal_apart(self) -> None:
        """A CaseOpened with NIK and passport: identifiers are the keyed hashes, the raw values only in
        personal; the item goes to the case's partition (keyed by case id), not to every partition.
        """
        event = opened(PERSON, "CASE-1", TOKYO, at(0), "o1")
        (forward,) = ProtectionTransform(hasher)(event)
        assert (forward.key, forward.broadcast) == ("CASE-1", False)
        item = decode_item(forward.value)
        assert isinstance(item, CaseEvent)
        assert item.identifiers == {nik_identifier(SITI.nik, hasher), passport_identifier("C1234567", hasher)}
        assert item.personal["nik"] == SITI.nik
        assert (item.event_id, item.source, item.time) == (event.id, TOKYO, event.envelope.time)
        text = outside_personal(forward.value)
        assert not [s for s in SECRETS if s in text]

    def test_a_call_by_someone_else_names_no_identifiers(self) -> None:
        """A family member's call: their data stays in personal and is not taken for the subject's."""
        item = case_event(hotline("CASE-1", TOKYO, at(0), "h1", PERSON, subject=False), hasher)
        assert item is not None
        assert item.identifiers == frozenset()
        assert item.personal["full_name"] == "Siti Nurhaliza"
        by_subject = case_event(hotline("CASE-1", TOKYO, at(0), "h2", PERSON, subject=True), hasher)
        assert by_subject is not None
        assert by_subject.identifiers

    def test_opening_names_its_call(self) -> None:
        """CaseOpened.hotline_call_id becomes the item's call_id."""
        payload = opened(PERSON, "CASE-1", TOKYO, at(0), "o1").payload.model_copy(
            update={"hotline_call_id": "c-7"}
        )
        item = case_event(wrap(payload, at(0), "o1"), hasher)
        assert item is not None
        assert item.call_id == "c-7"

    def test_other_topics_give_nothing(self) -> None:
        """A citizen event is not the case view's business."""
        assert ProtectionTransform(hasher)(stay(SITI.personal(), TOKYO, "T-1", at(0), "s1")) == []

    def test_citizen_record_becomes_a_link_to_every_partition(self) -> None:
        """A golden record: a link holding its NIK and passports, hashed, keyed by citizen id, broadcast."""
        record = CitizenRecordModel(
            citizen_id="cit-" + "3" * 20,
            residence=Residence(),
            personal=CitizenPersonal(
                nik=BUDI.nik,
                passports=(
                    HeldPassport(number="b 7654321", event_id="e"),
                    HeldPassport(number="A1", event_id="f"),
                ),
            ),
            provenance={},
            stays=(),
            cases=(),
            open_cases=(),
            offices=(),
            first_seen=at(0),
            updated_at=at(1),
            observations=2,
        )
        (forward,) = ProtectionTransform(hasher)(record)
        assert (forward.key, forward.broadcast) == ("cit-" + "3" * 20, True)
        link = decode_item(forward.value)
        assert link == citizen_link(record, hasher)
        assert isinstance(link, CitizenLink)
        assert link.identifiers == {
            nik_identifier(BUDI.nik, hasher),
            passport_identifier("B7654321", hasher),
            passport_identifier("A1", hasher),
        }
        assert BUDI.nik not in outside_personal(forward.value)

    def test_transform_is_made_with_the_bus_citizen_key(self) -> None:
        """``make_transform`` hashes with the key from the bus settings (what the intake process calls)."""
        transform = make_transform(BusSettings())
        assert isinstance(transform, ProtectionTransform)
        event = opened(PERSON, "CASE-1", TOKYO, at(0), "o1")
        assert transform(event)[0].key == "CASE-1"

    def test_simulated_traffic_transforms_and_validates(self) -> None:
        """Every protection event of the simulator becomes an item that validates as the contract."""
        items = [item for event in simulated(5, 3000) if (item := case_event(event, hasher)) is not None]
        assert len({item.type for item in items}) == len(T)
        for item in items:
            ProtectionItemModel.from_avro(CODEC.decode(encode_item(item)).record)


class TestAvro:
    @settings(max_examples=100, deadline=None)
    @given(
        events=case_events(),
        personal=st.sampled_from([{}, {"notes": "x"}, {"full_name": "A", "sex": "MALE"}]),
    )
    def test_round_trip(self, events: list[CaseEvent], personal: dict[str, str]) -> None:
        """decode(encode(event)) is the event, personal data included (only where the type may carry it)."""
        for event in events:
            carries = event.type in (T.CASE_OPENED, T.CASE_UPDATED, T.HOTLINE_CALL_RECEIVED)
            item = CaseEvent(**{**_fields(event), "personal": personal if carries else {}})
            assert decode_item(encode_item(item)) == item

    def test_link_round_trip_and_model_bytes(self) -> None:
        """A link written here is byte for byte what its contract model writes."""
        model = samples.link_sample()
        assert model.link is not None
        link = CitizenLink(model.link.citizen_id, frozenset(model.link.identifiers))
        assert encode_item(link) == CODEC.encode(ITEM_SCHEMA, model.to_avro())
        assert decode_item(encode_item(link)) == link

    def test_event_item_is_the_models_bytes(self) -> None:
        """The sample call written from its fact is byte for byte what the contract model writes."""
        (model,) = samples.internal_samples()
        fact = decode_item(CODEC.encode(ITEM_SCHEMA, model.to_avro()))
        assert encode_item(fact) == CODEC.encode(ITEM_SCHEMA, model.to_avro())


def _fields(event: CaseEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CaseEvent.__dataclass_fields__}


class TestContractRules:
    def _refused(self, **change: Any) -> str:
        (model,) = samples.internal_samples()
        record = model.to_avro()
        for path, value in change.items():
            part, _, name = path.partition("__")
            if name:
                record[part][name] = value
            else:
                record[part] = value
        with pytest.raises(ValidationError) as caught:
            ProtectionItemModel.from_avro(record)
        return format_validation_error(caught.value)

    def test_a_raw_number_is_no_identifier(self) -> None:
        """A NIK where its hash belongs is refused, and the message does not repeat it."""
        message = self._refused(event__identifiers=[f"nik:{SITI.nik}"])
        assert "identifier" in message
        assert SITI.nik not in message

    def test_fields_of_another_type_are_refused(self) -> None:
        """A call with an outcome, or without its call id, is no call."""
        assert "has no outcome" in self._refused(event__outcome="RESOLVED")
        assert "needs call_id" in self._refused(event__call_id=None)

    def test_identifiers_only_where_they_are_the_subjects(self) -> None:
        """A call by someone else names no identifiers of the subject."""
        assert "names no identifiers" in self._refused(event__caller_is_subject=False)

    def test_personal_only_with_an_event_that_carries_it(self) -> None:
        """A link never carries personal data."""
        link = samples.link_sample().to_avro()
        link["personal"] = dict.fromkeys(Personal.model_fields) | {"full_name": "X"}
        with pytest.raises(ValidationError):
            ProtectionItemModel.from_avro(link)

    def test_assignment_with_personal_data_is_refused(self) -> None:
        """Assignments name officers, not people: personal data there is refused."""
        message = self._refused(
            event__type="CASE_ASSIGNED",
            event__category=None,
            event__urgency=None,
            event__channel=None,
            event__call_id=None,
            event__caller_is_subject=None,
            event__identifiers=[],
            event__assigned_by="head-1",
        )
        assert "carries personal data" in message
