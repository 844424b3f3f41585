"""The README's test vectors for other ministries' developers, read from the README itself and checked
against the SDK: encoding gives the very bytes the README shows, decoding accepts them, so the README and
the code cannot drift apart.

A vector is a fenced block right after a ``<!-- vector: <name> -->`` line.
"""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from fastavro.schema import fingerprint
from pydantic import SecretStr

from services.bus.deadletter import DeadLetter
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError, KeyMismatch
from services.bus.keys import citizen_key
from services.bus.publisher import Outgoing, Publisher
from services.bus.schemas import crc64_avro, load_registry
from services.bus.settings import REPO_ROOT, BusSettings
from services.cli.deadletters import deadletter_line
from services.cli.jsoninput import JsonEvent, to_event

README = REPO_ROOT / "README.md"
_VECTOR = re.compile(
    r"^<!-- vector: (?P<name>[a-z0-9-]+) -->\n```[a-z]*\n(?P<body>.*?)\n```$", re.MULTILINE | re.DOTALL
)
NAMES = {
    "citizen-key",
    "fingerprint",
    "stay-reported-event",
    "stay-reported-record",
    "stay-reported-headers",
    "stay-reported-value",
    "deadletter-line",
}


@cache
def vectors() -> dict[str, str]:
    """Every vector block of the README by name; a name given twice fails (which one would be right?)."""
    found: dict[str, str] = {}
    for match in _VECTOR.finditer(README.read_text(encoding="utf-8")):
        assert match["name"] not in found, f"vector {match['name']} appears twice"
        found[match["name"]] = match["body"]
    return found


def fields(name: str) -> list[tuple[str, str]]:
    """A ``label: value`` block as pairs, in order (a value may hold colons, a label never does)."""
    pairs = []
    for line in vectors()[name].splitlines():
        label, _, value = line.partition(":")
        pairs.append((label.strip(), value.strip()))
    return pairs


def hex_bytes(name: str) -> bytes:
    """A block of hex bytes with ``#`` comments."""
    return bytes.fromhex("".join(line.partition("#")[0] for line in vectors()[name].splitlines()))


def settings_of_vector_1() -> BusSettings:
    key = dict(fields("citizen-key"))
    return BusSettings(
        citizen_key=SecretStr(key["HMAC key"]), citizen_key_id=key["key id"], topic_prefix="", citizen_keys={}
    )


def the_event() -> JsonEvent:
    return to_event(json.loads(vectors()["stay-reported-event"]))


def the_record() -> RawRecord:
    """The record of vector 3 exactly as the README gives it."""
    record = dict(fields("stay-reported-record"))
    headers = [(name, value.encode()) for name, value in fields("stay-reported-headers")]
    return RawRecord(
        record["topic"], 0, 0, 0, record["key"].encode(), hex_bytes("stay-reported-value"), headers
    )


def prepared() -> Outgoing:
    event = the_event()
    return Publisher(settings_of_vector_1(), producer=object()).prepare(event.payload, event.meta)


def decoder() -> EventDecoder:
    settings = settings_of_vector_1()
    return EventDecoder(settings, load_registry(settings.schemas_dir))


def test_the_readme_holds_every_vector_once() -> None:
    assert set(vectors()) == NAMES


class TestCitizenKey:
    def test_the_hmac_of_the_nik_is_the_record_key(self) -> None:
        """Vector 1: HMAC-SHA256(UTF-8 key, ASCII NIK), lower-case hex."""
        key = dict(fields("citizen-key"))
        assert citizen_key(key["NIK"], key["HMAC key"].encode()) == key["record key"]

    def test_it_is_the_development_default(self) -> None:
        """The vector's key and id are what a developer's laptop runs with (never a production key)."""
        key = dict(fields("citizen-key"))
        defaults = BusSettings.model_fields
        assert defaults["citizen_key"].default.get_secret_value() == key["HMAC key"]
        assert defaults["citizen_key_id"].default == key["key id"]


class TestFingerprint:
    def test_both_byte_orders_are_one_number(self) -> None:
        """Vector 2: the header's 16 digits are the number big-endian, the frame's 8 bytes little-endian."""
        vector = dict(fields("fingerprint"))
        big, frame = int(vector["big-endian"], 16), bytes.fromhex(vector["frame bytes"])
        assert big == int.from_bytes(frame, "little")
        assert vector["big-endian"] == frame[::-1].hex()

    def test_the_sdk_agrees_with_the_vector(self) -> None:
        """The contract in the named file has that fingerprint (CRC-64-AVRO of its canonical form), writes
        those frame bytes and that ce_dataschema; fastavro prints the frame's (little-endian) order, as the
        README warns.
        """
        vector = dict(fields("fingerprint"))
        contract = next(
            c for c in load_registry(REPO_ROOT / "schemas") if c.path == REPO_ROOT / vector["schema file"]
        )
        assert contract.fullname == vector["full name"]
        assert contract.fingerprint == crc64_avro(contract.canonical.encode())
        assert contract.fingerprint_hex == vector["big-endian"]
        assert contract.fingerprint_bytes == bytes.fromhex(vector["frame bytes"])
        assert contract.dataschema == vector["ce_dataschema"]
        assert fingerprint(contract.canonical, "CRC-64-AVRO") == bytes.fromhex(vector["frame bytes"]).hex()

    def test_it_is_the_revision_the_sdk_writes(self) -> None:
        """Vector 3's frame uses it: the named file must be the latest revision of its full name."""
        vector = dict(fields("fingerprint"))
        latest = load_registry(REPO_ROOT / "schemas").latest(vector["full name"])
        assert latest.path == REPO_ROOT / vector["schema file"]


class TestWholeRecord:
    def test_encoding_the_event_gives_the_readme_s_bytes(self) -> None:
        """Vector 3: the SDK publishes the README's event as exactly the README's key, headers and value."""
        out = prepared()
        record = dict(fields("stay-reported-record"))
        assert out.topic == record["topic"]
        assert out.key.decode() == record["key"] == dict(fields("citizen-key"))["record key"]
        assert [(k, v.decode()) for k, v in out.headers] == fields("stay-reported-headers")
        assert out.value.hex() == hex_bytes("stay-reported-value").hex()

    def test_the_readme_s_record_is_accepted_as_the_readme_s_event(self) -> None:
        """Decoding the README's bytes and headers gives back the README's event, envelope included."""
        event = decoder().decode(the_record())
        given = the_event()
        assert event.payload == given.payload
        assert (event.envelope.id, event.envelope.time, event.envelope.traceparent) == (
            given.meta.event_id,
            given.meta.time,
            given.meta.traceparent,
        )

    def test_the_value_carries_the_fingerprint_of_vector_2(self) -> None:
        value = hex_bytes("stay-reported-value")
        assert value[:2] == b"\xc3\x01"
        assert value[2:10] == bytes.fromhex(dict(fields("fingerprint"))["frame bytes"])
        stated = re.search(r"and this value, (\d+) bytes", README.read_text(encoding="utf-8"))
        assert stated is not None
        assert int(stated[1]) == len(value)

    @pytest.mark.parametrize("label", ["frame", "header"])
    def test_a_changed_fingerprint_is_refused(self, label: str) -> None:
        """The vector is no rubber stamp: another revision's fingerprint in the frame or in the header is
        refused (the frame's by UNKNOWN_SCHEMA or a failed decode, the header's by DATASCHEMA_MISMATCH).
        """
        raw = the_record()
        first = load_registry(REPO_ROOT / "schemas").revisions(dict(fields("fingerprint"))["full name"])[0]
        if label == "frame":
            value, headers = raw.value[:2] + first.fingerprint_bytes + raw.value[10:], raw.headers
        else:
            value = raw.value
            headers = [(k, first.dataschema.encode() if k == "ce_dataschema" else v) for k, v in raw.headers]
        raw = RawRecord(raw.topic, 0, 0, 0, raw.key, value, headers)
        with pytest.raises(BusError):
            decoder().decode(raw)


def test_the_deadletter_line_is_what_bus_deadletter_list_prints() -> None:
    """The README's sample line: vector 3 keyed with another secret, as the list command formats its dead
    letter (the detail is the decoder's own message).
    """
    raw = the_record()
    nik = json.loads(vectors()["stay-reported-event"])["data"]["personal"]["nik"]
    wrong = RawRecord(
        raw.topic, 2, 40, 0, citizen_key(nik, b"another secret").encode(), raw.value, raw.headers
    )
    with pytest.raises(KeyMismatch) as caught:
        decoder().decode(wrong)
    letter = DeadLetter(
        offset=17,
        partition=0,
        topic=raw.topic,
        original_partition=2,
        original_offset=40,
        reason=caught.value.reason,
        detail=caught.value.message,
        component="registry-intake",
        key=wrong.key,
        value=wrong.value,
        original_headers=list(raw.headers),
    )
    assert deadletter_line(letter) == vectors()["deadletter-line"]
