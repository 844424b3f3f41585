"""The view's intake transform: accepted protection events and registry citizen records -> items.

It runs in the runtime's intake process (``services.runtime.intake``): the intake decodes and validates
the ``protection`` topic (refusals dead-lettered there), this module makes each event a case item keyed by
its case id, so one case's items land on one partition of ``protection.items`` whatever their event ids,
and makes each ``registry.citizens`` record a citizen link for EVERY partition (each partition resolves its
own cases' citizens). NIK and passport numbers are hashed here with the citizen key, before they leave the
event; the raw values stay only in the item's ``personal`` part.

The runtime's intake sends each ``Forward`` under its key (one case's items on one partition, whatever
their event ids) or, for a broadcast, to every partition; it reads ``registry.citizens`` as a view topic
(``IntakeSpec.view_sources``) and hands the transform the decoded ``CitizenRecordModel``.
"""

from __future__ import annotations

from collections.abc import Callable

from services.bus.events import BusEvent
from services.bus.keys import citizen_hasher
from services.bus.settings import BusSettings
from services.contracts.protection import (
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseOpened,
    CaseReopened,
    CaseTransferred,
    CaseUpdated,
    HotlineCallReceived,
)
from services.contracts.protection_items import EVENT_FIELDS, SUBJECT_EVENTS, CaseEventType
from services.contracts.registry import CitizenRecordModel
from services.protection.facts import CaseEvent, CitizenLink
from services.protection.items import encode_item, personal_dict
from services.protection.links import subject_identifiers
from services.protection.topics import CITIZENS, ITEMS
from services.runtime.intake import Forward

__all__ = [
    "SOURCES",
    "TARGET",
    "VIEW_SOURCES",
    "Forward",
    "ProtectionTransform",
    "case_event",
    "citizen_link",
    "make_transform",
]

SOURCES = ("protection",)
"""Domain topics the intake reads (as bus events)."""
VIEW_SOURCES = (CITIZENS,)
"""View topics the intake reads (as ``VIEW_MODELS`` records): the registry's golden records."""
TARGET = ITEMS

Hasher = Callable[[str], str]
_TYPES: dict[type, CaseEventType] = {
    HotlineCallReceived: CaseEventType.HOTLINE_CALL_RECEIVED,
    CaseOpened: CaseEventType.CASE_OPENED,
    CaseUpdated: CaseEventType.CASE_UPDATED,
    CaseAssigned: CaseEventType.CASE_ASSIGNED,
    CaseTransferred: CaseEventType.CASE_TRANSFERRED,
    CaseEscalated: CaseEventType.CASE_ESCALATED,
    CaseClosed: CaseEventType.CASE_CLOSED,
    CaseReopened: CaseEventType.CASE_REOPENED,
}
_PAYLOAD_NAME = {"call_id": ("call_id", "hotline_call_id")}
"""Item fields named otherwise in a payload (CaseOpened names its call ``hotline_call_id``)."""


def case_event(event: BusEvent, hasher: Hasher) -> CaseEvent | None:
    """The case item of an accepted event; None for a payload that is no protection event."""
    payload = event.payload
    kind = _TYPES.get(type(payload))
    if kind is None:
        return None
    required, optional = EVENT_FIELDS[kind]
    fields = {}
    for name in required | optional:
        for attribute in _PAYLOAD_NAME.get(name, (name,)):
            if hasattr(payload, attribute):
                fields[name] = getattr(payload, attribute)
    personal = getattr(payload, "personal", None)
    about_subject = kind in SUBJECT_EVENTS and (
        kind is not CaseEventType.HOTLINE_CALL_RECEIVED or bool(getattr(payload, "caller_is_subject", False))
    )
    identifiers: frozenset[str] = frozenset()
    if about_subject and personal is not None:
        number = personal.passport_number
        identifiers = subject_identifiers(personal.nik, [] if number is None else [number], hasher)
    return CaseEvent(
        event_id=event.id,
        type=kind,
        source=event.envelope.source,
        time=event.envelope.time,
        case_id=str(getattr(payload, "case_id")),  # noqa: B009 - every protection payload has one
        office=str(getattr(payload, "office")),  # noqa: B009
        identifiers=identifiers,
        personal=personal_dict(personal),
        **fields,
    )


def citizen_link(record: CitizenRecordModel, hasher: Hasher) -> CitizenLink:
    """What a ``registry.citizens`` record says: its citizen holds its NIK and passport numbers, hashed
    (nothing once merged away).
    """
    personal = record.personal
    if record.merged_into is not None or personal is None:
        return CitizenLink(record.citizen_id, frozenset(), record.merged_into)
    numbers = [passport.number for passport in personal.passports]
    return CitizenLink(record.citizen_id, subject_identifiers(personal.nik, numbers, hasher))


class ProtectionTransform:
    """The transform, with its hasher: an accepted event or citizen record -> the items to forward."""

    def __init__(self, hasher: Hasher, *, encode: bool = True) -> None:
        self.hasher = hasher
        self.encode = encode
        """False for a reader of the items alone (a replay): each forward's bytes are then left empty."""

    def __call__(self, incoming: BusEvent | CitizenRecordModel) -> list[Forward]:
        """A case item keyed by case id, or a citizen link keyed by citizen id for every partition."""
        if isinstance(incoming, CitizenRecordModel):
            link = citizen_link(incoming, self.hasher)
            value = encode_item(link) if self.encode else b""
            return [Forward(link.citizen_id, value, broadcast=True, item=link)]
        item = case_event(incoming, self.hasher)
        if item is None:
            return []
        return [Forward(item.case_id, encode_item(item) if self.encode else b"", item=item)]


def make_transform(settings: BusSettings, *, encode: bool = True) -> ProtectionTransform:
    """The transform, made in the intake's own process (the hasher holds the citizen key); ``encode``
    False for a reader of the items alone (a replay): each forward's bytes are then left empty.
    """
    return ProtectionTransform(citizen_hasher(settings), encode=encode)
