"""Records of view topics read by another processor (``BusConsumer(views=...)``): validated into their view
model with envelope, framing, schema and topic rules; anything else is refused with its reason.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.bus.codec import AvroCodec
from services.bus.consumer import sort_polled
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.envelope import Envelope
from services.bus.errors import DataschemaMismatch, MalformedPayload, UnknownSchema, WrongTopic
from services.bus.events import BusEvent, ViewEvent
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.registry import CitizenRecordModel
from services.runtime.intake import Forward, _forwards

SETTINGS = BusSettings(topic_prefix="t.")
REGISTRY = load_registry(SETTINGS.schemas_dir)
CODEC = AvroCodec(REGISTRY)
DECODER = EventDecoder(SETTINGS, REGISTRY)
MERGED = CitizenRecordModel.merged("cit-" + "1" * 20, "cit-" + "2" * 20)


def view_record(
    view: CitizenRecordModel = MERGED, topic: str = "registry.citizens", **envelope: str
) -> RawRecord:
    """A view as the bus's processors publish it (``ViewPublisher``): Avro body, CloudEvents headers."""
    contract = REGISTRY.latest(view.SCHEMA)
    headers = Envelope.new(
        source="kemlu-pusat",
        type=envelope.get("type", view.SCHEMA),
        dataschema=envelope.get("dataschema", contract.dataschema),
        time=datetime(2026, 12, 1, tzinfo=UTC),
        subject=view.citizen_id,
    ).to_headers()
    value = CODEC.encode(view.SCHEMA, view.to_avro())
    return RawRecord(SETTINGS.topic(topic), 0, 7, 0, view.citizen_id.encode(), value, headers)


class TestViewRecords:
    def test_a_view_is_read_as_its_model(self) -> None:
        """The record comes back as the validated view, with its envelope and key."""
        event = DECODER.decode_view(view_record())
        assert isinstance(event, ViewEvent)
        assert event.view == MERGED
        assert event.key == MERGED.citizen_id
        assert event.type == MERGED.SCHEMA

    def test_a_view_on_another_topic_is_refused(self) -> None:
        """A view belongs on its own topic only."""
        with pytest.raises(WrongTopic):
            DECODER.decode_view(view_record(topic="registry.counts"))

    def test_a_domain_event_is_no_view(self) -> None:
        """Only view contracts are read as views; a view is no domain event either."""
        with pytest.raises(UnknownSchema):
            DECODER.decode(view_record())

    def test_envelope_and_framing_rules_hold(self) -> None:
        """A tombstone, a wrong dataschema or a body that is not Avro is refused with its reason."""
        record = view_record()
        with pytest.raises(MalformedPayload):
            DECODER.decode_view(RawRecord(record.topic, 0, 1, 0, record.key, None, record.headers))
        with pytest.raises(MalformedPayload):
            DECODER.decode_view(RawRecord(record.topic, 0, 1, 0, record.key, b"not avro", record.headers))
        with pytest.raises(DataschemaMismatch):
            DECODER.decode_view(view_record(dataschema="urn:avro:" + MERGED.SCHEMA + ":" + "0" * 16))

    def test_poll_sorts_views_and_refusals(self) -> None:
        """In one poll, records of the view topics are views, the others events, refusals apart."""
        good = view_record()
        bad = view_record(topic="registry.counts")
        accepted, refused = sort_polled(DECODER, [good, bad], {SETTINGS.topic("registry.citizens")})
        assert [type(event) for _, event in accepted] == [ViewEvent]
        assert [type(error) for _, error in refused] == [UnknownSchema]
        assert not any(isinstance(event, BusEvent) for _, event in accepted)


class TestForwards:
    def test_bytes_are_one_item_keyed_by_the_event_id(self) -> None:
        """What the registry's transform returns keeps its meaning."""
        assert _forwards("ev-1", b"x") == (Forward("ev-1", b"x"),)
        assert _forwards("ev-1", None) == ()

    def test_forwards_are_kept_as_given(self) -> None:
        """Keys and broadcasts chosen by the view are what the intake sends."""
        made = [Forward("case-1", b"a"), Forward("cit-1", b"b", broadcast=True)]
        assert _forwards("ev-1", made) == made
