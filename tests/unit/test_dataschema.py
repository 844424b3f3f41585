"""``ce_dataschema`` is checked against the frame (pure, on EventDecoder): a header that names another
schema or fingerprint than the bytes carry is DATASCHEMA_MISMATCH, with both sides by name and fingerprint.
"""

from __future__ import annotations

import pytest

from services.bus.codec import MAGIC
from services.bus.decoder import RawRecord
from services.bus.errors import DataschemaMismatch, InvalidEnvelope, UnknownSchema
from services.bus.schemas import load_registry
from tests.unit.test_keys_check import NIK, SETTINGS, decode, prepare, raw_of, refusal, stay, with_header

REGISTRY = load_registry(SETTINGS.schemas_dir)
STAY_REPORTED = "id.go.kemlu.bus.citizen.v1.StayReported"
FIRST, LATEST = REGISTRY.revisions(STAY_REPORTED)[0], REGISTRY.latest(STAY_REPORTED)
DEPARTED = REGISTRY.latest("id.go.kemlu.bus.citizen.v1.Departed")


def with_dataschema(value: str) -> RawRecord:
    out = prepare(stay())
    return raw_of(out, headers=with_header(out, "ce_dataschema", value.encode()))


class TestMismatch:
    def test_the_sdk_names_the_frame_it_writes(self) -> None:
        """Publisher.prepare writes the latest revision and says so: the record passes its own check."""
        out = prepare(stay())
        assert dict(out.headers)["ce_dataschema"] == LATEST.dataschema.encode()
        assert out.value[2:10] == LATEST.fingerprint_bytes
        assert decode(raw_of(out)).envelope.dataschema == LATEST.dataschema

    def test_another_revision_s_fingerprint_is_a_mismatch_naming_both(self) -> None:
        """The issue's case: the header names revision 1's fingerprint, the frame carries revision 2's."""
        error = refusal(with_dataschema(FIRST.dataschema))
        assert isinstance(error, DataschemaMismatch)
        assert error.reason == "DATASCHEMA_MISMATCH"
        assert error.message == (
            f"ce_dataschema says urn:avro:{STAY_REPORTED}:{FIRST.fingerprint_hex} (revision 1), "
            f"the frame carries {LATEST.dataschema} (revision {LATEST.revision})"
        )

    def test_another_type_is_a_mismatch(self) -> None:
        """The header describes another event type (name and fingerprint) than ce_type and the frame."""
        error = refusal(with_dataschema(DEPARTED.dataschema))
        assert isinstance(error, DataschemaMismatch)
        assert DEPARTED.fingerprint_hex in error.message
        assert LATEST.fingerprint_hex in error.message

    def test_the_right_fingerprint_under_another_name_is_a_mismatch(self) -> None:
        error = refusal(with_dataschema(f"urn:avro:{DEPARTED.fullname}:{LATEST.fingerprint_hex}"))
        assert isinstance(error, DataschemaMismatch)
        assert (
            f"urn:avro:{DEPARTED.fullname}:{LATEST.fingerprint_hex} (that of {STAY_REPORTED}" in error.message
        )

    def test_the_frame_s_byte_order_in_the_header_is_named_as_the_slip(self) -> None:
        """The form fastavro prints (little-endian) put in the header: a mismatch that says so."""
        error = refusal(with_dataschema(f"urn:avro:{STAY_REPORTED}:{LATEST.fingerprint_bytes.hex()}"))
        assert isinstance(error, DataschemaMismatch)
        assert "bytes reversed" in error.message
        assert "<a fingerprint no contract has>" in error.message
        assert LATEST.fingerprint_bytes.hex() not in error.message

    def test_what_no_contract_has_is_not_echoed(self) -> None:
        """A header may carry anything: a NIK is 16 hex digits, a name may be a person's. Only what a
        contract has is shown.
        """
        error = refusal(with_dataschema(f"urn:avro:Dewi.Lestari:{NIK}"))
        assert isinstance(error, DataschemaMismatch)
        assert NIK not in error.message
        assert "Dewi" not in error.message
        assert "<a full name no contract has>:<a fingerprint no contract has>" in error.message

    def test_upper_case_hex_names_the_same_fingerprint(self) -> None:
        """The number counts, not the case of its digits (.NET's "X16" format)."""
        assert decode(with_dataschema(f"urn:avro:{STAY_REPORTED}:{LATEST.fingerprint_hex.upper()}"))


class TestOrderAndForm:
    def test_without_ce_dataschema_the_record_is_accepted(self) -> None:
        """The attribute is optional in CloudEvents: nothing to contradict."""
        out = prepare(stay())
        assert decode(raw_of(out, headers=with_header(out, "ce_dataschema", None))).envelope.dataschema == ""

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "urn:avro:id.go.kemlu.bus.citizen.v1.StayReported",
            "urn:avro:id.go.kemlu.bus.citizen.v1.StayReported:87f2b724449f684",
            "urn:avro:id.go.kemlu.bus.citizen.v1.StayReported:0x87f2b724449f684a",
            "urn:avro:id..StayReported:87f2b724449f684a",
            "87f2b724449f684a",
            f"urn:avro:{NIK}:87f2b724449f684a",
            "urn:avro:id.go.kemlu.bus.citizen.v1.StayReported:87f2b724449f684a ",
        ],
    )
    def test_a_malformed_value_is_an_envelope_error_that_echoes_nothing(self, value: str) -> None:
        error = refusal(with_dataschema(value))
        assert isinstance(error, InvalidEnvelope)
        assert "ce_dataschema is not urn:avro:" in error.message
        assert NIK not in error.message

    def test_an_unknown_frame_fingerprint_stays_unknown_schema(self) -> None:
        """The frame is read first: an unknown fingerprint in the bytes is UNKNOWN_SCHEMA, whatever the
        header says (the header alone cannot decode anything).
        """
        out = prepare(stay())
        raw = RawRecord(out.topic, 0, 0, 0, out.key, MAGIC + bytes(8) + out.value[10:], out.headers)
        assert isinstance(refusal(raw), UnknownSchema)

    def test_a_ce_type_that_disagrees_stays_an_envelope_error(self) -> None:
        """ce_type is checked before ce_dataschema, as before: both name the frame, ce_type first."""
        out = prepare(stay())
        headers = with_header(out, "ce_type", DEPARTED.fullname.encode())
        headers = [(k, DEPARTED.dataschema.encode() if k == "ce_dataschema" else v) for k, v in headers]
        assert isinstance(refusal(raw_of(out, headers=headers)), InvalidEnvelope)

    def test_a_mismatched_record_is_refused_before_its_key_is_looked_at(self) -> None:
        """A record with both a wrong ce_dataschema and a wrong key: the header is the first thing to fix."""
        out = prepare(stay())
        headers = with_header(out, "ce_dataschema", FIRST.dataschema.encode())
        assert isinstance(refusal(raw_of(out, key=b"wrong", headers=headers)), DataschemaMismatch)
