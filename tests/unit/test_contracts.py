"""The Avro contracts in ``schemas/`` and the payload models agree, evolve compatibly and round-trip exactly.

Everything is discovered from the files, ``EVENT_MODELS``, ``VIEW_MODELS`` (the registry's views) and
``INTERNAL_MODELS`` (records on internal topics): a new event, view, internal record or revision is covered
without touching this module, except for one hand-built sample per model (a test fails until it is added).
"""

from __future__ import annotations

import enum
import io
import json
import random
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import pytest
from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import expand_schema, parse_schema, to_parsing_canonical_form
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.bus.keys import citizen_key
from services.contracts import EVENT_MODELS, INTERNAL_MODELS, VIEW_MODELS
from services.contracts.audit import ArchiveAnchorModel, ArchivedRecordModel, Header
from services.contracts.base import EventModel, format_validation_error
from services.contracts.citizen import Departed, DetailsChanged, ReturnedHome, StayPurpose, StayReported
from services.contracts.common import Channel, Personal, Sex
from services.contracts.deadletters import DeadLetterCountModel
from services.contracts.passport import (
    ApplicationSubmitted,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    BiometricsCaptured,
    CancellationReason,
    Collected,
    PassportKind,
    PassportPrinted,
    PassportService,
    PaymentMethod,
    PaymentReceived,
    ReadyForPickup,
)
from services.contracts.protection import (
    CaseAction,
    CaseAssigned,
    CaseCategory,
    CaseClosed,
    CaseEscalated,
    CaseOpened,
    CaseOutcome,
    CaseReopened,
    CaseTransferred,
    CaseUpdated,
    EscalationLevel,
    HotlineCallReceived,
    Urgency,
)
from services.contracts.registry import (
    AccessPurpose,
    CaseStatus,
    CitizenPersonal,
    CitizenRecordModel,
    CitizenStatus,
    CountDimension,
    HeldPassport,
    LookupKind,
    MatchConfirmed,
    MatchRejected,
    OfficeCountModel,
    ProtectionCase,
    Provenance,
    RecordAccessedModel,
    RecordSplit,
    Residence,
    Stay,
    ViewModel,
)
from services.contracts.registry_items import (
    CaseChange,
    InternalModel,
    ItemKind,
    Observation,
    PassportFact,
    ResidenceChange,
    ResidencePart,
    ResolverItemModel,
    StayReport,
)
from services.contracts.traffic import MinuteCount, OfficeTrafficModel
from services.reference.nik import generate_nik
from services.reference.offices import all_offices
from tests.unit.protection import samples as protection_samples

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
ROOT_NAMESPACE = "id.go.kemlu.bus"
COMMON_NAMESPACE = f"{ROOT_NAMESPACE}.common.v1"
PERSONAL = f"{COMMON_NAMESPACE}.Personal"
NAMED_KINDS = frozenset({"record", "enum", "fixed"})
PRIMITIVES: dict[str, type] = {
    "string": str,
    "int": int,
    "long": int,
    "boolean": bool,
    "double": float,
    "bytes": bytes,
}
LOGICAL: dict[str, type] = {"date": date, "timestamp-millis": datetime, "timestamp-micros": datetime}
_FILE_NAME = re.compile(r"^(?P<name>[A-Z][A-Za-z0-9]*)\.(?P<revision>[1-9][0-9]*)\.avsc$")
_MISSING = object()
Model = EventModel | ViewModel | InternalModel
ALL_MODELS: dict[str, type[Model]] = {**EVENT_MODELS, **VIEW_MODELS, **INTERNAL_MODELS}
NOT_EVENTS = VIEW_MODELS.keys() | INTERNAL_MODELS.keys()
"""Views and internal records: top-level models named ``<Name>Model``, free to nest records of their own."""


# --- the contract files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """One ``.avsc`` file: a revision of a full name."""

    path: Path
    name: str
    revision: int

    @property
    def label(self) -> str:
        return str(self.path.relative_to(SCHEMAS))

    @cached_property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def raw(self) -> dict[str, Any]:
        """A fresh copy of the JSON, so no test sees another's (or fastavro's) changes."""
        return typing.cast("dict[str, Any]", json.loads(self.text))

    @cached_property
    def fullname(self) -> str:
        raw = self.raw()
        return f"{raw['namespace']}.{raw['name']}"

    @cached_property
    def parsed(self) -> dict[str, Any]:
        return typing.cast("dict[str, Any]", parse_schema(self.raw()))

    @cached_property
    def expanded(self) -> dict[str, Any]:
        """Every named reference replaced by its definition, all names full: easy to walk."""
        return typing.cast("dict[str, Any]", expand_schema(self.raw()))


def _discover() -> list[Contract]:
    contracts = []
    for path in sorted(SCHEMAS.rglob("*.avsc")):
        match = _FILE_NAME.match(path.name)
        assert match is not None, f"{path} is not named <Name>.<revision>.avsc"
        contracts.append(Contract(path, match["name"], int(match["revision"])))
    return contracts


CONTRACTS = _discover()
REVISIONS: dict[str, list[Contract]] = {}
for _contract in sorted(CONTRACTS, key=lambda c: c.revision):
    REVISIONS.setdefault(_contract.fullname, []).append(_contract)
LATEST = {fullname: revisions[-1] for fullname, revisions in REVISIONS.items()}
UPGRADES = [pair for revisions in REVISIONS.values() for pair in pairwise(revisions)]


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a schema, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def _is_named(node: dict[str, Any]) -> bool:
    """Whether a JSON object defines a named type (record, enum, fixed), as opposed to a field."""
    kind = node.get("type")
    return isinstance(kind, str) and kind in NAMED_KINDS and "name" in node


def _definitions(schema: Any) -> Iterator[dict[str, Any]]:
    """The named type definitions (records, enums, fixed) in a schema."""
    return (node for node in _nodes(schema) if _is_named(node))


def _shallow(definition: dict[str, Any]) -> dict[str, Any]:
    """A named definition with nested named types cut down to their names (each is compared on its own)."""

    def cut(node: Any) -> Any:
        if isinstance(node, dict):
            if _is_named(node):
                return node["name"]
            return {k: cut(v) for k, v in node.items() if not k.startswith("__")}
        if isinstance(node, list):
            return [cut(item) for item in node]
        return node

    return {k: cut(v) for k, v in definition.items() if not k.startswith("__")}


def _forms(per_file: Callable[[Contract], Iterator[dict[str, Any]]]) -> dict[str, dict[str, str]]:
    """Nested full name -> {file -> shallow JSON of its definition in that file}.

    A file's own top-level record is left out: its revisions differ on purpose and are checked for
    compatibility instead.
    """
    found: dict[str, dict[str, str]] = {}
    for contract in CONTRACTS:
        for definition in per_file(contract):
            if definition["name"] == contract.fullname:
                continue
            found.setdefault(definition["name"], {})[contract.label] = json.dumps(
                _shallow(definition), sort_keys=True
            )
    return found


def _canonical_definitions(contract: Contract) -> Iterator[dict[str, Any]]:
    return _definitions(json.loads(to_parsing_canonical_form(contract.raw())))


def _full_definitions(contract: Contract) -> Iterator[dict[str, Any]]:
    return iter(contract.parsed["__named_schemas"].values())


PERSONAL_FIELDS = frozenset(
    f["name"]
    for c in CONTRACTS
    for d in _definitions(c.expanded)
    if d["name"] == PERSONAL
    for f in d["fields"]
)
CANONICAL_FORMS = _forms(_canonical_definitions)
FULL_DEFINITIONS = _forms(_full_definitions)
SHARED = sorted(name for name, files in CANONICAL_FORMS.items() if len(files) > 1)


# --- Avro helpers ---------------------------------------------------------------------------------


def _write(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, schema, record)
    return buf.getvalue()


def _read(data: bytes, writer: dict[str, Any], reader: dict[str, Any]) -> dict[str, Any]:
    stream = io.BytesIO(data)
    record = schemaless_reader(stream, writer, reader)
    assert stream.tell() == len(data), "bytes left over after the record"
    assert isinstance(record, dict)
    return record


def _sample_datum(avro_type: Any, *, fill: bool) -> Any:
    """A valid datum for an expanded Avro type; ``fill`` picks the non-null branch of optional fields."""
    if isinstance(avro_type, list):
        branches = [branch for branch in avro_type if branch != "null"]
        return _sample_datum(branches[0], fill=fill) if fill or len(branches) == len(avro_type) else None
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        if logical == "date":
            return date(2024, 2, 29)
        if logical == "timestamp-millis":
            return datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC)
        if logical == "timestamp-micros":
            return datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
        kind = avro_type["type"]
        if kind == "record":
            return {f["name"]: _sample_datum(f["type"], fill=fill) for f in avro_type["fields"]}
        if kind == "enum":
            return avro_type["symbols"][-1]
        if kind == "array":
            return [_sample_datum(avro_type["items"], fill=fill)]
        if kind == "map":
            return {"k": _sample_datum(avro_type["values"], fill=fill)}
        return _sample_datum(kind, fill=fill)
    primitives = {"string": "x", "int": 24, "long": 2**40, "boolean": True, "double": 0.5, "bytes": b"\xc3"}
    return {**primitives, "null": None}[avro_type]


# --- model helpers --------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The core type of an annotation without ``Annotated`` and ``| None``, and whether None was allowed."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = typing.get_args(annotation)
            rest = [arg for arg in args if arg is not type(None)]
            assert len(rest) == 1, f"only T | None unions mirror Avro here, not {annotation}"
            optional = optional or len(rest) < len(args)
            annotation = rest[0]
        else:
            return annotation, optional


def _assert_type_agrees(avro_type: Any, py_type: Any, where: str) -> None:
    if isinstance(avro_type, dict) and avro_type["type"] == "record":
        assert isinstance(py_type, type), where
        assert issubclass(py_type, BaseModel), f"{where}: a record needs a model, not {py_type}"
        _assert_record_agrees(avro_type, py_type, where)
    elif isinstance(avro_type, dict) and avro_type["type"] == "enum":
        assert isinstance(py_type, type), where
        assert issubclass(py_type, enum.StrEnum), f"{where}: an enum needs a StrEnum, not {py_type}"
        assert py_type.__name__ == avro_type["name"].rsplit(".", 1)[-1], where
        assert [member.value for member in py_type] == avro_type["symbols"], f"{where}: symbols differ"
    elif isinstance(avro_type, dict) and avro_type["type"] == "array":
        assert typing.get_origin(py_type) is tuple, f"{where}: an array needs a tuple, not {py_type}"
        for item in (arg for arg in typing.get_args(py_type) if arg is not Ellipsis):
            item_type, optional = _unwrap(item)
            assert not optional, f"{where}: array items are never null"
            _assert_type_agrees(avro_type["items"], item_type, f"{where}[]")
    elif isinstance(avro_type, dict) and avro_type["type"] == "map":
        assert typing.get_origin(py_type) is dict, f"{where}: a map needs a dict, not {py_type}"
        key_type, value_type = typing.get_args(py_type)
        assert _unwrap(key_type) == (str, False), f"{where}: map keys are strings"
        item_type, optional = _unwrap(value_type)
        assert not optional, f"{where}: map values are never null"
        _assert_type_agrees(avro_type["values"], item_type, f"{where}{{}}")
    elif isinstance(avro_type, dict) and "logicalType" in avro_type:
        assert py_type is LOGICAL[avro_type["logicalType"]], (
            f"{where}: {avro_type['logicalType']} vs {py_type}"
        )
    elif isinstance(avro_type, dict):
        _assert_type_agrees(avro_type["type"], py_type, where)
    elif typing.get_origin(py_type) is Literal:
        expected = PRIMITIVES[avro_type]
        assert all(type(value) is expected for value in typing.get_args(py_type)), where
    else:
        assert py_type is PRIMITIVES[avro_type], f"{where}: Avro {avro_type} vs {py_type}"


def _assert_record_agrees(
    record: dict[str, Any], model: type[BaseModel], where: str, *, suffix: str = ""
) -> None:
    """Same field names in the same order, same optionality and defaults, same types, recursively.

    ``suffix``: a top-level view model is named ``<Name>Model``, so it does not clash with the registry's
    own ``CitizenRecord``; nested types keep the contract's names exactly.
    """
    expected = record["name"].rsplit(".", 1)[-1] + suffix
    assert model.__name__ == expected, f"{where}: model {model.__name__}"
    avro_fields = record["fields"]
    assert list(model.model_fields) == [f["name"] for f in avro_fields], f"{where}: field names/order differ"
    for avro_field in avro_fields:
        name, avro_type = avro_field["name"], avro_field["type"]
        info = model.model_fields[name]
        py_type, py_optional = _unwrap(info.annotation)
        avro_optional = isinstance(avro_type, list) and "null" in avro_type
        assert py_optional == avro_optional, f"{where}.{name}: optional in one but not the other"
        if avro_optional:
            assert avro_type[0] == "null", f"{where}.{name}: null must be the first branch"
            assert len(avro_type) == 2, f"{where}.{name}: only [null, T] unions are mirrored"
            assert avro_field.get("default", _MISSING) is None, f"{where}.{name}: Avro default must be null"
            assert not info.is_required(), f"{where}.{name}: must default to None in the model"
            assert info.default is None, f"{where}.{name}: must default to None in the model"
            avro_type = avro_type[1]
        else:
            assert "default" not in avro_field, f"{where}.{name}: required fields have no Avro default"
            assert info.is_required(), f"{where}.{name}: required in Avro, so required in the model"
        _assert_type_agrees(avro_type, py_type, f"{where}.{name}")


def _plain(value: Any) -> Iterator[Any]:
    """Every leaf of a to_avro() result (arrays must leave as lists)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _plain(item)
    elif isinstance(value, list):
        for item in value:
            yield from _plain(item)
    else:
        yield value


# --- samples --------------------------------------------------------------------------------------

_RNG_SEED = 20240517
NIK_F = generate_nik(random.Random(_RNG_SEED), date_of_birth=date(1990, 5, 17), sex="FEMALE")
NIK_M = generate_nik(random.Random(_RNG_SEED + 1), date_of_birth=date(1985, 12, 1), sex="MALE")
FULL_PERSON = Personal(
    nik=NIK_F,
    full_name="Siti Rahmawati",
    date_of_birth=date(1990, 5, 17),
    place_of_birth="Lombok Timur",
    sex=Sex.FEMALE,
    passport_number="X1234567",
    phone="+12025550123",
    email="siti@example.org",
    address="1 Example Street, Washington, DC",
    notes="Prefers contact by WhatsApp.",
)
JUST_NIK = Personal(nik=NIK_M)
OFFICER = "officer-0042"


def _samples() -> list[EventModel]:
    """One hand-built event per model, optional fields filled so every branch is written."""
    office, pwni = "kbri-washington", "kemlu-pwni"
    return [
        StayReported(
            office=office,
            office_record_ref="WAS-2024-00017",
            personal=FULL_PERSON,
            country="US",
            city="Washington",
            purpose=StayPurpose.WORK,
            occupation="Nurse",
            arrival_date=date(2024, 1, 15),
            expected_departure_date=date(2026, 1, 14),
            channel=Channel.APP,
            officer_id=OFFICER,
            household_size=3,
        ),
        DetailsChanged(
            office=office,
            office_record_ref="WAS-2024-00017",
            personal=Personal(phone="+12025550199", address="2 New Street, Arlington, VA"),
            country="US",
            city="Arlington",
            channel=Channel.WEB,
            officer_id=None,
        ),
        Departed(
            office=office,
            office_record_ref="WAS-2024-00017",
            personal=JUST_NIK,
            departure_date=date(2025, 3, 1),
            destination_country="ID",
            channel=Channel.WALK_IN,
            officer_id=OFFICER,
        ),
        ReturnedHome(
            office=office,
            office_record_ref="WAS-2024-00017",
            personal=None,
            return_date=date(2025, 3, 2),
            channel=Channel.EMAIL,
            officer_id=None,
        ),
        AppointmentBooked(
            application_id="app-7f3a",
            appointment_id="apt-1",
            office="kjri-new-york",
            slot_date=date(2025, 6, 2),
            slot_time="09:30",
            queue_number=12,
            service=PassportService.RENEWAL,
            channel=Channel.WEB,
            personal=FULL_PERSON,
        ),
        AppointmentCancelled(
            application_id="app-7f3a",
            appointment_id="apt-1",
            office="kjri-new-york",
            reason=CancellationReason.OFFICE_CLOSED,
            channel=Channel.EMAIL,
            officer_id=OFFICER,
        ),
        AppointmentRescheduled(
            application_id="app-7f3a",
            appointment_id="apt-1",
            office="kjri-new-york",
            old_slot_date=date(2025, 6, 2),
            old_slot_time="09:30",
            new_slot_date=date(2025, 6, 9),
            new_slot_time="14:00",
            new_queue_number=3,
            channel=Channel.WHATSAPP,
            officer_id=None,
        ),
        ApplicationSubmitted(
            application_id="app-7f3a",
            office="kjri-new-york",
            service=PassportService.REPLACEMENT_LOST,
            passport_kind=PassportKind.ELECTRONIC,
            pages=48,
            personal=FULL_PERSON,
            officer_id=OFFICER,
        ),
        BiometricsCaptured(
            application_id="app-7f3a",
            office="kjri-new-york",
            fingerprints=True,
            photo=False,
            officer_id=OFFICER,
        ),
        PaymentReceived(
            application_id="app-7f3a",
            office="kjri-new-york",
            amount_minor=13_500,
            currency="USD",
            receipt_ref="NY-R-88812",
            method=PaymentMethod.QRIS,
            officer_id=OFFICER,
        ),
        PassportPrinted(
            application_id="app-7f3a",
            office="kjri-new-york",
            printed_at="ditjen-imigrasi",
            personal=Personal(passport_number="E7654321"),
            issue_date=date(2025, 6, 20),
            expiry_date=date(2035, 6, 20),
            officer_id=OFFICER,
        ),
        ReadyForPickup(
            application_id="app-7f3a",
            office="kjri-new-york",
            pickup_from=date(2025, 6, 27),
            channel=Channel.APP,
        ),
        Collected(
            application_id="app-7f3a", office="kjri-new-york", collected_by_proxy=True, officer_id=OFFICER
        ),
        HotlineCallReceived(
            case_id="case-2025-0001",
            office="ptri-geneva",
            call_id="call-991",
            line="+41-22-000-0000 (PWNI hotline)",
            category=CaseCategory.UNPAID_WAGES,
            urgency=Urgency.HIGH,
            caller_is_subject=False,
            personal=FULL_PERSON,
            channel=Channel.HOTLINE,
            officer_id=OFFICER,
        ),
        CaseOpened(
            case_id="case-2025-0001",
            office="ptri-geneva",
            category=CaseCategory.TRAFFICKING,
            urgency=Urgency.CRITICAL,
            country="CH",
            personal=FULL_PERSON,
            hotline_call_id="call-991",
            channel=Channel.HOTLINE,
            officer_id=OFFICER,
        ),
        CaseUpdated(
            case_id="case-2025-0001",
            office="ptri-geneva",
            action=CaseAction.SHELTER,
            personal=Personal(notes="Moved to the shelter; safe."),
            officer_id=OFFICER,
        ),
        CaseAssigned(
            case_id="case-2025-0001", office="ptri-geneva", officer_id=OFFICER, assigned_by="head-01"
        ),
        CaseTransferred(
            case_id="case-2025-0001",
            office="ptri-geneva",
            to_office=pwni,
            reason="needs-legal-aid",
            officer_id=OFFICER,
        ),
        CaseEscalated(
            case_id="case-2025-0001",
            office=pwni,
            level=EscalationLevel.PWNI_DIRECTORATE,
            reason="cross-border",
            officer_id=OFFICER,
        ),
        CaseClosed(
            case_id="case-2025-0001", office=pwni, outcome=CaseOutcome.REPATRIATED, officer_id=OFFICER
        ),
        CaseReopened(case_id="case-2025-0001", office=pwni, reason="new-evidence", officer_id=OFFICER),
        MatchConfirmed(
            decision_id="dec-0123456789abcdef0123",
            candidate_id=CANDIDATE,
            anchors=(NIK_ID, "ref:kjri-new-york:NY-2024-9"),
            office=pwni,
            reason="same-photo",
            officer_id=OFFICER,
        ),
        MatchRejected(
            decision_id="dec-3210fedcba9876543210",
            candidate_id=CANDIDATE,
            anchors=("ref:kjri-new-york:NY-2024-9", "ref:kbri-washington:WAS-2024-00017"),
            office=office,
            reason="different-parents",
            officer_id=OFFICER,
        ),
        RecordSplit(
            decision_id="b1946ac9-2d0c-4d2f-9a55-7e2b3f6c1a01",
            citizen_id=CITIZEN,
            merge_id="mrg-00112233445566778899",
            moved=(PASSPORT_ID,),
            kept=(NIK_ID, "app:app-7f3a", "case:case-2025-0001"),
            office=pwni,
            reason="mistyped-passport-number",
            officer_id=OFFICER,
        ),
    ]


CITIZEN = "cit-0123456789abcdef0123"
CANDIDATE = "cand-0123456789abcdef0123"
NIK_ID = "nik:" + citizen_key(NIK_F, b"contract-test-key")
PASSPORT_ID = "passport:" + citizen_key("X1234567", b"contract-test-key")
WHEN = datetime(2025, 6, 2, 9, 30, 15, 123000, tzinfo=UTC)


def _view_samples() -> list[ViewModel]:
    """One hand-built view per view model, optional fields and collections filled."""
    office = "kbri-washington"
    seen = Provenance(source=office, office=office, event_id="evt-1", time=WHEN)
    return [
        CitizenRecordModel(
            citizen_id=CITIZEN,
            merged_into=None,
            status=CitizenStatus.ABROAD,
            residence=Residence(country="US", city="Washington", office=office),
            personal=CitizenPersonal(
                **FULL_PERSON.model_dump(exclude={"passport_number", "notes"}),
                passports=(
                    HeldPassport(number="E7654321", event_id="evt-5"),
                    HeldPassport(
                        number="X1234567",
                        issuing_office="ditjen-imigrasi",
                        issue_date=date(2025, 6, 20),
                        expiry_date=date(2035, 6, 20),
                        event_id="evt-4",
                    ),
                ),
            ),
            provenance={"status": seen, "residence.city": seen, "personal.nik": seen},
            stays=(
                Stay(
                    office=office,
                    country="US",
                    city="Washington",
                    arrival_date=date(2024, 1, 15),
                    office_record_ref="WAS-2024-00017",
                    event_id="evt-1",
                ),
            ),
            cases=(
                ProtectionCase(case_id="case-2025-0001", status=CaseStatus.OPEN, office="ptri-geneva"),
                ProtectionCase(case_id="case-2025-0002", status=None, office=None),
            ),
            open_cases=("case-2025-0001",),
            offices=(office, "kjri-new-york", "ptri-geneva"),
            first_seen=WHEN - timedelta(days=400),
            updated_at=WHEN,
            observations=7,
        ),
        OfficeCountModel(dimension=CountDimension.OFFICE, key=office, citizens=2**40, as_of=WHEN),
        RecordAccessedModel(
            access_id="5f0c8a52-3e4b-4d6e-9f1a-2b3c4d5e6f70",
            requested_by=OFFICER,
            office=office,
            accessed_at=WHEN,
            citizen_id=CITIZEN,
            lookup=LookupKind.NIK,
            purpose=AccessPurpose.CITIZEN_PROTECTION,
            found=True,
        ),
        ArchiveAnchorModel(
            archive_id="5f0c8a52-3e4b-4d6e-9f1a-2b3c4d5e6f71",
            sequence=2**33,
            head_sha256="ab" * 32,
            records=2**40,
            anchored_at=WHEN,
        ),
        DeadLetterCountModel(
            reason="UNKNOWN_SCHEMA",
            component="registry-intake",
            source=office,
            hour=WHEN.replace(minute=0, second=0, microsecond=0),
            partition=5,
            count=2**33,
            as_of=WHEN,
        ),
        OfficeTrafficModel(
            domain="passport",
            office=office,
            partition=4,
            total=2**33,
            last_heard=WHEN,
            minutes=(
                MinuteCount(minute=WHEN.replace(second=0, microsecond=0) - timedelta(minutes=3), count=2),
                MinuteCount(minute=WHEN.replace(second=0, microsecond=0), count=5),
            ),
            as_of=WHEN,
        ),
    ]


def _internal_samples() -> list[InternalModel]:
    """One hand-built record per internal model, every optional part of an observation filled (decisions,
    the other branches, are round-tripped in ``tests/unit/registry/test_items.py``).
    """
    office = "kbri-washington"
    return [
        ResolverItemModel(
            kind=ItemKind.OBSERVATION,
            observation=Observation(
                event_id="1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
                kind="PassportPrinted",
                source="ditjen-imigrasi",
                office=office,
                time=WHEN.replace(microsecond=123456),
                identifiers=(NIK_ID, PASSPORT_ID, "app:app-7f3a", "ref:kbri-washington:WAS-2024-00017"),
                weak_keys=("weak:" + "c" * 64,),
                residence=ResidenceChange(
                    country=ResidencePart(value="US"), city=ResidencePart(value=None), office=None
                ),
                status=CitizenStatus.ABROAD,
                stay=StayReport(
                    office=office,
                    country="US",
                    city="Washington",
                    arrival_date=date(2024, 1, 15),
                    office_record_ref="WAS-2024-00017",
                ),
                passport=PassportFact(
                    identifier=PASSPORT_ID,
                    issuing_office=office,
                    issue_date=date(2025, 6, 20),
                    expiry_date=date(2035, 6, 20),
                ),
                case=CaseChange(case_id="case-2025-0001", status=CaseStatus.OPEN, office="ptri-geneva"),
            ),
            personal=FULL_PERSON.model_copy(update={"notes": None}),
        ),
        ArchivedRecordModel(
            topic="citizen",
            partition=5,
            offset=2**40,
            timestamp_ms=1_764_700_000_000,
            timestamp_type=1,
            key=b"754f830e",
            value=b"\xc3\x01\x4a\x68\x9f\x44\x24\xb7\xf2\x87\x00\xff",
            headers=(Header(name="ce_id", value=b"0b9f6c3e"), Header(name="x-empty", value=None)),
        ),
    ]


def _passport_booking_samples() -> list[Model]:
    """One sample per booking and status contract, optional fields filled."""
    from services.contracts import passport_booking as pb
    from services.contracts import passport_views as pv
    from services.contracts.passport_items import (
        BookingItemKind,
        BookingItemModel,
        StatusItemKind,
        StatusItemModel,
    )

    decided = datetime(2025, 6, 1, 8, 30, 15, 123000, tzinfo=UTC)
    return [
        pb.AppointmentRequested(
            request_id="req-1",
            application_id="app-7f3a",
            office="kanim-jakarta-selatan",
            wished_date=date(2025, 6, 2),
            service=PassportService.NEW,
            channel=Channel.WHATSAPP,
            phone_key="ab" * 32,
            requester_key="cd" * 32,
            reschedules="BK0123456789",
            personal=FULL_PERSON,
        ),
        pb.CancellationRequested(
            request_id="req-2",
            application_id="app-7f3a",
            booking_code="BK0123456789",
            office="kanim-jakarta-selatan",
            reason=CancellationReason.CITIZEN_REQUEST,
            channel=Channel.APP,
            personal=JUST_NIK,
        ),
        pb.QuotaSet(
            quota_id="quota-1",
            office="kanim-jakarta-selatan",
            service=PassportService.NEW,
            daily_capacity=120,
            from_date=date(2025, 6, 1),
            officer_id=OFFICER,
        ),
        pb.ApplicationRefused(
            application_id="app-7f3a",
            office="kanim-jakarta-selatan",
            reason="DOCUMENTS_INVALID",
            officer_id=OFFICER,
        ),
        pb.ActionRequired(
            application_id="app-7f3a",
            office="kanim-jakarta-selatan",
            action="BRING_BIRTH_CERTIFICATE",
            officer_id=OFFICER,
        ),
        pb.AppointmentConfirmedModel(
            decision_id="0b0f3c1e-2d6a-5b7e-9c1d-3e4f5a6b7c8d",
            request_id="req-1",
            application_id="app-7f3a",
            booking_code="BK0123456789",
            office="kanim-jakarta-selatan",
            slot_date=date(2025, 6, 2),
            queue_number=17,
            service=PassportService.NEW,
            channel=Channel.WHATSAPP,
            reschedules="BK9876543210",
            decided_at=decided,
        ),
        pb.AppointmentRefusedModel(
            decision_id="0b0f3c1e-2d6a-5b7e-9c1d-3e4f5a6b7c8e",
            request_id="req-3",
            application_id="app-7f3b",
            office="kanim-jakarta-selatan",
            wished_date=date(2025, 6, 2),
            reason=pb.BookingRefusal.DAY_FULL,
            decided_at=decided,
        ),
        pb.BookingCancelledModel(
            decision_id="0b0f3c1e-2d6a-5b7e-9c1d-3e4f5a6b7c90",
            request_id="req-4",
            application_id="app-7f3a",
            booking_code="BK0123456789",
            booked_by="req-1",
            office="kanim-jakarta-selatan",
            slot_date=date(2025, 6, 2),
            reason=CancellationReason.CITIZEN_REQUEST,
            channel=Channel.APP,
            decided_at=decided,
        ),
        pb.NotificationRequestedModel(
            notification_id="0b0f3c1e-2d6a-5b7e-9c1d-3e4f5a6b7c8f",
            application_id="app-7f3a",
            office="kanim-jakarta-selatan",
            template="passport.status.ready_for_pickup",
            channel=pb.NotificationChannel.WHATSAPP,
            recipient_key="ef" * 32,
            caused_by="evt-9",
            requested_at=decided,
        ),
        BookingItemModel(
            kind=BookingItemKind.REQUEST,
            request_id="req-1",
            application_id="app-7f3a",
            citizen="nik:" + "a" * 64,
            office="kanim-jakarta-selatan",
            day=date(2025, 6, 2),
            service=PassportService.NEW,
            channel="WHATSAPP",
            phone_key="ab" * 32,
            not_applicant=True,
            reschedules="BK0123456789",
            booking_code="BK9876543210",
            queue_number=3,
            reason="DAY_FULL",
            quota_id="quota-1",
            capacity=120,
            time=decided,
        ),
        StatusItemModel(
            event_id="0b0f3c1e-2d6a-5b7e-9c1d-3e4f5a6b7c8d",
            kind=StatusItemKind.CONFIRMED,
            application_id="app-7f3a",
            office="kanim-jakarta-selatan",
            time=decided,
            slot_day=date(2025, 6, 2),
            booking_code="BK0123456789",
            reschedules="BK9876543210",
            queue_number=17,
            reason="DAY_FULL",
            action="BRING_BIRTH_CERTIFICATE",
            pickup_from=date(2025, 6, 9),
            service=PassportService.RENEWAL,
            birth_date_key="12" * 32,
            contact_channel=pb.NotificationChannel.EMAIL,
            recipient_key="ef" * 32,
        ),
        pv.PassportApplicationModel(
            application_id="app-7f3a",
            office="kanim-jakarta-selatan",
            status=pv.ApplicationStatus.PAYMENT_RECEIVED,
            booking_code="BK0123456789",
            booked_day=date(2025, 6, 2),
            queue_number=17,
            booking_refusal="DAY_FULL",
            submitted_on=date(2025, 6, 2),
            paid_on=date(2025, 6, 2),
            ready_from=date(2025, 6, 9),
            expected_ready=date(2025, 6, 6),
            collected_on=date(2025, 6, 10),
            action="BRING_BIRTH_CERTIFICATE",
            refusal="DOCUMENTS_INVALID",
            renewal=True,
            facts=7,
            updated_at=decided,
        ),
        pv.PassportFiguresModel(
            office="kanim-jakarta-selatan",
            day=date(2025, 6, 2),
            partition=5,
            bookings=120,
            freed=3,
            quota_used=117,
            refusals={"DAY_FULL": 40, "TOO_MANY_REQUESTS": 2},
            ready_not_collected=9,
            ready_days={"4": 30, "7": 2},
            as_of=decided,
        ),
    ]


SAMPLES: list[Model] = [
    *_samples(),
    *_view_samples(),
    *_internal_samples(),
    *protection_samples.view_samples(),
    *protection_samples.internal_samples(),
    *_passport_booking_samples(),
]
SAMPLE: dict[type[Model], Any] = {type(event): event for event in SAMPLES}


def _round_trip(event: Model) -> None:
    """to_avro -> write -> read -> from_avro gives the event back, and re-writing gives the same bytes."""
    schema = LATEST[event.SCHEMA].parsed
    first = _write(schema, event.to_avro())
    decoded = _read(first, schema, schema)
    assert type(event).from_avro(decoded) == event
    assert _write(schema, decoded) == first


# --- (a) the files --------------------------------------------------------------------------------


class TestContractFiles:
    @pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.label)
    def test_parses(self, contract: Contract) -> None:
        """Every .avsc is a valid, self-contained Avro schema (no references to other files)."""
        parsed = parse_schema(contract.raw())
        assert parsed["type"] == "record"

    @pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.label)
    def test_place_matches_full_name(self, contract: Contract) -> None:
        """schemas/<domain>/v<major>/<Name>.<rev>.avsc holds id.go.kemlu.bus.<domain>.v<major>.<Name>."""
        parts = contract.path.relative_to(SCHEMAS).parts
        assert len(parts) == 3, "contracts live exactly at <domain>/v<major>/<file>"
        domain, major = parts[:2]
        assert re.fullmatch(r"v[1-9][0-9]*", major)
        assert contract.fullname == f"{ROOT_NAMESPACE}.{domain}.{major}.{contract.name}"

    @pytest.mark.parametrize("fullname", sorted(REVISIONS))
    def test_revisions_are_numbered_without_gaps(self, fullname: str) -> None:
        """Revisions run 1..N, so 'the highest revision is the reader' never skips a lost file."""
        assert [c.revision for c in REVISIONS[fullname]] == list(range(1, len(REVISIONS[fullname]) + 1))

    @pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.label)
    def test_every_record_field_and_enum_is_documented(self, contract: Contract) -> None:
        """Every record, field and enum has a non-empty doc: others generate code from these files."""
        raw = contract.raw()
        undocumented = [
            node.get("name", "?")
            for node in _nodes(raw)
            if "name" in node and not str(node.get("doc", "")).strip()
        ]
        assert undocumented == []

    @pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.label)
    def test_enums_with_other_default_to_it(self, contract: Contract) -> None:
        """An enum with an OTHER symbol defaults to it, so readers survive symbols added later."""
        for enum_type in (d for d in _definitions(contract.raw()) if d["type"] == "enum"):
            if "OTHER" in enum_type["symbols"]:
                assert enum_type.get("default") == "OTHER", enum_type["name"]
            if "default" in enum_type:
                assert enum_type["default"] in enum_type["symbols"], enum_type["name"]

    @pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.label)
    def test_personal_data_lives_only_in_the_personal_field(self, contract: Contract) -> None:
        """Personal data is in the one top-level field 'personal' (an event's is a Personal, a view's may be
        its own record); no field outside it, at any depth, reuses a Personal field name; an event nests no
        other record.
        """
        record = contract.expanded
        is_view = contract.fullname in NOT_EVENTS
        outside = [f for f in record["fields"] if f["name"] != "personal"]
        for avro_field in record["fields"]:
            branches = avro_field["type"] if isinstance(avro_field["type"], list) else [avro_field["type"]]
            records = [b["name"] for b in branches if isinstance(b, dict) and b.get("type") == "record"]
            if avro_field["name"] == "personal":
                assert records == [PERSONAL] or (is_view and len(records) == 1), records
            else:
                assert PERSONAL not in records, f"{avro_field['name']} holds a Personal"
        names = [f["name"] for f in outside] + [
            nested["name"]
            for f in outside
            for d in _definitions(f["type"])
            if d["type"] == "record"
            for nested in d["fields"]
        ]
        assert not set(names) & PERSONAL_FIELDS, "these belong in personal"
        nested_records = {
            d["name"] for f in outside for d in _definitions(f["type"]) if d["type"] == "record"
        }
        assert is_view or not nested_records, f"an event nests no record but Personal: {nested_records}"


# --- (b) shared named types -----------------------------------------------------------------------


class TestSharedTypes:
    def test_common_types_are_shared(self) -> None:
        """Personal, Sex and Channel are defined in several files (so the check below is not vacuous)."""
        assert {PERSONAL, f"{COMMON_NAMESPACE}.Sex", f"{COMMON_NAMESPACE}.Channel"} <= set(SHARED)

    @pytest.mark.parametrize("fullname", sorted(CANONICAL_FORMS))
    def test_same_parsing_canonical_form_everywhere(self, fullname: str) -> None:
        """A full name has one Parsing Canonical Form in every file (codegen makes one class per name)."""
        forms = CANONICAL_FORMS[fullname]
        assert len(set(forms.values())) == 1, f"{fullname} differs across {sorted(forms)}"

    @pytest.mark.parametrize("fullname", SHARED)
    def test_same_docs_and_defaults_everywhere(self, fullname: str) -> None:
        """Beyond the canonical form (which drops them), docs and enum defaults are identical too."""
        forms = FULL_DEFINITIONS[fullname]
        assert len(set(forms.values())) == 1, f"{fullname} differs across {sorted(forms)}"

    @pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.label)
    def test_named_types_live_in_common_or_own_namespace(self, contract: Contract) -> None:
        """Nested types are either common.v1 types or belong to the event's own domain namespace."""
        own = contract.fullname.rsplit(".", 1)[0]
        for definition in _definitions(contract.expanded):
            assert definition["name"].rsplit(".", 1)[0] in {own, COMMON_NAMESPACE}, definition["name"]


# --- (c) models mirror the latest revision --------------------------------------------------------


class TestModelsMirrorContracts:
    def test_one_model_per_full_name(self) -> None:
        """EVENT_MODELS, VIEW_MODELS and INTERNAL_MODELS together have exactly one model per contract full
        name, registered under its SCHEMA; no contract is in two of them.
        """
        assert not EVENT_MODELS.keys() & VIEW_MODELS.keys()
        assert not INTERNAL_MODELS.keys() & (EVENT_MODELS.keys() | VIEW_MODELS.keys())
        assert sorted(ALL_MODELS) == sorted(LATEST)
        assert all(name == model.SCHEMA for name, model in ALL_MODELS.items())

    def test_views_are_not_events(self) -> None:
        """A view model is no EventModel, so the bus never accepts one from a producer as an event."""
        assert VIEW_MODELS
        assert not any(issubclass(model, EventModel) for model in VIEW_MODELS.values())

    def test_internal_records_are_neither_events_nor_views(self) -> None:
        """An internal record (the resolver's items) is no EventModel, so no producer can send one, and no
        ViewModel, so nothing reading views takes one for a view.
        """
        assert INTERNAL_MODELS
        assert not any(issubclass(model, EventModel | ViewModel) for model in INTERNAL_MODELS.values())

    @pytest.mark.parametrize("fullname", sorted(LATEST))
    def test_topic_is_the_domain(self, fullname: str) -> None:
        """TOPIC is the domain part of the full name (citizen, passport, protection), or a topic of that
        domain (registry.decisions, registry.citizens, ...).
        """
        assert ALL_MODELS[fullname].TOPIC.split(".")[0] == fullname.split(".")[-3]

    @pytest.mark.parametrize("fullname", sorted(LATEST))
    def test_model_agrees_with_latest_revision(self, fullname: str) -> None:
        """Field names/order, optionality, null defaults, enum symbols, dates, arrays, maps and nested
        records agree (a top-level view or internal model is named <Name>Model).
        """
        suffix = "Model" if fullname in NOT_EVENTS else ""
        _assert_record_agrees(LATEST[fullname].expanded, ALL_MODELS[fullname], fullname, suffix=suffix)


# --- (d) revisions stay compatible ----------------------------------------------------------------


class TestRevisions:
    def test_there_is_a_revision_to_check(self) -> None:
        """At least one full name has two revisions, so the mechanism itself is exercised."""
        assert UPGRADES

    @pytest.mark.parametrize("fill", [True, False], ids=["filled", "nulls"])
    @pytest.mark.parametrize("pair", UPGRADES, ids=lambda p: f"{p[0].label}->{p[1].revision}")
    def test_new_revision_reads_old_data(self, pair: tuple[Contract, Contract], fill: bool) -> None:
        """Data written by revision N reads with revision N+1: old fields kept, new ones at their default."""
        old, new = pair
        written = _sample_datum(old.expanded, fill=fill)
        record = _read(_write(old.parsed, written), old.parsed, new.parsed)
        for avro_field in new.expanded["fields"]:
            name = avro_field["name"]
            assert record[name] == written.get(name, avro_field.get("default")), name

    def test_old_stay_report_validates_as_latest_model(self) -> None:
        """A StayReported written by a revision-1 producer becomes a valid model with household_size None."""
        old, new = REVISIONS[StayReported.SCHEMA][0], LATEST[StayReported.SCHEMA]
        event = SAMPLE[StayReported].model_copy(update={"household_size": None})
        legacy = {k: v for k, v in event.to_avro().items() if k != "household_size"}
        record = _read(_write(old.parsed, legacy), old.parsed, new.parsed)
        assert StayReported.from_avro(record) == event


# --- (e) exact round trips ------------------------------------------------------------------------


class TestRoundTrip:
    def test_a_sample_per_model(self) -> None:
        """The hand-built samples cover every model exactly once."""
        assert sorted(event.SCHEMA for event in SAMPLES) == sorted(ALL_MODELS)

    @pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
    def test_round_trip_is_exact(self, event: Model) -> None:
        """to_avro -> schemaless_writer -> schemaless_reader -> from_avro is lossless and bytes are stable."""
        _round_trip(event)

    @pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
    def test_to_avro_holds_only_plain_values(self, event: Model) -> None:
        """Enums leave as plain str symbols, arrays as lists, records as dicts, so any Avro writer (not
        just fastavro) accepts the record.
        """
        assert not any(isinstance(leaf, enum.Enum | tuple | BaseModel) for leaf in _plain(event.to_avro()))


# --- (f) property-based round trips ---------------------------------------------------------------

OFFICE_CODES = sorted(office.code for office in all_offices())
_texts = st.text(min_size=1, max_size=30)
_optional_texts = st.none() | st.text(max_size=30)
_countries = st.from_regex(r"[A-Z]{2}", fullmatch=True)
_phones = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
_dates = st.dates(min_value=date(1970, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def _personals(draw: st.DrawFn) -> Personal:
    """A random Personal whose NIK encodes its date of birth and sex, as a real one does."""
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date.today() - timedelta(days=2)))
    sex = draw(st.sampled_from(Sex))
    nik = generate_nik(random.Random(draw(st.integers(0, 2**32))), date_of_birth=born, sex=sex.value)
    return Personal(
        nik=draw(st.none() | st.just(nik)),
        full_name=draw(_optional_texts),
        date_of_birth=draw(st.none() | st.just(born)),
        place_of_birth=draw(_optional_texts),
        sex=draw(st.none() | st.just(sex)),
        passport_number=draw(st.none() | st.from_regex(r"[A-Z][0-9]{7}", fullmatch=True)),
        phone=draw(st.none() | _phones),
        email=draw(_optional_texts),
        address=draw(_optional_texts),
        notes=draw(_optional_texts),
    )


@st.composite
def _stay_reports(draw: st.DrawFn) -> StayReported:
    arrival = draw(_dates)
    return StayReported(
        office=draw(st.sampled_from(OFFICE_CODES)),
        office_record_ref=draw(_texts),
        personal=draw(_personals()),
        country=draw(_countries),
        city=draw(_texts),
        purpose=draw(st.sampled_from(StayPurpose)),
        occupation=draw(_optional_texts),
        arrival_date=arrival,
        expected_departure_date=draw(st.none() | st.integers(0, 3650).map(lambda d: arrival + timedelta(d))),
        channel=draw(st.sampled_from(Channel)),
        officer_id=draw(st.none() | _texts),
        household_size=draw(st.none() | st.integers(1, 2**31 - 1)),
    )


@st.composite
def _case_openings(draw: st.DrawFn) -> CaseOpened:
    return CaseOpened(
        case_id=draw(_texts),
        office=draw(st.sampled_from(OFFICE_CODES)),
        category=draw(st.sampled_from(CaseCategory)),
        urgency=draw(st.sampled_from(Urgency)),
        country=draw(_countries),
        personal=draw(_personals()),
        hotline_call_id=draw(st.none() | _texts),
        channel=draw(st.sampled_from(Channel)),
        officer_id=draw(_texts),
    )


class TestRandomRoundTrips:
    @settings(max_examples=75, deadline=None)
    @given(event=_stay_reports())
    def test_stay_reported(self, event: StayReported) -> None:
        """Any valid StayReported (any Unicode text, any date) round-trips exactly through Avro."""
        _round_trip(event)

    @settings(max_examples=75, deadline=None)
    @given(event=_case_openings())
    def test_case_opened(self, event: CaseOpened) -> None:
        """Any valid CaseOpened round-trips exactly through Avro."""
        _round_trip(event)


# --- (g) errors never carry personal data ---------------------------------------------------------

BAD_NIK = "9971014501900001"  # province 99 does not exist
BAD_PHONE = "+0812555012345"  # E.164 country codes never start with 0


class TestErrorsHideValues:
    def _error(self, **personal: Any) -> ValidationError:
        record = SAMPLE[StayReported].to_avro()
        record["personal"] = {**record["personal"], **personal}
        with pytest.raises(ValidationError) as caught:
            StayReported.from_avro(record)
        return caught.value

    def test_bad_nik_is_not_echoed(self) -> None:
        """A bad NIK is reported by path and rule only, in the formatted text and in str(error) itself."""
        exc = self._error(nik=BAD_NIK)
        text = format_validation_error(exc)
        assert text.startswith("personal.nik: ")
        assert BAD_NIK not in text
        assert BAD_NIK not in str(exc)

    def test_bad_phone_is_not_echoed(self) -> None:
        """A bad phone is reported by path and rule only."""
        exc = self._error(phone=BAD_PHONE)
        text = format_validation_error(exc)
        assert text.startswith("personal.phone: ")
        assert BAD_PHONE not in text
        assert BAD_PHONE not in str(exc)

    def test_several_errors_are_listed_without_urls(self) -> None:
        """Each error gets one 'path: message' item; no documentation URL or 'input_value' sneaks in."""
        exc = self._error(nik=BAD_NIK, phone=BAD_PHONE, date_of_birth=date.today() + timedelta(days=3))
        text = format_validation_error(exc)
        assert [item.split(":", 1)[0] for item in text.split("; ")] == [
            "personal.nik",
            "personal.date_of_birth",
            "personal.phone",
        ]
        assert "http" not in text
        assert "input_value" not in text

    def test_model_level_error_has_no_path(self) -> None:
        """An error about the whole event is listed by its message alone."""
        with pytest.raises(ValidationError) as caught:
            DetailsChanged(
                office="kbri-washington", office_record_ref="r", personal=Personal(), channel=Channel.APP
            )
        assert format_validation_error(caught.value) == "a details change must change at least one field"


# --- the rules the models add to the contracts ----------------------------------------------------


class TestModelRules:
    def _invalid(self, event: EventModel, **update: Any) -> str:
        record = {**event.to_avro(), **update}
        with pytest.raises(ValidationError) as caught:
            type(event).from_avro(record)
        return format_validation_error(caught.value)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("country", "us"),
            ("country", "USA"),
            ("office", "kbri-atlantis"),
            ("city", ""),
            ("household_size", 0),
        ],
    )
    def test_stay_report_field_rules(self, field: str, value: Any) -> None:
        """Countries are 2 upper-case letters, offices known, required text non-empty, household >= 1."""
        assert self._invalid(SAMPLE[StayReported], **{field: value}).startswith(f"{field}: ")

    def test_departure_not_before_arrival(self) -> None:
        """An expected departure before the arrival is refused."""
        assert self._invalid(SAMPLE[StayReported], expected_departure_date=date(2024, 1, 14)).startswith(
            "expected_departure_date: "
        )

    def test_birth_today_is_fine_tomorrow_is_not(self) -> None:
        """Date of birth may be today (anywhere on Earth) but not days ahead."""
        assert Personal(date_of_birth=date.today()).date_of_birth == date.today()
        with pytest.raises(ValidationError):
            Personal(date_of_birth=date.today() + timedelta(days=3))

    @pytest.mark.parametrize("slot_time", ["24:00", "9:30", "09:60", "0930"])
    def test_slot_time_is_hh_mm(self, slot_time: str) -> None:
        """Slot times are HH:MM on a 24-hour clock."""
        assert self._invalid(SAMPLE[AppointmentBooked], slot_time=slot_time).startswith("slot_time: ")

    def test_pages_are_24_or_48(self) -> None:
        """A passport book has 24 or 48 pages."""
        assert self._invalid(SAMPLE[ApplicationSubmitted], pages=32).startswith("pages: ")

    def test_printed_passport_needs_number_and_sane_dates(self) -> None:
        """PassportPrinted carries the passport number and expires after it is issued."""
        assert self._invalid(SAMPLE[PassportPrinted], personal={"nik": NIK_M}).startswith("personal: ")
        assert self._invalid(SAMPLE[PassportPrinted], expiry_date=date(2025, 6, 20)).startswith(
            "expiry_date: "
        )

    def test_amounts_and_currencies(self) -> None:
        """Amounts are non-negative minor units; currencies are ISO 4217 codes."""
        assert self._invalid(SAMPLE[PaymentReceived], amount_minor=-1).startswith("amount_minor: ")
        assert self._invalid(SAMPLE[PaymentReceived], currency="usd").startswith("currency: ")

    def test_transfer_goes_elsewhere(self) -> None:
        """A case cannot be transferred to the office that already holds it."""
        assert self._invalid(SAMPLE[CaseTransferred], to_office="ptri-geneva").startswith("to_office: ")

    @pytest.mark.parametrize("reason", ["moved to Budi's house", "", "x" * 65])
    def test_reasons_are_codes(self, reason: str) -> None:
        """Reasons are code-like (no spaces, <= 64 chars), which keeps names and stories out of them."""
        assert self._invalid(SAMPLE[CaseReopened], reason=reason).startswith("reason: ")

    def test_models_are_frozen_and_closed(self) -> None:
        """Events cannot be changed after validation, and unknown fields are refused."""
        with pytest.raises(ValidationError):
            SAMPLE[StayReported].city = "Elsewhere"  # type: ignore[misc]
        assert self._invalid(SAMPLE[StayReported], surprise=1).startswith("surprise: ")
