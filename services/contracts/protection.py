"""Events of the ``protection`` topic: protection cases (perlindungan WNI) from first call to closing.

Keyed by ``case_id``. Free-text ``reason`` fields are code-like on purpose: anything about the person
belongs in ``personal`` (encrypted per citizen), never in a field that stays readable forever.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from pydantic import ValidationInfo, field_validator

from services.contracts.base import EventModel
from services.contracts.common import Channel, CountryCode, NonEmptyStr, OfficeCode, Personal, ReasonCode

__all__ = [
    "CaseAction",
    "CaseAssigned",
    "CaseCategory",
    "CaseClosed",
    "CaseEscalated",
    "CaseOpened",
    "CaseOutcome",
    "CaseReopened",
    "CaseTransferred",
    "CaseUpdated",
    "EscalationLevel",
    "HotlineCallReceived",
    "ProtectionEvent",
    "Urgency",
]

_NAMESPACE = "id.go.kemlu.bus.protection.v1"


class CaseCategory(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.CaseCategory``; symbols added later read as OTHER."""

    LABOUR_DISPUTE = "LABOUR_DISPUTE"
    UNPAID_WAGES = "UNPAID_WAGES"
    TRAFFICKING = "TRAFFICKING"
    DETENTION = "DETENTION"
    DEATH = "DEATH"
    ILLNESS = "ILLNESS"
    ACCIDENT = "ACCIDENT"
    STRANDED = "STRANDED"
    LOST_DOCUMENTS = "LOST_DOCUMENTS"
    DOMESTIC_VIOLENCE = "DOMESTIC_VIOLENCE"
    IMMIGRATION_VIOLATION = "IMMIGRATION_VIOLATION"
    SCAM = "SCAM"
    DISASTER_EVACUATION = "DISASTER_EVACUATION"
    MISSING_PERSON = "MISSING_PERSON"
    OTHER = "OTHER"


class Urgency(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.Urgency``: no default, an unknown urgency must not be downgraded."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class CaseAction(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.CaseAction``; symbols added later read as OTHER."""

    CONTACTED_CITIZEN = "CONTACTED_CITIZEN"
    CONTACTED_EMPLOYER = "CONTACTED_EMPLOYER"
    CONTACTED_AUTHORITIES = "CONTACTED_AUTHORITIES"
    LEGAL_AID = "LEGAL_AID"
    SHELTER = "SHELTER"
    CONSULAR_VISIT = "CONSULAR_VISIT"
    MEDICAL_AID = "MEDICAL_AID"
    REPATRIATION_ARRANGED = "REPATRIATION_ARRANGED"
    OTHER = "OTHER"


class EscalationLevel(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.EscalationLevel``: no default, an unknown level is not a lower one."""

    MISSION_HEAD = "MISSION_HEAD"
    PWNI_DIRECTORATE = "PWNI_DIRECTORATE"
    MINISTER = "MINISTER"


class CaseOutcome(enum.StrEnum):
    """``id.go.kemlu.bus.protection.v1.CaseOutcome``; symbols added later read as OTHER."""

    RESOLVED = "RESOLVED"
    REPATRIATED = "REPATRIATED"
    REFERRED = "REFERRED"
    UNREACHABLE = "UNREACHABLE"
    DECEASED_REPATRIATED = "DECEASED_REPATRIATED"
    WITHDRAWN = "WITHDRAWN"
    OTHER = "OTHER"


class ProtectionEvent(EventModel):
    """An event of the protection topic."""

    TOPIC: ClassVar[str] = "protection"


class HotlineCallReceived(ProtectionEvent):
    """A call or message reached a protection hotline; ``line`` is the office's number, not the caller's."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.HotlineCallReceived"

    case_id: NonEmptyStr
    office: OfficeCode
    call_id: NonEmptyStr
    line: NonEmptyStr
    category: CaseCategory
    urgency: Urgency
    caller_is_subject: bool
    personal: Personal | None = None
    channel: Channel
    officer_id: NonEmptyStr | None = None


class CaseOpened(ProtectionEvent):
    """An office opened a protection case for a citizen."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CaseOpened"

    case_id: NonEmptyStr
    office: OfficeCode
    category: CaseCategory
    urgency: Urgency
    country: CountryCode
    personal: Personal
    hotline_call_id: NonEmptyStr | None = None
    channel: Channel
    officer_id: NonEmptyStr


class CaseUpdated(ProtectionEvent):
    """An office acted on a case; what it learnt about the person goes in ``personal`` (usually notes)."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CaseUpdated"

    case_id: NonEmptyStr
    office: OfficeCode
    action: CaseAction
    personal: Personal | None = None
    officer_id: NonEmptyStr


class CaseAssigned(ProtectionEvent):
    """A case was assigned to ``officer_id`` by ``assigned_by``."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CaseAssigned"

    case_id: NonEmptyStr
    office: OfficeCode
    officer_id: NonEmptyStr
    assigned_by: NonEmptyStr


class CaseTransferred(ProtectionEvent):
    """A case moved from ``office`` to ``to_office``."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CaseTransferred"

    case_id: NonEmptyStr
    office: OfficeCode
    to_office: OfficeCode
    reason: ReasonCode
    officer_id: NonEmptyStr

    @field_validator("to_office")
    @classmethod
    def _moves_elsewhere(cls, value: str, info: ValidationInfo) -> str:
        """A transfer to the same office would leave the case's owner ambiguous in the views."""
        if value == info.data.get("office"):
            raise ValueError("a case cannot be transferred to the office that holds it")
        return value


class CaseEscalated(ProtectionEvent):
    """A case was escalated to a higher level."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CaseEscalated"

    case_id: NonEmptyStr
    office: OfficeCode
    level: EscalationLevel
    reason: ReasonCode
    officer_id: NonEmptyStr


class CaseClosed(ProtectionEvent):
    """A case was closed with an outcome."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CaseClosed"

    case_id: NonEmptyStr
    office: OfficeCode
    outcome: CaseOutcome
    officer_id: NonEmptyStr


class CaseReopened(ProtectionEvent):
    """A closed case was reopened."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.CaseReopened"

    case_id: NonEmptyStr
    office: OfficeCode
    reason: ReasonCode
    officer_id: NonEmptyStr
