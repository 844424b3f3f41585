"""No personal data on any internal topic outside a ``personal`` part, after a live registry run.

Erasure by destroying a citizen's key can only reach what sits in a ``personal`` part of an Avro contract,
so that is the only place a NIK, a name or a passport number may be. A live registry worker folds a few
hundred simulated events, two officer decisions and a lookup; then every record of every internal topic
(the resolver's ``registry.observations``, ``registry.decisions``, ``registry.citizens``, ``registry.counts``,
``registry.access``, ``bus.deadletter`` and any other topic of the run that is not a domain topic) is read
back. Each value is decoded, its ``personal`` part blanked and re-encoded: none of the simulated citizens'
NIKs, full names, passport numbers, phones or e-mails may be left in those bytes, nor in any key or header.
The raw values of the resolver's items and of the golden records do hold them (inside ``personal``), so
the check is not vacuous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient

from services.bus.catalogue import domain_topics
from services.bus.codec import AvroCodec
from services.bus.errors import BusError
from services.bus.publisher import EventMeta, Outgoing, Publisher
from services.bus.reading import read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.registry import MatchConfirmed, RecordSplit
from services.registry.identifiers import normalise_passport
from services.registry.items import ITEM_SCHEMA
from services.registry.topics import ACCESS, CITIZENS, COUNTS, DECISIONS, OBSERVATIONS
from tests.integration.registry_harness import RegistryWorker
from tests.integration.test_registry import send, simulated, wait_for_all

EVENTS = 400
_LONG = 8
"""Secrets at least this long are searched as plain substrings; shorter ones (a name like "Ayu") only as a
whole Avro string (length prefix and bytes), so a city that merely contains them is no false alarm.
"""
_PERSONAL_TEXT = ("nik", "full_name", "passport_number", "phone", "email")


@dataclass
class Secrets:
    """The personal values of the simulated events, by kind (the kind names what leaked, never the value)."""

    by_value: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, value: str | None) -> None:
        if value and value.strip():
            self.by_value[value] = kind

    def found_in(self, data: bytes) -> dict[str, int]:
        """How many secrets of each kind ``data`` holds, as text or as an Avro string."""
        found: dict[str, int] = {}
        for value, kind in self.by_value.items():
            text = value.encode()
            if (len(value) >= _LONG and text in data) or avro_string(text) in data:
                found[kind] = found.get(kind, 0) + 1
        return found


def avro_string(text: bytes) -> bytes:
    """``text`` as Avro binary writes a string: zig-zag varint length, then the bytes."""
    n, prefix = len(text) << 1, bytearray()
    while n > 0x7F:
        prefix.append((n & 0x7F) | 0x80)
        n >>= 7
    prefix.append(n)
    return bytes(prefix) + text


def secrets_of(codec: AvroCodec, outgoing: list[Outgoing]) -> Secrets:
    """Every NIK, full name, passport number (as sent and normalised), phone and e-mail sent."""
    secrets = Secrets()
    for record in outgoing:
        personal = codec.decode(record.value).record.get("personal")
        if personal is None:
            continue
        for name in _PERSONAL_TEXT:
            secrets.add(name, personal[name])
        if personal["passport_number"]:
            secrets.add("passport_number", normalise_passport(personal["passport_number"]))
    return secrets


def blanked(codec: AvroCodec, value: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """``value`` re-encoded with its ``personal`` part emptied (null, or every field null where the
    contract requires the record), and the decoded record; the raw bytes when they are no Avro record.
    """
    try:
        decoded = codec.decode(value)
    except BusError:
        return value, None
    record = decoded.record
    if "personal" not in record:
        return value, record
    fullname = decoded.writer.fullname
    try:
        return codec.encode(fullname, {**record, "personal": None}), record
    except BusError:
        emptied = dict.fromkeys(record["personal"] or {})
        return codec.encode(fullname, {**record, "personal": emptied}), record


def internal_topics(settings: BusSettings) -> list[str]:
    """Every topic of this run (its prefix) that is not a domain topic, by logical name."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        names = [t for t in admin.list_topics() if t.startswith(settings.topic_prefix)]
    finally:
        admin.close()
    logical = {name.removeprefix(settings.topic_prefix) for name in names}
    return sorted(logical - set(domain_topics()))


@dataclass
class Scan:
    """What one topic's records held."""

    records: int = 0
    leaks: list[str] = field(default_factory=list)
    inside_personal: dict[str, int] = field(default_factory=dict)
    decoded: list[tuple[bytes, bytes, dict[str, Any] | None]] = field(default_factory=list)
    """Key, raw value and decoded record (None when the value is no Avro record) of every record."""


def scan(settings: BusSettings, codec: AvroCodec, topic: str, secrets: Secrets) -> Scan:
    """Read ``topic`` to its end: keys, headers and personal-blanked values must hold no secret."""
    result = Scan()
    for message in read_to_end(settings, settings.topic(topic)):
        result.records += 1
        where = f"{topic}@{message.partition}:{message.offset}"
        exposed = [message.key or b"", *(value or b"" for _, value in message.headers or [])]
        for part, data in zip(["key", *(k for k, _ in message.headers or [])], exposed, strict=True):
            if found := secrets.found_in(data):
                result.leaks.append(f"{where} {part}: {sorted(found)}")
        value = message.value or b""
        rest, record = blanked(codec, value)
        if found := secrets.found_in(rest):
            result.leaks.append(f"{where} value outside personal: {sorted(found)}")
        for kind, count in secrets.found_in(value).items():
            result.inside_personal[kind] = result.inside_personal.get(kind, 0) + count
        result.decoded.append((message.key or b"", value, record))
    return result


def decisions() -> list[MatchConfirmed | RecordSplit]:
    """One confirmation and one split (pseudonymous identifiers: the registry keeps them pending)."""
    a, b = "nik:" + "a" * 64, "passport:" + "b" * 64
    return [
        MatchConfirmed(
            decision_id="dec-privacy-1",
            candidate_id="cand-" + "0" * 20,
            anchors=(a, b),
            office="kemlu-pwni",
            reason="same-photo",
            officer_id="officer-7",
        ),
        RecordSplit(
            decision_id="dec-privacy-2",
            citizen_id="cit-" + "1" * 20,
            moved=("app:APP-PRIVACY",),
            kept=(a,),
            office="kemlu-pwni",
            reason="mistyped-passport-number",
            officer_id="officer-7",
        ),
    ]


class TestNoPersonalDataOnInternalTopics:
    def test_internal_topics_hold_personal_data_only_in_personal(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """After a live run, no NIK, name, passport number, phone or e-mail of the simulated citizens is on
        any internal topic outside a ``personal`` part (keys and headers included); every resolver item is
        a ResolverItem keyed by the id of the event it came from (a domain event, or the decision's event on
        registry.decisions), and the raw bytes of the items do hold the personal data.
        """
        codec = AvroCodec(load_registry(bus_settings.schemas_dir))
        outgoing, _, observed = simulated(bus_settings, EVENTS, seed=808)
        secrets = secrets_of(codec, outgoing)
        assert len(secrets.by_value) > 100
        send(bus_settings, outgoing)
        with Publisher(bus_settings) as publisher:
            decision_events = {
                publisher.publish(decision, EventMeta(source="kemlu-pwni")).event_id: decision.decision_id
                for decision in decisions()
            }
        try:
            wait_for_all(worker, bus_settings, observed + 2)
        except AssertionError as exc:  # say where the items stopped: the intake's counters and the core's
            intake = (worker.get("/stats") or {}).get("intake")
            stats = {"intake": intake, "core": worker.get("/registry/stats")}
            raise AssertionError(f"{exc}\n{stats}") from None
        nik = next(value for value, kind in secrets.by_value.items() if kind == "nik")
        status, _ = worker.post(
            "/registry/lookup",
            {"nik": nik, "requested_by": "officer-7", "office": "kbri-tokyo", "purpose": "AUDIT"},
        )
        assert status in {200, 404}

        topics = internal_topics(bus_settings)
        assert {OBSERVATIONS, DECISIONS, CITIZENS, COUNTS, ACCESS} <= set(topics)
        scans = {topic: scan(bus_settings, codec, topic, secrets) for topic in topics}
        leaks = [leak for result in scans.values() for leak in result.leaks]
        assert leaks == [], "personal data outside personal:\n" + "\n".join(leaks[:20])

        items = scans[OBSERVATIONS]
        assert items.records == observed + 2
        for key, value, record in items.decoded:
            assert record is not None, "every resolver item is Avro"
            assert codec.writer_of(value).fullname == ITEM_SCHEMA
            part = record[record["kind"].lower()]  # ItemKind symbols name the part they set
            if record["kind"] == "OBSERVATION":
                assert key.decode() == part["event_id"]
            else:
                assert decision_events[key.decode()] == part["decision_id"]
        # Not vacuous: the items and the golden records carry the personal data, inside personal.
        for topic in (OBSERVATIONS, CITIZENS):
            assert {"nik", "full_name", "passport_number"} <= scans[topic].inside_personal.keys(), topic
        assert scans[ACCESS].records >= 1
        assert scans[COUNTS].records >= 1
