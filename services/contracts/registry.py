"""The registry's contracts: officer decisions (events) and the views it publishes (``VIEW_MODELS``).

Decisions on ``registry.decisions`` are bus events like any other (``EVENT_MODELS``), read into
``services.registry.decisions`` values by ``services.registry.mapping.decision_from_event``: they carry
exactly what those values need, plus who decided, where and why. Identifiers are pseudonymous hashes or
office references, never raw numbers. Views: the figures on ``registry.counts``, the access log on
``registry.access`` (no personal data at all) and the golden record (``registry_record``, exported here
too, so one import path serves all the registry's contracts).
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, model_validator

from services.contracts.base import EventModel
from services.contracts.common import NonEmptyStr, OfficeCode, ReasonCode
from services.contracts.registry_fields import (
    NAMESPACE,
    CandidateId,
    CitizenId,
    Count,
    DecisionId,
    Identifier,
    MergeId,
    Timestamp,
    ViewModel,
    avro_record,
)
from services.contracts.registry_record import (
    PROVENANCE_KEYS,
    CaseStatus,
    CitizenPersonal,
    CitizenRecordModel,
    CitizenStatus,
    HeldPassport,
    ProtectionCase,
    Provenance,
    Residence,
    Stay,
)
from services.reference.offices import is_known_office

__all__ = [
    "DECISIONS_TOPIC",
    "PROVENANCE_KEYS",
    "TOTAL_KEY",
    "AccessPurpose",
    "CaseStatus",
    "CitizenPersonal",
    "CitizenRecordModel",
    "CitizenStatus",
    "CountDimension",
    "DecisionEvent",
    "HeldPassport",
    "LookupKind",
    "MatchConfirmed",
    "MatchRejected",
    "OfficeCountModel",
    "ProtectionCase",
    "Provenance",
    "RecordAccessedModel",
    "RecordSplit",
    "Residence",
    "Stay",
    "ViewModel",
    "figure_key",
    "parse_figure_key",
]

DECISIONS_TOPIC = "registry.decisions"
TOTAL_KEY = "abroad"
"""Record key (and ``key`` field) of the TOTAL figure on ``registry.counts``."""

# --- officer decisions ----------------------------------------------------------------------------


class DecisionEvent(EventModel):
    """An officer's identity decision."""

    TOPIC: ClassVar[str] = DECISIONS_TOPIC

    def to_avro(self) -> dict[str, Any]:
        """Arrays leave as lists (the base model's ``to_avro`` knows no collections)."""
        return avro_record(self)


class _Match(DecisionEvent):
    """A decision on a candidate match: the two anchors exactly as the candidate named them."""

    decision_id: DecisionId
    candidate_id: CandidateId
    anchors: tuple[Identifier, Identifier]
    office: OfficeCode
    reason: ReasonCode
    officer_id: NonEmptyStr

    @model_validator(mode="after")
    def _two_anchors(self) -> Self:
        """A pair of one identifier with itself is no candidate: deciding on it would mean nothing."""
        if self.anchors[0] == self.anchors[1]:
            raise ValueError("the two anchors must differ")
        return self


class MatchConfirmed(_Match):
    """The candidate's two citizens are one person (``decisions.Confirm``)."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.MatchConfirmed"


class MatchRejected(_Match):
    """The candidate's two citizens are different people (``decisions.Reject``)."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.MatchRejected"


def _identifier_set(values: tuple[str, ...]) -> tuple[str, ...]:
    """A side is a set: sorted and deduplicated, so equal decisions are equal models and equal bytes."""
    if not values:
        raise ValueError("a side of a split needs at least one identifier")
    return tuple(sorted(set(values)))


IdentifierSet = Annotated[tuple[Identifier, ...], AfterValidator(_identifier_set)]


class RecordSplit(DecisionEvent):
    """``moved`` and ``kept`` are different people (``decisions.Split``)."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.RecordSplit"

    decision_id: DecisionId
    citizen_id: CitizenId
    merge_id: MergeId | None = None
    moved: IdentifierSet
    kept: IdentifierSet
    office: OfficeCode
    reason: ReasonCode
    officer_id: NonEmptyStr

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        """The registry refuses a split with an identifier on both sides: refuse it before it is published."""
        if set(self.moved) & set(self.kept):
            raise ValueError("an identifier cannot be on both sides of a split")
        return self


# --- figures and the access log -------------------------------------------------------------------


class CountDimension(enum.StrEnum):
    """``id.go.kemlu.bus.registry.v1.CountDimension``."""

    OFFICE = "OFFICE"
    COUNTRY = "COUNTRY"
    TOTAL = "TOTAL"


_COUNTRY = re.compile(r"[A-Z]{2}")


class OfficeCountModel(ViewModel):
    """``OfficeCount``: an absolute figure of citizens abroad on ``registry.counts``."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.OfficeCount"
    TOPIC: ClassVar[str] = "registry.counts"

    dimension: CountDimension
    key: str
    citizens: Count
    as_of: Timestamp

    @model_validator(mode="after")
    def _key_fits_dimension(self) -> Self:
        """The key is a known office, a country code or ``abroad``, as the dimension says."""
        fits = {
            CountDimension.OFFICE: is_known_office(self.key),
            CountDimension.COUNTRY: _COUNTRY.fullmatch(self.key) is not None,
            CountDimension.TOTAL: self.key == TOTAL_KEY,
        }[self.dimension]
        if not fits:
            raise ValueError(f"key does not fit dimension {self.dimension.value}")
        return self

    @property
    def record_key(self) -> str:
        """The Kafka record key: ``office:<code>``, ``country:<ISO>`` or ``abroad``."""
        return figure_key(self.dimension, self.key)


def figure_key(dimension: CountDimension, code: str = "") -> str:
    """The record key of a figure on ``registry.counts``: ``office:<code>``, ``country:<ISO>``, ``abroad``."""
    if dimension is CountDimension.TOTAL:
        return TOTAL_KEY
    return f"{dimension.value.lower()}:{code}"


def parse_figure_key(key: str) -> tuple[CountDimension, str]:
    """The dimension and code of a figure's record key (``figure_key`` reversed); ValueError otherwise."""
    if key == TOTAL_KEY:
        return CountDimension.TOTAL, TOTAL_KEY
    prefix, colon, code = key.partition(":")
    if colon and prefix in {"office", "country"}:
        return CountDimension(prefix.upper()), code
    raise ValueError(f"{key!r} is not a figure key (office:<code>, country:<ISO> or {TOTAL_KEY})")


class LookupKind(enum.StrEnum):
    """``id.go.kemlu.bus.registry.v1.LookupKind``: what a citizen was looked up by."""

    CITIZEN_ID = "CITIZEN_ID"
    NIK = "NIK"
    PASSPORT_NUMBER = "PASSPORT_NUMBER"


class AccessPurpose(enum.StrEnum):
    """``id.go.kemlu.bus.registry.v1.AccessPurpose``; the reader maps symbols added later to OTHER."""

    CONSULAR_SERVICE = "CONSULAR_SERVICE"
    CITIZEN_PROTECTION = "CITIZEN_PROTECTION"
    PASSPORT_SERVICE = "PASSPORT_SERVICE"
    AUDIT = "AUDIT"
    OTHER = "OTHER"


class RecordAccessedModel(ViewModel):
    """``RecordAccessed``: one lookup of a person, on ``registry.access``; no personal data."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.RecordAccessed"
    TOPIC: ClassVar[str] = "registry.access"

    access_id: NonEmptyStr
    requested_by: NonEmptyStr
    office: OfficeCode
    accessed_at: Timestamp
    citizen_id: CitizenId | None = None
    lookup: LookupKind
    purpose: AccessPurpose
    found: bool

    @model_validator(mode="after")
    def _found_names_the_record(self) -> Self:
        """``found`` and ``citizen_id`` say the same thing, so an auditor can trust either."""
        if self.found != (self.citizen_id is not None):
            raise ValueError("citizen_id is set exactly when a record was found")
        return self
