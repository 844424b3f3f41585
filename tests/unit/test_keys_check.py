"""Consumers check record keys against the payload (pure, on EventDecoder): a producer whose keys are wrong
learns it from a dead-letter reason that says what to fix, and never sees the NIK, the key or a secret.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError

from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError, InvalidEvent, KeyMismatch, MissingKeyId, UnknownKeyId
from services.bus.events import BusEvent
from services.bus.keys import KEYID_HEADER, citizen_key
from services.bus.publisher import EventMeta, Outgoing, Publisher
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.jsoninput import to_event
from services.contracts.base import EventModel
from services.sim.simulator import TrafficSimulator

NIK = "3174055705900001"
SECRET = "dev-only-citizen-key-change-me"
OTHER_SECRET = "another-ministrys-secret"
SETTINGS = BusSettings(citizen_key=SecretStr(SECRET), citizen_key_id="dev-1")
WHEN = datetime(2026, 11, 23, 8, 30, 15, 123000, tzinfo=UTC)
STAY: dict[str, Any] = {
    "office": "kjri-new-york",
    "office_record_ref": "NY-2026-000123",
    "personal": {"nik": NIK, "full_name": "Dewi Lestari", "date_of_birth": "1990-05-17", "sex": "FEMALE"},
    "country": "US",
    "city": "New York",
    "purpose": "STUDY",
    "arrival_date": "2026-08-20",
    "channel": "WEB",
}


def stay(*, nik: bool = True) -> EventModel:
    """The README's StayReported (vector 3), with or without its NIK."""
    data = {**STAY, "personal": {**STAY["personal"], "nik": NIK if nik else None}}
    return to_event({"type": "StayReported", "source": "kjri-new-york", "data": data}).payload


def prepare(payload: EventModel, settings: BusSettings = SETTINGS) -> Outgoing:
    """What the SDK would send (no broker: the producer is never used by ``prepare``)."""
    return Publisher(settings, producer=object()).prepare(
        payload, EventMeta(source="kjri-new-york", time=WHEN)
    )


def raw_of(
    out: Outgoing, *, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
) -> RawRecord:
    return RawRecord(
        out.topic,
        0,
        0,
        0,
        out.key if key is None else key,
        out.value,
        out.headers if headers is None else headers,
    )


def with_header(out: Outgoing, name: str, value: bytes | None) -> list[tuple[str, bytes]]:
    """The headers with ``name`` set to ``value``, or without it when None."""
    kept = [(k, v) for k, v in out.headers if k != name]
    return kept if value is None else [*kept, (name, value)]


def decode(raw: RawRecord, settings: BusSettings = SETTINGS) -> BusEvent:
    return EventDecoder(settings, load_registry(settings.schemas_dir)).decode(raw)


def refusal(raw: RawRecord, settings: BusSettings = SETTINGS) -> BusError:
    with pytest.raises(BusError) as caught:
        decode(raw, settings)
    return caught.value


def assert_nothing_echoed(error: BusError, *secrets: str) -> None:
    for text in (NIK, SECRET, OTHER_SECRET, citizen_key(NIK, SECRET.encode()), "Dewi", *secrets):
        assert text not in error.message, text


def one_of_each_topic() -> dict[str, Outgoing]:
    """A simulated event of every domain topic as the SDK prepares it."""
    sim = TrafficSimulator(5, start=datetime.now(UTC) - timedelta(days=3))
    found: dict[str, Outgoing] = {}
    publisher = Publisher(SETTINGS, producer=object())
    for s in sim.next_batch(300):
        if s.event.TOPIC not in found:
            found[s.event.TOPIC] = publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
    return found


class TestThePublisherKeysPass:
    def test_every_simulated_event_prepared_by_the_sdk_is_accepted(self) -> None:
        """Publisher.prepare makes keys the consumers' check accepts, for every topic and event type
        (citizen events with and without a NIK, passport, protection).
        """
        sim = TrafficSimulator(11, start=datetime.now(UTC) - timedelta(days=3))
        publisher = Publisher(SETTINGS, producer=object())
        seen: set[str] = set()
        for s in itertools.islice(sim.next_batch(600), 600):
            out = publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
            assert decode(raw_of(out)).key == out.key.decode()
            seen.add(s.event.SCHEMA)
        assert len(seen) >= 10

    def test_a_publisher_on_a_rotated_key_is_accepted_by_a_consumer_holding_both(self) -> None:
        """Rotation: a producer moved to key id dev-2, consumers hold dev-1 and dev-2 (BUS_CITIZEN_KEYS)."""
        producer = BusSettings(citizen_key=SecretStr(OTHER_SECRET), citizen_key_id="dev-2")
        consumer = BusSettings(
            citizen_key=SecretStr(SECRET),
            citizen_key_id="dev-1",
            citizen_keys={"dev-2": SecretStr(OTHER_SECRET)},
        )
        out = prepare(stay(), producer)
        assert dict(out.headers)[KEYID_HEADER] == b"dev-2"
        assert decode(raw_of(out), consumer).key == citizen_key(NIK, OTHER_SECRET.encode())
        assert isinstance(refusal(raw_of(out), SETTINGS), UnknownKeyId)


class TestCitizenKeysWithANik:
    def test_a_key_made_with_another_secret_is_a_key_mismatch(self) -> None:
        """The issue's case: the key is HMAC of the right NIK under a secret no consumer holds, labelled
        with a valid key id. The reason says which key id the key must be made under; no value is echoed.
        """
        out = prepare(stay())
        error = refusal(raw_of(out, key=citizen_key(NIK, OTHER_SECRET.encode()).encode()))
        assert isinstance(error, KeyMismatch)
        assert error.reason == "KEY_MISMATCH"
        assert error.message == (
            "the record key is not HMAC-SHA256 of the NIK under key id dev-1 (64 lower-case hex digits)"
        )
        assert_nothing_echoed(error)

    def test_no_key_id_is_missing_key_id(self) -> None:
        """Without bus_keyid (or with an empty one) the key cannot be checked: MISSING_KEY_ID."""
        out = prepare(stay())
        for headers in (with_header(out, KEYID_HEADER, None), with_header(out, KEYID_HEADER, b"")):
            error = refusal(raw_of(out, headers=headers))
            assert isinstance(error, MissingKeyId)
            assert error.reason == "MISSING_KEY_ID"
            assert KEYID_HEADER in error.message

    def test_an_unknown_key_id_is_refused_without_echoing_it(self) -> None:
        """UNKNOWN_KEY_ID lists the ids the consumer holds, never the one sent (here a NIK) nor a secret."""
        out = prepare(stay())
        error = refusal(raw_of(out, headers=with_header(out, KEYID_HEADER, NIK.encode())))
        assert isinstance(error, UnknownKeyId)
        assert error.reason == "UNKNOWN_KEY_ID"
        assert "dev-1" in error.message
        assert_nothing_echoed(error)

    @pytest.mark.parametrize(
        ("key", "hint"),
        [
            (citizen_key(NIK, SECRET.encode()).upper().encode(), "upper-case hex"),
            (NIK.encode(), "the NIK itself"),
            (b"ref:kjri-new-york:NY-2026-000123", "the office reference"),
            (b"", ""),
            (b"\xff\xfe not even UTF-8", ""),
        ],
    )
    def test_the_usual_slips_are_named(self, key: bytes, hint: str) -> None:
        """Upper-case hex (.NET's Convert.ToHexString), the NIK itself, the office reference of an event
        that has a NIK: each is a KEY_MISMATCH whose detail names the slip, echoing none of it.
        """
        error = refusal(raw_of(prepare(stay()), key=key))
        assert isinstance(error, KeyMismatch)
        assert hint in error.message
        assert_nothing_echoed(error)

    def test_a_record_without_a_key_is_a_key_mismatch(self) -> None:
        """A null key (a producer that forgot it) is refused, not read as an empty key."""
        out = prepare(stay())
        raw = RawRecord(out.topic, 0, 0, 0, None, out.value, out.headers)
        error = refusal(raw)
        assert isinstance(error, KeyMismatch)
        assert "no key" in error.message

    def test_a_key_made_under_another_held_key_names_that_key_id(self) -> None:
        """Keyed with dev-2's secret but labelled dev-1: the consumer holds both and says which id to send."""
        consumer = BusSettings(
            citizen_key=SecretStr(SECRET),
            citizen_key_id="dev-1",
            citizen_keys={"dev-2": SecretStr(OTHER_SECRET)},
        )
        out = prepare(stay())
        error = refusal(raw_of(out, key=citizen_key(NIK, OTHER_SECRET.encode()).encode()), consumer)
        assert isinstance(error, KeyMismatch)
        assert error.message.endswith("it was made with key id dev-2, so send that id in bus_keyid")
        assert_nothing_echoed(error)

    def test_the_payload_is_checked_before_the_key(self) -> None:
        """An invalid NIK is INVALID_EVENT, not a key mismatch: the key of a bad payload means nothing (and
        the simulator's bad records rely on this order).
        """
        out = prepare(stay())
        bad = Publisher(SETTINGS, producer=object()).codec
        record = bad.decode(out.value).record
        broken = bad.encode(
            stay().SCHEMA, {**record, "personal": {**record["personal"], "nik": "0000000000000000"}}
        )
        raw = RawRecord(out.topic, 0, 0, 0, b"whatever", broken, out.headers)
        assert isinstance(refusal(raw), InvalidEvent)


class TestKeysWithoutANik:
    def test_a_citizen_event_without_a_nik_is_keyed_by_its_office_reference(self) -> None:
        """No NIK: the key must be ref:<office>:<office_record_ref>; bus_keyid is not needed."""
        out = prepare(stay(nik=False))
        assert out.key == b"ref:kjri-new-york:NY-2026-000123"
        assert decode(raw_of(out, headers=with_header(out, KEYID_HEADER, None))).key == out.key.decode()
        error = refusal(raw_of(out, key=b"ref:kjri-new-york:NY-2026-000124"))
        assert isinstance(error, KeyMismatch)
        assert "ref:<office>:<office_record_ref>" in error.message
        assert "NY-2026" not in error.message

    @pytest.mark.parametrize(("topic", "field"), [("passport", "application_id"), ("protection", "case_id")])
    def test_passport_and_protection_events_are_keyed_by_their_aggregate_id(
        self, topic: str, field: str
    ) -> None:
        """An application or case id that is not the payload's is a KEY_MISMATCH naming the field."""
        out = one_of_each_topic()[topic]
        assert decode(raw_of(out)).key == out.key.decode()
        error = refusal(raw_of(out, key=out.key + b"-other"))
        assert isinstance(error, KeyMismatch)
        assert field in error.message
        assert out.key.decode() not in error.message


class TestCitizenKeySettings:
    def test_bus_citizen_keys_is_read_as_json_and_held_as_secrets(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """BUS_CITIZEN_KEYS holds further key ids and secrets; no secret shows in the settings' repr."""
        monkeypatch.setenv("BUS_CITIZEN_KEYS", f'{{"dev-0": "{OTHER_SECRET}"}}')
        settings = BusSettings()
        assert settings.citizen_keys["dev-0"].get_secret_value() == OTHER_SECRET
        assert set(settings.citizen_keyring()) == {"dev-0", settings.citizen_key_id}
        assert OTHER_SECRET not in repr(settings)
        assert OTHER_SECRET not in str(settings)

    @pytest.mark.parametrize(
        "keys",
        [
            f'{{"dev-1": "{OTHER_SECRET}"}}',
            '{"dev-2": ""}',
            f'["{OTHER_SECRET}"]',
            f'{{"dev-2": 5, "x": "{OTHER_SECRET}"}}',
            f'{{"dev-2": "{OTHER_SECRET}"',  # not JSON
        ],
    )
    def test_a_bad_keyring_stops_the_start_without_showing_a_secret(
        self, monkeypatch: pytest.MonkeyPatch, keys: str
    ) -> None:
        """A key id given two secrets, an empty secret or a malformed value: refused at start, and the
        error (which ends up in a log) quotes no secret.
        """
        monkeypatch.setenv("BUS_CITIZEN_KEY", SECRET)
        monkeypatch.setenv("BUS_CITIZEN_KEY_ID", "dev-1")
        monkeypatch.setenv("BUS_CITIZEN_KEYS", keys)
        with pytest.raises((ValidationError, SettingsError)) as caught:
            BusSettings()
        shown = f"{caught.value} {caught.value.__cause__}"
        assert SECRET not in shown
        assert OTHER_SECRET not in shown

    def test_the_same_secret_under_the_current_id_is_no_conflict(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BUS_CITIZEN_KEYS", f'{{"dev-1": "{SECRET}", "dev-2": "{OTHER_SECRET}"}}')
        monkeypatch.setenv("BUS_CITIZEN_KEY", SECRET)
        monkeypatch.setenv("BUS_CITIZEN_KEY_ID", "dev-1")
        assert set(BusSettings().citizen_keyring()) == {"dev-1", "dev-2"}
