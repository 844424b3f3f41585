"""``ResolverItemModel``: the registry's internal items on ``registry.observations``, and their parts.

The topic is the identity resolver's total order and is kept forever, so it is held to the rule of every
other topic: all personal data in the one top-level field ``personal`` (the events' own ``Personal``
record, so erasure by destroying a citizen's key reaches it like any event's), everything outside it
pseudonymous. The model mirrors ``schemas/registry/v1/ResolverItem.1.avsc`` field by field
(``tests/unit/test_contracts.py`` proves it) and ``services.registry.facts.Observation`` /
``services.registry.decisions`` item by item (``services.registry.items`` maps them without this model on
its hot path; ``tests/unit/registry/test_items.py`` proves every item it writes validates here).

Internal records are no events (a producer may never send one: not in ``EVENT_MODELS``) and no views
(nothing outside the registry reads them: not in ``VIEW_MODELS``): ``INTERNAL_MODELS``.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime
from typing import Annotated, ClassVar, Self

from pydantic import AfterValidator, model_validator

from services.contracts.base import ContractModel
from services.contracts.common import NonEmptyStr, OfficeCode, Personal, matching
from services.contracts.registry_fields import (
    NAMESPACE,
    AvroRecordModel,
    CandidateId,
    CitizenId,
    DecisionId,
    Identifier,
)
from services.contracts.registry_record import CaseStatus, CitizenStatus
from services.reference.offices import is_known_office

__all__ = [
    "OBSERVATIONS_TOPIC",
    "CaseChange",
    "CaseStatus",
    "CitizenStatus",
    "InternalModel",
    "ItemKind",
    "MatchDecision",
    "Observation",
    "PassportFact",
    "ResidenceChange",
    "ResidencePart",
    "ResolverItemModel",
    "SplitDecision",
    "StayReport",
]

OBSERVATIONS_TOPIC = "registry.observations"
_COUNTRY = re.compile(r"[A-Z]{2}")


class InternalModel(AvroRecordModel):
    """A record a processor writes for itself on an internal topic: neither an event nor a view.

    Same codec and the same personal-data rule as every other record on the bus; ``INTERNAL_MODELS``.
    """


def _utc_micros(value: datetime) -> datetime:
    """Aware UTC: timestamp-micros keeps every microsecond a ``datetime`` has, so only the zone is fixed."""
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value.astimezone(UTC)


def _sorted_set(values: tuple[str, ...]) -> tuple[str, ...]:
    """Sets travel sorted and deduplicated, so equal items are equal models and equal bytes."""
    return tuple(sorted(set(values)))


def _some_identifiers(values: tuple[str, ...]) -> tuple[str, ...]:
    """An observation the resolver cannot route (no strong identifier) is never written."""
    if not values:
        raise ValueError("at least one identifier is needed")
    return _sorted_set(values)


MicroTimestamp = Annotated[datetime, AfterValidator(_utc_micros)]
WeakKey = Annotated[
    str, matching(r"weak:[0-9a-f]{64}", "weak key must be 'weak:' and a 64-hex-digit HMAC, never a name")
]
PassportIdentifier = Annotated[
    str,
    matching(r"passport:[0-9a-f]{64}", "passport identifier must be 'passport:' and a 64-hex-digit HMAC"),
]
IdentifierSet = Annotated[tuple[Identifier, ...], AfterValidator(_some_identifiers)]
WeakKeySet = Annotated[tuple[WeakKey, ...], AfterValidator(_sorted_set)]


class ItemKind(enum.StrEnum):
    """``id.go.kemlu.bus.registry.v1.ItemKind``: which part of a resolver item is set."""

    OBSERVATION = "OBSERVATION"
    CONFIRM = "CONFIRM"
    REJECT = "REJECT"
    SPLIT = "SPLIT"


class ResidencePart(ContractModel):
    """One part of the residence as an event sets it: a value, or None for "now unknown"."""

    value: str | None = None


class ResidenceChange(ContractModel):
    """Per part: None when the event does not say, a ``ResidencePart`` when it sets it.

    Three states, because "not said" keeps the current value and "now unknown" clears it.
    """

    country: ResidencePart | None = None
    city: ResidencePart | None = None
    office: ResidencePart | None = None

    @model_validator(mode="after")
    def _parts_fit(self) -> Self:
        """A country is an ISO code, a city is not blank, an office is a known code (when set to a value)."""
        country, city, office = (
            None if part is None else part.value for part in (self.country, self.city, self.office)
        )
        if country is not None and _COUNTRY.fullmatch(country) is None:
            raise ValueError("residence country must be an ISO 3166-1 alpha-2 code")
        if city == "":
            raise ValueError("residence city must not be empty")
        if office is not None and not is_known_office(office):
            raise ValueError("residence office is not a known office code")
        return self


class StayReport(ContractModel):
    """A stay abroad as a ``StayReported`` reported it."""

    office: OfficeCode
    country: Annotated[str, matching(r"[A-Z]{2}", "country must be an ISO 3166-1 alpha-2 code")]
    city: NonEmptyStr
    arrival_date: date
    office_record_ref: NonEmptyStr


class PassportFact(ContractModel):
    """A passport the event names, its number left to ``personal.passport_number``."""

    identifier: PassportIdentifier
    issuing_office: OfficeCode | None = None
    issue_date: date | None = None
    expiry_date: date | None = None


class CaseChange(ContractModel):
    """What a protection event says about its case."""

    case_id: NonEmptyStr
    status: CaseStatus | None = None
    office: OfficeCode | None = None


class Observation(ContractModel):
    """``services.registry.facts.Observation`` without its personal data."""

    event_id: NonEmptyStr
    kind: NonEmptyStr
    source: OfficeCode
    office: OfficeCode
    time: MicroTimestamp
    identifiers: IdentifierSet
    weak_keys: WeakKeySet
    residence: ResidenceChange
    status: CitizenStatus | None = None
    stay: StayReport | None = None
    passport: PassportFact | None = None
    case: CaseChange | None = None


class MatchDecision(ContractModel):
    """``decisions.Confirm`` or ``decisions.Reject``: the two anchors of a candidate match."""

    decision_id: DecisionId
    candidate_id: CandidateId
    anchors: tuple[Identifier, Identifier]

    @model_validator(mode="after")
    def _two_anchors(self) -> Self:
        """A pair of one identifier with itself is no candidate."""
        if self.anchors[0] == self.anchors[1]:
            raise ValueError("the two anchors must differ")
        return self


class SplitDecision(ContractModel):
    """``decisions.Split``: both sides explicitly, as sorted sets."""

    decision_id: DecisionId
    citizen_id: CitizenId
    moved: IdentifierSet
    kept: IdentifierSet

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        """The resolver refuses an identifier on both sides: so does the contract."""
        if set(self.moved) & set(self.kept):
            raise ValueError("an identifier cannot be on both sides of a split")
        return self


_PARTS = {
    ItemKind.OBSERVATION: "observation",
    ItemKind.CONFIRM: "confirm",
    ItemKind.REJECT: "reject",
    ItemKind.SPLIT: "split",
}


class ResolverItemModel(InternalModel):
    """``ResolverItem``: one input of the resolver on ``registry.observations``."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.ResolverItem"
    TOPIC: ClassVar[str] = OBSERVATIONS_TOPIC

    kind: ItemKind
    observation: Observation | None = None
    personal: Personal | None = None
    confirm: MatchDecision | None = None
    reject: MatchDecision | None = None
    split: SplitDecision | None = None

    @model_validator(mode="after")
    def _one_part(self) -> Self:
        """Exactly the part ``kind`` names is set; personal data only with an observation, and the passport
        number exactly with the passport it belongs to, so nothing personal rides on a decision.
        """
        for kind, name in _PARTS.items():
            if (getattr(self, name) is not None) != (kind is self.kind):
                raise ValueError(f"a {self.kind.value} item sets {_PARTS[self.kind]} and no other part")
        personal = self.personal
        if personal is None:
            if self.observation is not None and self.observation.passport is not None:
                raise ValueError("an observed passport needs its number in personal")
            return self
        if self.observation is None:
            raise ValueError("only an observation carries personal data")
        if personal.notes is not None:
            raise ValueError("the registry keeps no notes")
        if (personal.passport_number is not None) != (self.observation.passport is not None):
            raise ValueError("personal.passport_number is set exactly when observation.passport is")
        return self
