"""The resolver topic's items: an observation or an officer decision, Avro on ``registry.observations``.

Internal to the registry (keyed by event or decision id, one partition, kept forever): it is the resolver's
total order and the history the worker rebuilds its index from. Kept forever means it must obey the bus's
rule for personal data like every other topic: the items are ``id.go.kemlu.bus.registry.v1.ResolverItem``
(``schemas/registry/v1``), single-object encoded by the bus's own codec, with every personal value of an
observation (its personal fields and its passport's number) in the one ``personal`` field, so erasure by
destroying a citizen's key reaches this topic too.

The mapping to and from Avro data is written out here rather than going through ``ResolverItemModel``:
the registry folds thousands of items per second (and re-reads the whole topic when it takes the partition
over), and the items are made by our own intake from events already validated. The tests prove that every
item written here validates as the model and that the model's own record encodes to the same bytes.
Items are written by the codec's plain-data writer generated for the contract (``AvroCodec.encode_plain``)
and read by its generated reader (``AvroCodec.decode``), both byte-equal to fastavro, which still decides
whatever they do not take themselves.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from services.bus.codec import AvroCodec
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts.registry_items import ResolverItemModel
from services.registry.decisions import Confirm, Decision, Reject, Split
from services.registry.facts import (
    PERSONAL_FIELDS,
    RESIDENCE_FIELDS,
    CaseFact,
    CaseStatus,
    Observation,
    PassportHeld,
    Status,
    StayReport,
)

__all__ = ["ITEM_SCHEMA", "Item", "decode_item", "encode_item", "item_record"]

Item = Observation | Decision
ITEM_SCHEMA = ResolverItemModel.SCHEMA
"""Avro full name of the items (also their ``ce_type``)."""

_KNOWN_PERSONAL = frozenset(PERSONAL_FIELDS)
_KNOWN_RESIDENCE = frozenset(RESIDENCE_FIELDS)
_PART_OF_KIND = {"OBSERVATION": "observation", "CONFIRM": "confirm", "REJECT": "reject", "SPLIT": "split"}
"""The field each ``ItemKind`` symbol sets; the other three (and ``personal`` on a decision) are null."""
_NO_PARTS: dict[str, None] = dict.fromkeys((*_PART_OF_KIND.values(), "personal"))


@cache
def _codec() -> AvroCodec:
    """The bus's codec over ``schemas/``, built once per process (items are encoded one by one)."""
    return AvroCodec(load_registry(get_settings().schemas_dir))


def encode_item(item: Item) -> bytes:
    """An observation or an officer decision as it travels on ``registry.observations``.

    ValueError when an observation holds what the contract has no place for (a personal field the registry
    does not keep); ``services.bus.errors.EncodeError`` when a value does not fit its Avro type.
    """
    return _codec().encode_plain(ITEM_SCHEMA, item_record(item))


def decode_item(data: bytes) -> Item:
    """Read back what ``encode_item`` wrote.

    A record that is not a ``ResolverItem`` raises the codec's ``BusError`` (``MalformedPayload``,
    ``UnknownSchema``); one that is, but whose parts disagree (kind and part, a passport without its
    number, personal data on a decision), raises ValueError. Messages name rules, never values.
    """
    record = _codec().decode(data, expected=ITEM_SCHEMA).record
    kind = record["kind"]
    part = _PART_OF_KIND[kind]
    for name in _PART_OF_KIND.values():
        if (record[name] is not None) != (name == part):
            raise ValueError(f"a {kind} item sets {part} and no other part")
    if part != "observation" and record["personal"] is not None:
        raise ValueError("only an observation carries personal data")
    if part == "observation":
        return _observation(record["observation"], record["personal"])
    if part == "split":
        body = record["split"]
        return Split(
            body["decision_id"], body["citizen_id"], frozenset(body["moved"]), frozenset(body["kept"])
        )
    body = record[part]
    anchors = body["anchors"]
    if len(anchors) != 2:
        raise ValueError("a match decision names exactly two anchors")
    pair = (anchors[0], anchors[1])
    if part == "confirm":
        return Confirm(body["decision_id"], body["candidate_id"], pair)
    return Reject(body["decision_id"], body["candidate_id"], pair)


def item_record(item: Item) -> dict[str, Any]:
    """The ``ResolverItem`` Avro record of ``item`` as plain data: sets sorted (equal items, equal bytes)."""
    if isinstance(item, Observation):
        personal = _personal_record(item)
        return {
            **_NO_PARTS,
            "kind": "OBSERVATION",
            "observation": _observation_record(item),
            "personal": personal,
        }
    if isinstance(item, Split):
        split = {
            "decision_id": item.decision_id,
            "citizen_id": item.citizen_id,
            "moved": sorted(item.moved),
            "kept": sorted(item.kept),
        }
        return {**_NO_PARTS, "kind": "SPLIT", "split": split}
    match = {
        "decision_id": item.decision_id,
        "candidate_id": item.candidate_id,
        "anchors": list(item.anchors),
    }
    if isinstance(item, Confirm):
        return {**_NO_PARTS, "kind": "CONFIRM", "confirm": match}
    return {**_NO_PARTS, "kind": "REJECT", "reject": match}


# --- observations -----------------------------------------------------------------------------------


def _observation_record(obs: Observation) -> dict[str, Any]:
    """The ``Observation`` part: everything but personal data (the passport without its number)."""
    residence = obs.residence
    if not residence.keys() <= _KNOWN_RESIDENCE:
        raise ValueError(f"observation {obs.event_id} names a residence part the contract does not have")
    stay, passport, case = obs.stay, obs.passport, obs.case
    return {
        "event_id": obs.event_id,
        "kind": obs.kind,
        "source": obs.source,
        "office": obs.office,
        "time": obs.time,
        "identifiers": sorted(obs.identifiers),
        "weak_keys": sorted(obs.weak_keys),
        # Absent: not said (None in Avro); present, even with None: set (a ResidencePart).
        "residence": {
            part: {"value": residence[part]} if part in residence else None for part in RESIDENCE_FIELDS
        },
        "status": None if obs.status is None else obs.status.value,
        "stay": None
        if stay is None
        else {
            "office": stay.office,
            "country": stay.country,
            "city": stay.city,
            "arrival_date": stay.arrival_date,
            "office_record_ref": stay.office_record_ref,
        },
        "passport": None
        if passport is None
        else {
            "identifier": passport.identifier,
            "issuing_office": passport.issuing_office,
            "issue_date": passport.issue_date,
            "expiry_date": passport.expiry_date,
        },
        "case": None
        if case is None
        else {
            "case_id": case.case_id,
            "status": None if case.status is None else case.status.value,
            "office": case.office,
        },
    }


def _personal_record(obs: Observation) -> dict[str, Any] | None:
    """The ``Personal`` part: the observation's personal facts and its passport's number; None if neither."""
    personal, passport = obs.personal, obs.passport
    if not personal and passport is None:
        return None
    if not personal.keys() <= _KNOWN_PERSONAL:
        raise ValueError(f"observation {obs.event_id} holds a personal field the registry does not keep")
    born = personal.get("date_of_birth")
    try:
        date_of_birth = None if born is None else date.fromisoformat(born)
    except ValueError:
        raise ValueError(f"observation {obs.event_id}: date_of_birth is not an ISO date") from None
    return {
        "nik": personal.get("nik"),
        "full_name": personal.get("full_name"),
        "date_of_birth": date_of_birth,
        "place_of_birth": personal.get("place_of_birth"),
        "sex": personal.get("sex"),
        "passport_number": None if passport is None else passport.number,
        "phone": personal.get("phone"),
        "email": personal.get("email"),
        "address": personal.get("address"),
        "notes": None,
    }


def _observation(body: dict[str, Any], personal: dict[str, Any] | None) -> Observation:
    """The observation an item's ``observation`` and ``personal`` parts describe."""
    facts: dict[str, str] = {}
    number = None
    if personal is not None:
        if personal["notes"] is not None:
            raise ValueError("the registry keeps no notes")
        for name in PERSONAL_FIELDS:
            value = personal[name]
            if value is not None:
                facts[name] = value.isoformat() if name == "date_of_birth" else value
        number = personal["passport_number"]
    passport = body["passport"]
    if (number is None) != (passport is None):
        raise ValueError("personal.passport_number is set exactly when observation.passport is")
    stay, case, residence = body["stay"], body["case"], body["residence"]
    return Observation(
        event_id=body["event_id"],
        kind=body["kind"],
        source=body["source"],
        office=body["office"],
        time=body["time"],
        identifiers=frozenset(body["identifiers"]),
        weak_keys=frozenset(body["weak_keys"]),
        personal=facts,
        residence={part: said["value"] for part, said in residence.items() if said is not None},
        status=None if body["status"] is None else Status(body["status"]),
        stay=None if stay is None else StayReport(**stay),
        passport=None
        if passport is None or number is None
        else PassportHeld(
            number=number,
            identifier=passport["identifier"],
            issuing_office=passport["issuing_office"],
            issue_date=passport["issue_date"],
            expiry_date=passport["expiry_date"],
        ),
        case=None
        if case is None
        else CaseFact(
            case_id=case["case_id"],
            status=None if case["status"] is None else CaseStatus(case["status"]),
            office=case["office"],
        ),
    )
