"""The protection-case view's contracts: the case (``protection.cases``), its service-level breaches
(``protection.overdue``), its figures (``protection.stats``) and who looked a case up (``protection.access``),
all ``VIEW_MODELS``.

Breaches are views, not events: only the case view may say a case is overdue, so no producer can send one
(``services.bus.events`` accepts none); they are published like every view (same codec, CloudEvents headers),
``ce_source`` the protection desk (``kemlu-pwni``) and, once the runtime passes it on, ``ce_id`` their
derived id. Each model mirrors its ``.avsc`` in ``schemas/protection/v1`` (``tests/unit/test_contracts.py``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, ClassVar, Self

from pydantic import Field, model_validator

from services.contracts.base import ContractModel
from services.contracts.common import (
    AVRO_INT_MAX,
    Channel,
    CountryCode,
    NonEmptyStr,
    OfficeCode,
    Personal,
    ReasonCode,
    matching,
)
from services.contracts.protection import CaseAction, CaseCategory, CaseOutcome, EscalationLevel, Urgency
from services.contracts.protection_items import NAMESPACE, CaseEventType
from services.contracts.registry import AccessPurpose
from services.contracts.registry_fields import CitizenId, Count, Timestamp, ViewModel

__all__ = [
    "ACCESS_TOPIC",
    "CASES_TOPIC",
    "OVERDUE_TOPIC",
    "STATS_TOPIC",
    "Breach",
    "CaseAccessedModel",
    "CaseEntry",
    "CaseNote",
    "CaseOverdueClearedModel",
    "CaseOverdueModel",
    "CasePersonal",
    "CaseState",
    "Handover",
    "ProtectionCaseModel",
    "ProtectionFigure",
    "ProtectionStatsModel",
    "RefusalReason",
    "RefusedEntry",
]

CASES_TOPIC = "protection.cases"
OVERDUE_TOPIC = "protection.overdue"
STATS_TOPIC = "protection.stats"
ACCESS_TOPIC = "protection.access"
Uuid = Annotated[
    str,
    matching(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "id must be a UUID in lower-case hex"
    ),
]
Recurrence = Annotated[int, Field(ge=0, le=AVRO_INT_MAX)]


class CaseState(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.CaseState``: where a case stands in the view."""

    NOT_OPENED = "NOT_OPENED"
    CALLED = "CALLED"
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class RefusalReason(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.RefusalReason``: why an event of a case was not applied."""

    NEVER_OPENED = "NEVER_OPENED"
    ALREADY_OPEN = "ALREADY_OPEN"
    CASE_CLOSED = "CASE_CLOSED"
    NOT_OWNER = "NOT_OWNER"
    NOT_CLOSED = "NOT_CLOSED"
    OTHER = "OTHER"


class ProtectionFigure(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.ProtectionFigure``: which figure a stats record counts."""

    OPEN_CASES = "OPEN_CASES"
    OVERDUE_CASES = "OVERDUE_CASES"
    OPENED = "OPENED"
    CLOSED = "CLOSED"
    TIME_TO_CLOSE = "TIME_TO_CLOSE"
    HOTLINE_CALLS = "HOTLINE_CALLS"


class Handover(ContractModel):
    """One applied transfer of the case."""

    event_id: NonEmptyStr
    time: Timestamp
    from_office: OfficeCode
    to_office: OfficeCode
    reason: ReasonCode
    officer_id: NonEmptyStr


class CaseEntry(ContractModel):
    """One applied event of the case."""

    event_id: NonEmptyStr
    type: CaseEventType
    source: OfficeCode
    office: OfficeCode
    time: Timestamp
    officer_id: NonEmptyStr | None = None
    category: CaseCategory | None = None
    urgency: Urgency | None = None
    call_id: NonEmptyStr | None = None
    to_office: OfficeCode | None = None
    reason: ReasonCode | None = None
    level: EscalationLevel | None = None
    action: CaseAction | None = None
    outcome: CaseOutcome | None = None


class RefusedEntry(ContractModel):
    """One event of the case not applied, with the reason."""

    event_id: NonEmptyStr
    type: CaseEventType
    source: OfficeCode
    office: OfficeCode
    time: Timestamp
    refusal: RefusalReason


class Breach(ContractModel):
    """One service-level breach of the case and, once it ended, what ended it."""

    overdue_id: Uuid
    started_by: NonEmptyStr
    deadline: Timestamp
    recurrence: Recurrence
    detected_at: Timestamp
    cleared_id: Uuid | None = None
    cleared_by: NonEmptyStr | None = None
    cleared_at: Timestamp | None = None

    @model_validator(mode="after")
    def _cleared_whole(self) -> Self:
        """A clearing names its id, its event and that event's time, or nothing."""
        parts = (self.cleared_id, self.cleared_by, self.cleared_at)
        if any(part is None for part in parts) and any(part is not None for part in parts):
            raise ValueError("cleared_id, cleared_by and cleared_at are set together")
        return self


class CaseNote(ContractModel):
    """A note from one applied event (personal data: it lives inside ``CasePersonal``)."""

    event_id: NonEmptyStr
    time: Timestamp
    text: str


class CasePersonal(ContractModel):
    """All personal data of the case view."""

    subject: Personal | None = None
    notes: tuple[CaseNote, ...]


class ProtectionCaseModel(ViewModel):
    """``ProtectionCase``: the live view of one case on ``protection.cases``."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.ProtectionCase"
    TOPIC: ClassVar[str] = CASES_TOPIC

    case_id: NonEmptyStr
    status: CaseState
    office: OfficeCode | None = None
    category: CaseCategory | None = None
    urgency: Urgency | None = None
    country: CountryCode | None = None
    channel: Channel | None = None
    officer_id: NonEmptyStr | None = None
    escalation: EscalationLevel | None = None
    citizen_id: CitizenId | None = None
    opened_at: Timestamp | None = None
    opened_by: OfficeCode | None = None
    closed_at: Timestamp | None = None
    outcome: CaseOutcome | None = None
    last_action_id: NonEmptyStr | None = None
    last_action_at: Timestamp | None = None
    deadline: Timestamp | None = None
    overdue: bool
    overdue_id: Uuid | None = None
    handovers: tuple[Handover, ...]
    history: tuple[CaseEntry, ...]
    refused: tuple[RefusedEntry, ...]
    hotline_call_ids: tuple[NonEmptyStr, ...]
    breaches: tuple[Breach, ...]
    personal: CasePersonal | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """An owner once anything applied; a close time and outcome exactly when closed; the overdue id
        exactly when overdue, naming the breach in progress.
        """
        if (self.office is None) != (self.status is CaseState.NOT_OPENED):
            raise ValueError("a case has a holding office once anything of it was applied")
        closed = self.status is CaseState.CLOSED
        if (self.closed_at is not None) != closed or (self.outcome is not None) != closed:
            raise ValueError("closed_at and outcome are set exactly when the case is CLOSED")
        if (self.overdue_id is not None) != self.overdue:
            raise ValueError("overdue_id is set exactly when the case is overdue")
        open_breaches = [b.overdue_id for b in self.breaches if b.cleared_id is None]
        if open_breaches != ([self.overdue_id] if self.overdue else []):
            raise ValueError("the breach in progress is the one overdue_id names, and only one is")
        return self


class CaseOverdueModel(ViewModel):
    """``CaseOverdue``: one breach of a case's service level, on ``protection.overdue``."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.CaseOverdue"
    TOPIC: ClassVar[str] = OVERDUE_TOPIC

    overdue_id: Uuid
    case_id: NonEmptyStr
    office: OfficeCode
    status: CaseState
    category: CaseCategory
    urgency: Urgency
    started_by: NonEmptyStr
    last_action_at: Timestamp
    deadline: Timestamp
    recurrence: Recurrence
    detected_at: Timestamp

    @property
    def event_id(self) -> str:
        """The id consumers deduplicate on (the record's ``ce_id`` once the runtime passes it on)."""
        return self.overdue_id

    @model_validator(mode="after")
    def _under_service_level(self) -> Self:
        """Only a called or open case has a service level; a breach comes after its deadline."""
        if self.status not in {CaseState.CALLED, CaseState.OPEN}:
            raise ValueError("only a CALLED or OPEN case can be overdue")
        if not self.last_action_at < self.deadline < self.detected_at:
            raise ValueError("last_action_at < deadline < detected_at")
        return self


class CaseOverdueClearedModel(ViewModel):
    """``CaseOverdueCleared``: the end of one breach, on ``protection.overdue``."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.CaseOverdueCleared"
    TOPIC: ClassVar[str] = OVERDUE_TOPIC

    cleared_id: Uuid
    overdue_id: Uuid
    case_id: NonEmptyStr
    office: OfficeCode
    status: CaseState
    deadline: Timestamp
    cleared_by: NonEmptyStr
    cleared_at: Timestamp

    @property
    def event_id(self) -> str:
        """The id consumers deduplicate on (the record's ``ce_id`` once the runtime passes it on)."""
        return self.cleared_id


_DIMENSIONS: dict[ProtectionFigure, tuple[str, ...]] = {
    ProtectionFigure.OPEN_CASES: ("office", "category", "urgency"),
    ProtectionFigure.OVERDUE_CASES: ("office", "urgency"),
    ProtectionFigure.OPENED: ("day", "office"),
    ProtectionFigure.CLOSED: ("day", "office"),
    ProtectionFigure.TIME_TO_CLOSE: ("minutes",),
    ProtectionFigure.HOTLINE_CALLS: ("office", "hour"),
}
"""The dimensions each figure is set by, in the order its key spells them; the others are null."""


def _spelt(value: object) -> str:
    """A dimension as the key spells it: days ``yyyy-mm-dd``, hours ``yyyy-mm-ddThh``, symbols, numbers."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%dT%H}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


class ProtectionStatsModel(ViewModel):
    """``ProtectionStats``: one partition's absolute value of one figure."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.ProtectionStats"
    TOPIC: ClassVar[str] = STATS_TOPIC
    DIMENSIONS: ClassVar[dict[ProtectionFigure, tuple[str, ...]]] = _DIMENSIONS

    figure: ProtectionFigure
    office: OfficeCode | None = None
    category: CaseCategory | None = None
    urgency: Urgency | None = None
    day: date | None = None
    hour: Timestamp | None = None
    minutes: Count | None = None
    partition: Annotated[int, Field(ge=0, le=AVRO_INT_MAX)]
    count: Count
    as_of: Timestamp

    @model_validator(mode="after")
    def _dimensions_of_its_figure(self) -> Self:
        """Exactly the figure's dimensions are set; an hour starts on the hour."""
        wanted = _DIMENSIONS[self.figure]
        for name in ("office", "category", "urgency", "day", "hour", "minutes"):
            if (getattr(self, name) is not None) != (name in wanted):
                raise ValueError(f"{self.figure.value} is {'set' if name in wanted else 'not set'} by {name}")
        if self.hour is not None and self.hour != self.hour.replace(minute=0, second=0, microsecond=0):
            raise ValueError("hour must be the start of an hour")
        return self

    @property
    def group(self) -> str:
        """The key without the partition: what the figures of all partitions are summed by."""
        dims = (_spelt(getattr(self, name)) for name in _DIMENSIONS[self.figure])
        return "|".join((self.figure.value, *dims))

    @property
    def record_key(self) -> str:
        """The Kafka record key: the group and the partition."""
        return f"{self.group}|{self.partition}"


class CaseAccessedModel(ViewModel):
    """``CaseAccessed``: one lookup of a case whose answer shows personal data, on ``protection.access``.

    Not the registry's ``RecordAccessed``: that contract says which citizen was looked up and by what (its
    ``LookupKind`` has no case, and a nested type never changes across revisions here), and that a lookup
    found something exactly when it names a citizen, while a case may name none. The purposes are the
    registry's (``AccessPurpose``, the same symbols in this contract's namespace).
    """

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.CaseAccessed"
    TOPIC: ClassVar[str] = ACCESS_TOPIC

    access_id: Uuid
    requested_by: Annotated[str, Field(min_length=1, max_length=64)]
    office: OfficeCode
    accessed_at: Timestamp
    case_id: NonEmptyStr
    citizen_id: CitizenId | None = None
    purpose: AccessPurpose
    found: bool

    @model_validator(mode="after")
    def _citizen_of_a_found_case(self) -> Self:
        """Only a case that was found and shown names a citizen."""
        if self.citizen_id is not None and not self.found:
            raise ValueError("citizen_id is set only when the case was found")
        return self
