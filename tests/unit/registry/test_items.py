"""The resolver's items on ``registry.observations``: Avro ``ResolverItem``, exact, and nothing personal
outside ``personal``.

Round trips are byte-exact both ways (item -> bytes -> item, bytes -> item -> bytes) over observations of
simulated events, varied by hypothesis where the contract has corners (microseconds, "not said" against
"now unknown" residence parts); every item written validates as ``ResolverItemModel`` and the model's own
record encodes to the same bytes; anything that is not an item is refused by ``RegistryProjection.read``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.bus.codec import AvroCodec
from services.bus.decoder import RawRecord
from services.bus.errors import BusError, MalformedPayload, UnknownSchema
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts.registry import CountDimension, OfficeCountModel
from services.contracts.registry_items import ResolverItemModel
from services.registry.decisions import Confirm, Reject, Split
from services.registry.facts import RESIDENCE_FIELDS, Observation
from services.registry.items import ITEM_SCHEMA, Item, decode_item, encode_item
from services.registry.projection import RegistryProjection
from tests.unit.registry.builders import SITI, at, hasher, obs_of, printed, simulated, stay

NIK_A, NIK_B = "nik:" + "a" * 64, "nik:" + "b" * 64
CONFIRM = Confirm("dec-0123456789abcdef0123", "cand-0123456789abcdef0123", (NIK_A, "ref:kjri-new-york:NY-9"))
REJECT = Reject("dec-h-4", "cand-" + "0" * 20, (NIK_B, NIK_A))
SPLIT = Split("dec-s-1", "cit-" + "1" * 20, frozenset({NIK_B, "app:APP-1"}), frozenset({NIK_A, "case:C-1"}))
DECISIONS: list[Item] = [CONFIRM, REJECT, SPLIT]


@cache
def codec() -> AvroCodec:
    return AvroCodec(load_registry(get_settings().schemas_dir))


@cache
def simulated_observations(seed: int) -> tuple[Observation, ...]:
    """Every observation of 120 simulated events (cached: hypothesis draws seeds again and again)."""
    found = (obs_of(event) for event in simulated(seed, 120))
    return tuple(found)


def assert_exact(item: Item) -> bytes:
    """Item to bytes to item is the identity, and so is bytes to item to bytes."""
    data = encode_item(item)
    back = decode_item(data)
    assert back == item
    assert encode_item(back) == data
    return data


def assert_model_agrees(data: bytes) -> None:
    """The bytes validate as ``ResolverItemModel``, and the model's own record encodes to the same bytes."""
    model = ResolverItemModel.from_avro(codec().decode(data, expected=ITEM_SCHEMA).record)
    assert codec().encode(ITEM_SCHEMA, model.to_avro()) == data


def raw(value: bytes) -> RawRecord:
    return RawRecord(topic="registry.observations", partition=0, offset=7, timestamp=0, key=b"k", value=value)


# --- exact round trips ------------------------------------------------------------------------------


_RESIDENCE_VALUES = {"country": "JP", "city": "Kota Baru", "office": "kbri-tokyo"}


@st.composite
def _residences(draw: st.DrawFn) -> dict[str, str | None]:
    """Each part absent (not said), None (now unknown) or a value."""
    parts = draw(st.lists(st.sampled_from(RESIDENCE_FIELDS), unique=True))
    return {part: draw(st.none() | st.just(_RESIDENCE_VALUES[part])) for part in parts}


@st.composite
def varied_observations(draw: st.DrawFn) -> Observation:
    """A simulated observation, its time moved to any microsecond and its residence redrawn (parts absent,
    set to None, or set to a value) so every corner of the contract is written.
    """
    observations = simulated_observations(draw(st.integers(0, 30)))
    obs = observations[draw(st.integers(0, len(observations) - 1))]
    if draw(st.booleans()):
        when = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
        obs = replace(obs, time=when.replace(tzinfo=UTC))
    if draw(st.booleans()):
        obs = replace(obs, residence=draw(_residences()))
    return obs


class TestRoundTrip:
    @settings(max_examples=300, deadline=None)
    @given(obs=varied_observations())
    def test_observations_round_trip_byte_exact(self, obs: Observation) -> None:
        """Any observation of a simulated event (any microsecond, any residence) comes back equal, and its
        bytes come back the same; the model agrees with what was written.
        """
        assert_model_agrees(assert_exact(obs))

    def test_every_simulated_observation_round_trips(self) -> None:
        """All the observations of three simulated batches, each exactly (personal data, passports printed
        or not, stays, cases, cleared residence parts all occur).
        """
        observations = [obs for seed in (1, 2, 3) for obs in simulated_observations(seed)]
        assert any(obs.passport is not None and obs.passport.printed for obs in observations)
        assert any(obs.case is not None for obs in observations)
        assert any(None in obs.residence.values() for obs in observations)
        for obs in observations:
            assert_model_agrees(assert_exact(obs))

    @pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: type(d).__name__)
    def test_decisions_round_trip_byte_exact(self, decision: Item) -> None:
        """Confirm, Reject and Split come back equal (anchors in order, sides as sets) and validate."""
        assert_model_agrees(assert_exact(decision))

    def test_residence_not_said_differs_from_now_unknown(self) -> None:
        """{} (nothing said), {"city": None} (the city is now unknown) and {"city": "X"} are three items."""
        obs = obs_of(stay(SITI.personal(), "kjri-new-york", "NY-1", at(0), "r1"))
        variants = [replace(obs, residence=residence) for residence in ({}, {"city": None}, {"city": "X"})]
        encoded = [assert_exact(variant) for variant in variants]
        assert len(set(encoded)) == 3
        assert [decode_item(data).residence for data in encoded] == [{}, {"city": None}, {"city": "X"}]  # type: ignore[union-attr]

    def test_time_keeps_its_microseconds_and_comes_back_in_utc(self) -> None:
        """The time is timestamp-micros: a time given in another zone is the same instant, in UTC."""
        obs = obs_of(stay(SITI.personal(), "kjri-new-york", "NY-1", at(0), "t1"))
        jakarta = datetime(2026, 3, 2, 16, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=7)))
        back = decode_item(encode_item(replace(obs, time=jakarta)))
        assert isinstance(back, Observation)
        assert back.time == jakarta
        assert back.time.utcoffset() == timedelta(0)
        assert back.time.microsecond == 999_999

    def test_the_codec_frames_items_like_everything_on_the_bus(self) -> None:
        """C3 01, then the fingerprint of ResolverItem's revision 1."""
        data = encode_item(CONFIRM)
        contract = codec().writer_of(data)
        assert data[:2] == b"\xc3\x01"
        assert (contract.fullname, contract.revision) == (ITEM_SCHEMA, 1)


# --- personal data only in `personal` ---------------------------------------------------------------


IDENTIFYING = ("nik", "full_name", "phone", "email", "address")
"""Personal facts searched for as text (dates and the sex are not written as text; places may be public)."""


def without_personal(data: bytes) -> bytes:
    """The item re-encoded with its ``personal`` part blanked: what erasure would leave."""
    record = codec().decode(data, expected=ITEM_SCHEMA).record
    return codec().encode(ITEM_SCHEMA, {**record, "personal": None})


class TestPersonalDataPlacement:
    @settings(max_examples=100, deadline=None)
    @given(obs=varied_observations())
    def test_nothing_personal_outside_personal(self, obs: Observation) -> None:
        """With ``personal`` blanked, none of the observation's identifying values (NIK, name, phone,
        e-mail, address, passport number) is left in the bytes; with it, they are there (so the check is not
        vacuous). A place of birth is left out: it may well be the city of stay, which is no personal data.
        """
        data = encode_item(obs)
        secrets = {obs.personal[name] for name in IDENTIFYING if len(obs.personal.get(name, "")) >= 6}
        if obs.passport is not None:
            secrets.add(obs.passport.number)
        blanked = without_personal(data)
        for secret in secrets:
            assert secret.encode() not in blanked
            assert secret.encode() in data

    def test_a_printed_passport_keeps_its_issue_data_outside_personal(self) -> None:
        """The number moves to personal; identifier, issuing office and dates stay readable outside."""
        obs = obs_of(printed("C7777777", "APP-1", "kjri-los-angeles", at(1), "p1"))
        record = codec().decode(encode_item(obs), expected=ITEM_SCHEMA).record
        passport = record["observation"]["passport"]
        assert passport["identifier"].startswith("passport:")
        assert passport["issue_date"] == date(2026, 3, 1)
        assert record["personal"]["passport_number"] == "C7777777"
        assert b"C7777777" not in without_personal(encode_item(obs))

    def test_decisions_carry_no_personal_part(self) -> None:
        """A decision's personal is null: its identifiers are hashes and office references only."""
        for decision in DECISIONS:
            assert codec().decode(encode_item(decision)).record["personal"] is None


# --- what is not an item ---------------------------------------------------------------------------


def item_bytes(**change: Any) -> bytes:
    """An observation's item record with ``change`` applied, encoded as a ResolverItem nonetheless."""
    obs = obs_of(stay(SITI.personal(passport=True), "kjri-new-york", "NY-1", at(0), "bad"))
    record = codec().decode(encode_item(obs), expected=ITEM_SCHEMA).record
    return codec().encode(ITEM_SCHEMA, {**record, **change})


INCONSISTENT = {
    "kind says CONFIRM, observation set": {"kind": "CONFIRM"},
    "two parts set": {"split": {"decision_id": "d", "citizen_id": "c", "moved": ["a"], "kept": ["b"]}},
    "passport without its number": {"personal": None},
}


class TestRefused:
    @pytest.mark.parametrize("change", INCONSISTENT.values(), ids=list(INCONSISTENT))
    def test_an_inconsistent_item_is_a_value_error(self, change: dict[str, Any]) -> None:
        """A ResolverItem whose parts disagree raises ValueError; the model refuses it too."""
        data = item_bytes(**change)
        with pytest.raises(ValueError, match=r"item sets|passport_number"):
            decode_item(data)
        with pytest.raises(ValidationError):
            ResolverItemModel.from_avro(codec().decode(data).record)

    def test_personal_data_on_a_decision_is_refused(self) -> None:
        """A decision carrying a personal part is no item the intake writes."""
        record = codec().decode(encode_item(CONFIRM)).record
        data = codec().encode(ITEM_SCHEMA, {**record, "personal": {"nik": SITI.nik}})
        with pytest.raises(ValueError, match="only an observation"):
            decode_item(data)

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            (b"", MalformedPayload),
            (b'{"kind":"observation","observation":{}}', MalformedPayload),  # a JSON item of before
            (encode_item(CONFIRM)[:-3], MalformedPayload),
            (encode_item(CONFIRM) + b"\x00", MalformedPayload),
            (b"\xc3\x01" + b"\x00" * 8 + b"\x02", UnknownSchema),
        ],
        ids=["empty", "json", "truncated", "trailing", "unknown-fingerprint"],
    )
    def test_bytes_that_are_no_item_raise_the_codecs_error(self, value: bytes, error: type[BusError]) -> None:
        """Framing and body errors are the codec's own BusErrors, with their dead-letter reasons."""
        with pytest.raises(error):
            decode_item(value)

    def test_another_contract_is_unknown_schema(self) -> None:
        """A valid record of another contract on the topic is not read as an item."""
        other = OfficeCountModel(dimension=CountDimension.TOTAL, key="abroad", citizens=1, as_of=at(0))
        with pytest.raises(UnknownSchema):
            decode_item(codec().encode(other.SCHEMA, other.to_avro()))

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            (item_bytes(kind="SPLIT"), "MALFORMED"),
            (b"{not json", "MALFORMED"),
            (b"\xc3\x01" + b"\x00" * 8, "UNKNOWN_SCHEMA"),
        ],
        ids=["inconsistent", "garbage", "unknown-fingerprint"],
    )
    def test_the_projection_refuses_them_with_a_reason(self, value: bytes, reason: str) -> None:
        """``RegistryProjection.read`` raises a BusError the core dead-letters: MALFORMED for what decodes
        but is no item, the codec's own reason for the rest; nothing personal in the message.
        """
        with pytest.raises(BusError) as caught:
            RegistryProjection(hasher).read(raw(value))
        assert caught.value.reason == reason
        assert SITI.nik not in str(caught.value)
        assert SITI.passport not in str(caught.value)

    def test_an_unknown_personal_field_is_not_written(self) -> None:
        """An observation holding a personal field the contract has no place for is not silently cut."""
        obs = obs_of(stay(SITI.personal(), "kjri-new-york", "NY-1", at(0), "u1"))
        with pytest.raises(ValueError, match="personal field") as caught:
            encode_item(replace(obs, personal={**obs.personal, "notes": "secret story"}))
        assert "secret story" not in str(caught.value)


class TestModelRules:
    def _observation_record(self) -> dict[str, Any]:
        obs = obs_of(stay(SITI.personal(passport=True), "kjri-new-york", "NY-1", at(0), "m1"))
        return codec().decode(encode_item(obs)).record

    def test_a_raw_nik_as_identifier_is_refused(self) -> None:
        """Identifiers outside personal must be hashes: a raw NIK typed there is refused, unquoted."""
        record = self._observation_record()
        record["observation"]["identifiers"] = [f"nik:{SITI.nik}"]
        with pytest.raises(ValidationError) as caught:
            ResolverItemModel.from_avro(record)
        assert SITI.nik not in str(caught.value)

    def test_a_raw_name_as_weak_key_is_refused(self) -> None:
        """Weak keys are hashes too."""
        record = self._observation_record()
        record["observation"]["weak_keys"] = [f"weak:{SITI.full_name}"]
        with pytest.raises(ValidationError):
            ResolverItemModel.from_avro(record)

    def test_notes_are_never_kept(self) -> None:
        """Case-work free text stays with the protection case."""
        record = self._observation_record()
        record["personal"] = {**record["personal"], "notes": "x"}
        with pytest.raises(ValidationError, match="notes"):
            ResolverItemModel.from_avro(record)
        with pytest.raises(ValueError, match="notes"):
            decode_item(codec().encode(ITEM_SCHEMA, record))

    def test_a_bad_residence_part_is_refused(self) -> None:
        """A residence country is an ISO code, an office a known one."""
        record = self._observation_record()
        record["observation"]["residence"]["country"] = {"value": "Indonesia"}
        with pytest.raises(ValidationError, match="ISO 3166"):
            ResolverItemModel.from_avro(record)

    def test_the_model_sorts_sets(self) -> None:
        """Identifier sets are sorted and deduplicated, so equal items are equal bytes."""
        record = self._observation_record()
        identifiers = record["observation"]["identifiers"]
        record["observation"]["identifiers"] = [*reversed(identifiers), identifiers[0]]
        model = ResolverItemModel.from_avro(record)
        assert model.observation is not None
        assert list(model.observation.identifiers) == sorted(identifiers)


def test_decoded_times_are_utc_aware() -> None:
    """The record's time is aware UTC, as Observation requires (a naive time would be refused)."""
    obs = obs_of(stay(SITI.personal(), "kjri-new-york", "NY-1", at(0), "z1"))
    back = decode_item(encode_item(obs))
    assert isinstance(back, Observation)
    assert back.time.tzinfo is not None
    assert back.time == obs.time
