"""The simulator's bad records: each is refused by the bus's decoder with exactly the reason it stands for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError
from services.bus.publisher import EventMeta, Publisher
from services.bus.settings import BusSettings
from services.sim.poison import bad_records
from services.sim.simulator import TrafficSimulator

SETTINGS = BusSettings(topic_prefix="p.", bootstrap_servers="127.0.0.1:1")
EXPECTED = {
    "MALFORMED",
    "UNKNOWN_SCHEMA",
    "INVALID_ENVELOPE",
    "UNKNOWN_SOURCE",
    "FUTURE_EVENT",
    "WRONG_TOPIC",
    "DATASCHEMA_MISMATCH",
    "INVALID_EVENT",
    "KEY_MISMATCH",
}


@pytest.mark.parametrize("kind", ["StayReported", "DetailsChanged", "AppointmentBooked", "CaseOpened"])
def test_every_bad_record_is_refused_with_its_reason(kind: str) -> None:
    """Decoded as every consumer decodes, each bad record raises a BusError with the reason it names, and
    the valid record it was made from is accepted.
    """
    now = datetime.now(UTC)
    sim = TrafficSimulator(3, start=now - timedelta(days=30))
    s = next(x for x in sim.next_batch(2000) if x.event.SCHEMA.endswith(kind))
    publisher = Publisher(SETTINGS, producer=object())  # prepare encodes only: no broker
    good = publisher.prepare(s.event, EventMeta(source=s.source, time=min(s.time, now)))
    decoder = EventDecoder(SETTINGS, publisher.codec.registry)
    records = bad_records(good, publisher.codec, now, SETTINGS.topic)
    assert {r.reason for r in records} >= EXPECTED
    personal = getattr(s.event, "personal", None)
    if s.event.TOPIC == "citizen" and personal is not None and personal.nik:
        assert {r.reason for r in records} >= {"MISSING_KEY_ID", "UNKNOWN_KEY_ID"}
    for record in records:
        raw = RawRecord(record.topic, 0, 0, 0, record.key, record.value, record.headers)
        with pytest.raises(BusError) as refused:
            decoder.decode(raw, now=now)
        assert refused.value.reason == record.reason
    assert decoder.decode(RawRecord(good.topic, 0, 0, 0, good.key, good.value, good.headers), now=now)
