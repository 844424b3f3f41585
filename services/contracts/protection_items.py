"""``ProtectionItemModel``: the protection-case view's items on ``protection.items``, and their parts.

The topic is the case view's input and is kept forever, so it obeys the bus's rule for personal data: all
of it in the one top-level field ``personal`` (the events' own ``Personal``, so erasure by destroying a
citizen's key reaches it like any event's), NIK and passport numbers outside it only as pseudonymous
identifiers. The model mirrors ``schemas/protection/v1/ProtectionItem.1.avsc`` field by field
(``tests/unit/test_contracts.py`` proves it) and ``services.protection.facts`` item by item.

``EVENT_FIELDS`` says which optional fields each event type sets: the model enforces it here and the view's
item decoder reads it, so one table decides what a well-formed case event is.
"""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar, Self

from pydantic import AfterValidator, model_validator

from services.contracts.base import ContractModel
from services.contracts.common import (
    Channel,
    CountryCode,
    NonEmptyStr,
    OfficeCode,
    Personal,
    ReasonCode,
    matching,
)
from services.contracts.protection import CaseAction, CaseCategory, CaseOutcome, EscalationLevel, Urgency
from services.contracts.registry_fields import CitizenId, Timestamp
from services.contracts.registry_items import InternalModel

__all__ = [
    "EVENT_FIELDS",
    "ITEMS_TOPIC",
    "NAMESPACE",
    "SUBJECT_EVENTS",
    "CaseEvent",
    "CaseEventType",
    "CitizenLink",
    "ProtectionItemKind",
    "ProtectionItemModel",
    "SubjectIdentifier",
]

NAMESPACE = "id.go.kemlu.bus.protection.v1"
ITEMS_TOPIC = "protection.items"


class CaseEventType(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.CaseEventType``: which protection event an item or entry stands for."""

    HOTLINE_CALL_RECEIVED = "HOTLINE_CALL_RECEIVED"
    CASE_OPENED = "CASE_OPENED"
    CASE_UPDATED = "CASE_UPDATED"
    CASE_ASSIGNED = "CASE_ASSIGNED"
    CASE_TRANSFERRED = "CASE_TRANSFERRED"
    CASE_ESCALATED = "CASE_ESCALATED"
    CASE_CLOSED = "CASE_CLOSED"
    CASE_REOPENED = "CASE_REOPENED"


class ProtectionItemKind(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.ProtectionItemKind``: which part of an item is set."""

    CASE_EVENT = "CASE_EVENT"
    CITIZEN_LINK = "CITIZEN_LINK"


_E = CaseEventType
#: Per event type: (optional fields it must set, optional fields it may set). Every other optional field of
#: ``CaseEvent`` is null: a transfer without its destination or a close with an action is no event at all.
EVENT_FIELDS: dict[CaseEventType, tuple[frozenset[str], frozenset[str]]] = {
    _E.HOTLINE_CALL_RECEIVED: (
        frozenset({"category", "urgency", "channel", "call_id", "caller_is_subject"}),
        frozenset({"officer_id"}),
    ),
    _E.CASE_OPENED: (
        frozenset({"category", "urgency", "country", "channel", "officer_id"}),
        frozenset({"call_id"}),
    ),
    _E.CASE_UPDATED: (frozenset({"action", "officer_id"}), frozenset()),
    _E.CASE_ASSIGNED: (frozenset({"officer_id", "assigned_by"}), frozenset()),
    _E.CASE_TRANSFERRED: (frozenset({"to_office", "reason", "officer_id"}), frozenset()),
    _E.CASE_ESCALATED: (frozenset({"level", "reason", "officer_id"}), frozenset()),
    _E.CASE_CLOSED: (frozenset({"outcome", "officer_id"}), frozenset()),
    _E.CASE_REOPENED: (frozenset({"reason", "officer_id"}), frozenset()),
}
SUBJECT_EVENTS = frozenset({_E.HOTLINE_CALL_RECEIVED, _E.CASE_OPENED, _E.CASE_UPDATED})
"""The event types whose personal data may describe the case's subject (a call only if the caller is)."""


def _sorted_set(values: tuple[str, ...]) -> tuple[str, ...]:
    """Sets travel sorted and deduplicated, so equal items are equal models and equal bytes."""
    return tuple(sorted(set(values)))


SubjectIdentifier = Annotated[
    str,
    matching(
        r"(?:nik|passport):[0-9a-f]{64}",
        "identifier must be 'nik:' or 'passport:' and a 64-hex-digit HMAC, never a raw number",
    ),
]
IdentifierSet = Annotated[tuple[SubjectIdentifier, ...], AfterValidator(_sorted_set)]


class CaseEvent(ContractModel):
    """One accepted protection event as the case view folds it, its personal data left to ``personal``."""

    event_id: NonEmptyStr
    type: CaseEventType
    source: OfficeCode
    time: Timestamp
    case_id: NonEmptyStr
    office: OfficeCode
    identifiers: IdentifierSet
    category: CaseCategory | None = None
    urgency: Urgency | None = None
    country: CountryCode | None = None
    channel: Channel | None = None
    call_id: NonEmptyStr | None = None
    caller_is_subject: bool | None = None
    officer_id: NonEmptyStr | None = None
    assigned_by: NonEmptyStr | None = None
    to_office: OfficeCode | None = None
    reason: ReasonCode | None = None
    level: EscalationLevel | None = None
    action: CaseAction | None = None
    outcome: CaseOutcome | None = None

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> Self:
        """Exactly the fields ``EVENT_FIELDS`` gives the type; identifiers only where they can be the
        subject's; a transfer goes elsewhere.
        """
        required, optional = EVENT_FIELDS[self.type]
        for name in OPTIONAL_EVENT_FIELDS:
            is_set = getattr(self, name) is not None
            if name in required and not is_set:
                raise ValueError(f"a {self.type.value} event needs {name}")
            if is_set and name not in required | optional:
                raise ValueError(f"a {self.type.value} event has no {name}")
        if self.identifiers and (
            self.type not in SUBJECT_EVENTS
            or (self.type is CaseEventType.HOTLINE_CALL_RECEIVED and not self.caller_is_subject)
        ):
            raise ValueError(f"a {self.type.value} event names no identifiers of the subject")
        if self.to_office is not None and self.to_office == self.office:
            raise ValueError("a case cannot be transferred to the office that holds it")
        return self


OPTIONAL_EVENT_FIELDS: tuple[str, ...] = tuple(
    name for name, info in CaseEvent.model_fields.items() if not info.is_required()
)
"""The type-dependent fields of a case event, in contract order."""


class CitizenLink(ContractModel):
    """The registry's citizen ``citizen_id`` now holds exactly ``identifiers`` (none once merged away)."""

    citizen_id: CitizenId
    merged_into: CitizenId | None = None
    identifiers: IdentifierSet

    @model_validator(mode="after")
    def _merged_holds_nothing(self) -> Self:
        """A merged-away id is a pointer: its identifiers went to the citizen it was merged into."""
        if self.merged_into is not None and self.identifiers:
            raise ValueError("a merged citizen id holds no identifiers")
        if self.merged_into == self.citizen_id:
            raise ValueError("a citizen id cannot be merged into itself")
        return self


class ProtectionItemModel(InternalModel):
    """``ProtectionItem``: one input of the protection-case view on ``protection.items``."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.ProtectionItem"
    TOPIC: ClassVar[str] = ITEMS_TOPIC

    kind: ProtectionItemKind
    event: CaseEvent | None = None
    personal: Personal | None = None
    link: CitizenLink | None = None

    @model_validator(mode="after")
    def _one_part(self) -> Self:
        """Exactly the part ``kind`` names; personal data only with an event that may carry it."""
        is_event = self.kind is ProtectionItemKind.CASE_EVENT
        if (self.event is not None) != is_event or (self.link is not None) == is_event:
            raise ValueError(
                f"a {self.kind.value} item sets {'event' if is_event else 'link'} and no other part"
            )
        if self.personal is not None and (self.event is None or self.event.type not in SUBJECT_EVENTS):
            raise ValueError("only a hotline call, an opening or an update carries personal data")
        return self
