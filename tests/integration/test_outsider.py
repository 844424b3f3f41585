"""An outside producer (a Java or .NET system, here a raw kafka-python producer) against the real broker:
the README's record is accepted byte for byte; a wrong ``ce_dataschema`` and wrong keys land in
bus.deadletter with reasons that say what to fix and echo no personal data or secret; a key refusal is
repaired by replaying the dead letter with ``{}``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from pydantic import SecretStr

from services.bus.catalogue import create_topics
from services.bus.consumer import BusConsumer
from services.bus.deadletter import DeadLetter
from services.bus.decoder import RawRecord
from services.bus.keys import KEYID_HEADER, citizen_key
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.deadletters import read_deadletters, replay_deadletter
from tests.integration.test_poison import consume_to_end, consumer_for, raw_producer
from tests.unit.test_vectors import the_record

NIK = "3174055705900001"
FOREIGN_SECRET = "another-ministrys-own-secret"
ROTATED_SECRET = "next-years-citizen-key"


def fresh(raw: RawRecord, *, key: bytes | None = None, **headers: bytes | None) -> RawRecord:
    """The README's record with a new event id (consumers deduplicate on it), another key, and headers set
    (a None value removes the header).
    """
    changed = {"ce_id": str(uuid.uuid4()).encode(), **headers}
    kept = [(k, v) for k, v in raw.headers if k not in changed]
    added = [(k, v) for k, v in changed.items() if v is not None]
    return RawRecord(raw.topic, 0, 0, 0, raw.key if key is None else key, raw.value, [*kept, *added])


def send(settings: BusSettings, records: list[RawRecord]) -> list[tuple[int, int]]:
    """Send each record raw to the deployment's citizen topic, in order; where each landed."""
    producer = raw_producer(settings)
    try:
        landed = [
            producer.send(settings.topic(r.topic), r.value, key=r.key, headers=list(r.headers)).get(30)
            for r in records
        ]
    finally:
        producer.close()
    return [(m.partition, m.offset) for m in landed]


def letters(settings: BusSettings) -> dict[tuple[int, int], DeadLetter]:
    return {(d.original_partition, d.original_offset): d for d in read_deadletters(settings, limit=1000)}


class TestAnOutsideProducer:
    def test_the_readme_record_is_accepted_as_sent(self, bus_settings: BusSettings) -> None:
        """Vector 3's key, headers and value, sent by a raw producer, come out as the README's event."""
        create_topics(bus_settings)
        record = the_record()
        send(bus_settings, [record])
        with consumer_for(bus_settings, "outsider") as consumer:
            accepted = consume_to_end(bus_settings, consumer)
        assert len(accepted) == 1
        assert accepted[0][3] == dict(record.headers)["ce_id"].decode()
        assert list(read_deadletters(bus_settings, limit=10)) == []

    def test_a_wrong_dataschema_and_wrong_keys_are_deadlettered_with_their_reasons(
        self, bus_settings: BusSettings
    ) -> None:
        """The issue's two cases (revision 1's fingerprint in ce_dataschema; a citizen key made with another
        ministry's secret) and their neighbours (no bus_keyid, an unknown one) each land in bus.deadletter
        with their reason, original key and bytes; the key made under a rotated key id that the consumer
        holds (BUS_CITIZEN_KEYS) and the valid record after them are accepted.
        """
        create_topics(bus_settings)
        vector = the_record()
        revision_1 = load_registry(bus_settings.schemas_dir).revisions(
            "id.go.kemlu.bus.citizen.v1.StayReported"
        )[0]
        foreign = citizen_key(NIK, FOREIGN_SECRET.encode()).encode()
        rotated = citizen_key(NIK, ROTATED_SECRET.encode()).encode()
        refused = {
            "DATASCHEMA_MISMATCH": fresh(vector, ce_dataschema=revision_1.dataschema.encode()),
            "KEY_MISMATCH": fresh(vector, key=foreign, ce_subject=foreign),
            "MISSING_KEY_ID": fresh(vector, **{KEYID_HEADER: None}),
            "UNKNOWN_KEY_ID": fresh(vector, **{KEYID_HEADER: b"dev-0"}),
        }
        passing = [fresh(vector, key=rotated, ce_subject=rotated, **{KEYID_HEADER: b"dev-2"}), fresh(vector)]
        places = send(bus_settings, [*refused.values(), *passing])

        holding_both = bus_settings.model_copy(update={"citizen_keys": {"dev-2": SecretStr(ROTATED_SECRET)}})
        with consumer_for(holding_both, "outsider") as consumer:
            accepted = consume_to_end(holding_both, consumer)
        assert [a[1:3] for a in accepted] == places[len(refused) :]
        assert [a[3] for a in accepted] == [dict(r.headers)["ce_id"].decode() for r in passing]

        found = letters(bus_settings)
        assert len(found) == len(refused)
        for (reason, record), place in zip(refused.items(), places, strict=False):
            letter = found[place]
            assert (letter.reason, letter.component) == (reason, "outsider")
            assert (letter.key, letter.value) == (record.key, record.value)
            detail = letter.detail
            assert detail
            for secret in (NIK, "Dewi", FOREIGN_SECRET, ROTATED_SECRET, foreign.decode(), "dev-only-citizen"):
                assert secret not in detail, (reason, secret)
        mismatch = found[places[0]].detail
        assert revision_1.fingerprint_hex in mismatch
        assert "(revision 1)" in mismatch
        assert "(revision 2)" in mismatch
        assert "under key id dev-1" in found[places[1]].detail

    def test_a_key_refusal_is_repaired_by_replaying_the_original_payload(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """`bus deadletter replay --fixed` with `{}`: the original payload, re-keyed by the SDK, keeping the
        event id; the consumer then accepts it under the right key.
        """
        create_topics(bus_settings)
        vector = the_record()
        foreign = citizen_key(NIK, FOREIGN_SECRET.encode()).encode()
        wrong = fresh(vector, key=foreign, ce_subject=foreign)
        send(bus_settings, [wrong])
        with consumer_for(bus_settings, "outsider") as consumer:
            assert consume_to_end(bus_settings, consumer) == []
        (letter,) = read_deadletters(bus_settings, limit=10)
        assert letter.reason == "KEY_MISMATCH"

        fix = tmp_path / "fix.json"
        fix.write_text("{}")
        result = replay_deadletter(bus_settings, partition=letter.partition, offset=letter.offset, fixed=fix)
        event_id = dict(wrong.headers)["ce_id"].decode()
        assert result.event_id == event_id
        with BusConsumer(
            ["citizen"], group_id=f"g-{uuid.uuid4().hex}", component="outsider", settings=bus_settings
        ) as consumer:
            events = []
            for _ in range(40):
                events.extend(consumer.poll(timeout_ms=500))
                if events:
                    break
        assert [(e.id, e.key.encode()) for e in events] == [(event_id, vector.key)]
