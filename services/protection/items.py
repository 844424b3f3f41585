"""The view's items on ``protection.items``: ``facts`` values to and from ``ProtectionItem`` Avro.

Encoding writes the plain Avro record (sets sorted, so equal items are equal bytes); decoding validates it
as ``ProtectionItemModel`` first, so whatever reaches ``apply`` is a well-formed item (a record on the topic
that is not one is refused at ``read``: the runtime dead-letters it). Personal data travels only in the
item's ``personal`` part and comes back as the event's plain ``personal`` dict.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from services.bus.codec import AvroCodec
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts.common import Personal
from services.contracts.protection_items import (
    OPTIONAL_EVENT_FIELDS,
    ProtectionItemKind,
    ProtectionItemModel,
)
from services.contracts.protection_items import CaseEvent as CaseEventModel
from services.protection.facts import CaseEvent, CitizenLink, Item

__all__ = ["ITEM_SCHEMA", "decode_item", "encode_item", "item_record", "personal_dict"]

ITEM_SCHEMA = ProtectionItemModel.SCHEMA
_PERSONAL_FIELDS = tuple(Personal.model_fields)


@cache
def _codec() -> AvroCodec:
    """The bus's codec over ``schemas/``, built once per process."""
    return AvroCodec(load_registry(get_settings().schemas_dir))


def encode_item(item: Item) -> bytes:
    """``item`` as it travels on ``protection.items`` (``EncodeError`` when a value does not fit)."""
    return _codec().encode(ITEM_SCHEMA, item_record(item))


def decode_item(data: bytes) -> Item:
    """Read back what ``encode_item`` wrote: the codec's ``BusError`` for a record that is no
    ``ProtectionItem``, pydantic's ``ValidationError`` (a ValueError, its text naming fields and rules, never
    values) for one whose parts disagree.
    """
    record = _codec().decode(data, expected=ITEM_SCHEMA).record
    model = ProtectionItemModel.from_avro(record)
    if model.link is not None:
        link = model.link
        return CitizenLink(link.citizen_id, frozenset(link.identifiers), link.merged_into)
    if model.event is None:  # the model's own rule: one part per kind
        raise ValueError("a CASE_EVENT item without its event")
    return _event(model.event, model.personal)


def item_record(item: Item) -> dict[str, Any]:
    """The ``ProtectionItem`` Avro record of ``item``."""
    if isinstance(item, CitizenLink):
        return {
            "kind": ProtectionItemKind.CITIZEN_LINK.value,
            "event": None,
            "personal": None,
            "link": {
                "citizen_id": item.citizen_id,
                "merged_into": item.merged_into,
                "identifiers": sorted(item.identifiers),
            },
        }
    event: dict[str, Any] = {
        "event_id": item.event_id,
        "type": item.type.value,
        "source": item.source,
        "time": item.time,
        "case_id": item.case_id,
        "office": item.office,
        "identifiers": sorted(item.identifiers),
    }
    for name in OPTIONAL_EVENT_FIELDS:
        value = getattr(item, name)
        event[name] = getattr(value, "value", value)
    return {
        "kind": ProtectionItemKind.CASE_EVENT.value,
        "event": event,
        "personal": _personal_record(item.personal),
        "link": None,
    }


def _personal_record(personal: dict[str, str]) -> dict[str, Any] | None:
    """The Avro ``Personal`` of an event's personal dict; None when it holds nothing."""
    if not personal:
        return None
    if not personal.keys() <= set(_PERSONAL_FIELDS):
        raise ValueError("an event's personal data holds a field the contract does not have")
    record: dict[str, Any] = dict.fromkeys(_PERSONAL_FIELDS)
    record.update(personal)
    if record["date_of_birth"] is not None:
        record["date_of_birth"] = date.fromisoformat(record["date_of_birth"])
    return record


def personal_dict(personal: Personal | None) -> dict[str, str]:
    """An event's ``Personal`` as the plain dict the view keeps (only the fields set)."""
    if personal is None:
        return {}
    found: dict[str, str] = {}
    for name in _PERSONAL_FIELDS:
        value = getattr(personal, name)
        if value is not None:
            found[name] = (
                value.isoformat() if isinstance(value, date) else str(getattr(value, "value", value))
            )
    return found


def _event(event: CaseEventModel, personal: Personal | None) -> CaseEvent:
    """The ``facts.CaseEvent`` a validated item's event and personal parts describe."""
    optional = {name: getattr(event, name) for name in OPTIONAL_EVENT_FIELDS}
    return CaseEvent(
        event_id=event.event_id,
        type=event.type,
        source=event.source,
        time=event.time,
        case_id=event.case_id,
        office=event.office,
        identifiers=frozenset(event.identifiers),
        personal=personal_dict(personal),
        **optional,
    )
