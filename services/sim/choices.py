"""Weighted choices the simulated life-cycles draw from: channels, purposes, categories, outcomes.

Each table is ``(items, cumulative weights)`` ready for ``random.choices``; weights are plausible
shapes, not statistics.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Final, TypeVar

from services.contracts.citizen import StayPurpose
from services.contracts.common import Channel
from services.contracts.passport import CancellationReason, PassportService, PaymentMethod
from services.contracts.protection import CaseAction as A
from services.contracts.protection import CaseCategory as C
from services.contracts.protection import CaseOutcome as O
from services.contracts.protection import EscalationLevel, Urgency
from services.sim.data import MIGRANT_COUNTRIES

T = TypeVar("T")
Table = tuple[list[T], list[float]]


def table(weights: Mapping[T, float]) -> Table[T]:
    """Items and cumulative weights for ``random.choices(items, cum_weights=...)``."""
    return list(weights), list(itertools.accumulate(weights.values()))


# -- citizens ---------------------------------------------------------------------------------------
STAY_CHANNELS: Final = table(
    {Channel.APP: 45, Channel.WEB: 30, Channel.WALK_IN: 15, Channel.WHATSAPP: 5, Channel.EMAIL: 5}
)
#: Channels where an officer keys the data in (so the event carries an officer_id).
STAFF_CHANNELS: Final = frozenset({Channel.WALK_IN, Channel.WHATSAPP, Channel.EMAIL})
SELF_CHANNELS: Final = (Channel.APP, Channel.APP, Channel.WEB, Channel.WHATSAPP)

MIGRANT_PURPOSES: Final = table(
    {
        StayPurpose.WORK: 72,
        StayPurpose.FAMILY: 10,
        StayPurpose.STUDY: 5,
        StayPurpose.TOURISM: 6,
        StayPurpose.BUSINESS: 3,
        StayPurpose.RELIGIOUS: 2,
        StayPurpose.OTHER: 2,
    }
)
OTHER_PURPOSES: Final = table(
    {
        StayPurpose.STUDY: 30,
        StayPurpose.WORK: 25,
        StayPurpose.FAMILY: 20,
        StayPurpose.TOURISM: 10,
        StayPurpose.BUSINESS: 9,
        StayPurpose.RELIGIOUS: 2,
        StayPurpose.OTHER: 4,
    }
)
MIGRANT_JOBS: Final = (
    "domestic worker", "domestic worker", "caregiver", "caregiver", "factory worker", "plantation worker",
    "construction worker", "fishing crew", "restaurant worker", "driver", "cleaner", "nurse",
)  # fmt: skip
PROFESSIONAL_JOBS: Final = (
    "engineer", "chef", "nurse", "lecturer", "IT professional", "hotel staff", "seafarer", "researcher",
    "accountant", "spa therapist",
)  # fmt: skip
PURPOSE_OCCUPATION: Final = {
    StayPurpose.STUDY: "student",
    StayPurpose.OFFICIAL: "civil servant",
    StayPurpose.BUSINESS: "entrepreneur",
}
STREETS: Final = ("Residence", "Apartments", "Garden", "Park", "Court", "Heights", "Villa", "Tower")

# -- passports --------------------------------------------------------------------------------------
#: Services for someone who already holds a passport (a first passport is always NEW).
SERVICES: Final = table(
    {
        PassportService.RENEWAL: 80,
        PassportService.REPLACEMENT_LOST: 11,
        PassportService.REPLACEMENT_DAMAGED: 7,
        PassportService.OTHER: 2,
    }
)
BOOKING_CHANNELS: Final = table({Channel.APP: 50, Channel.WEB: 35, Channel.WHATSAPP: 10, Channel.WALK_IN: 5})
CANCEL_REASONS: Final = table(
    {
        CancellationReason.CITIZEN_REQUEST: 50,
        CancellationReason.NO_SHOW: 35,
        CancellationReason.DUPLICATE: 8,
        CancellationReason.OFFICE_CLOSED: 5,
        CancellationReason.OTHER: 2,
    }
)
PAYMENT_METHODS: Final = table(
    {
        PaymentMethod.CARD: 40,
        PaymentMethod.CASH: 25,
        PaymentMethod.BANK_TRANSFER: 25,
        PaymentMethod.QRIS: 8,
        PaymentMethod.OTHER: 2,
    }
)
#: Where cross-border QRIS payments work; elsewhere a QRIS draw becomes a card payment.
QRIS_COUNTRIES: Final = frozenset({"MY", "SG", "TH", "JP"})

# -- protection -------------------------------------------------------------------------------------
CASE_CHANNELS: Final = table(
    {Channel.WALK_IN: 30, Channel.WHATSAPP: 30, Channel.EMAIL: 10, Channel.SOCIAL_MEDIA: 10, Channel.APP: 20}
)
_HIGH: Final = {Urgency.LOW: 5, Urgency.MEDIUM: 20, Urgency.HIGH: 45, Urgency.CRITICAL: 30}
_MID: Final = {Urgency.LOW: 15, Urgency.MEDIUM: 50, Urgency.HIGH: 30, Urgency.CRITICAL: 5}
_LOW: Final = {Urgency.LOW: 50, Urgency.MEDIUM: 40, Urgency.HIGH: 10}
URGENCY: Final[dict[C, Table[Urgency]]] = {
    category: table(_HIGH if category in {C.DEATH, C.TRAFFICKING, C.MISSING_PERSON, C.DISASTER_EVACUATION}
                    else _LOW if category in {C.LOST_DOCUMENTS, C.OTHER, C.SCAM} else _MID)
    for category in C
}  # fmt: skip

_BASE_ACTIONS: Final = {
    A.CONTACTED_CITIZEN: 40,
    A.CONTACTED_AUTHORITIES: 15,
    A.CONSULAR_VISIT: 10,
    A.OTHER: 5,
}
_EXTRA_ACTIONS: Final[dict[C, dict[A, float]]] = {
    C.LABOUR_DISPUTE: {A.CONTACTED_EMPLOYER: 40, A.LEGAL_AID: 15, A.SHELTER: 10},
    C.UNPAID_WAGES: {A.CONTACTED_EMPLOYER: 50, A.LEGAL_AID: 15},
    C.TRAFFICKING: {A.SHELTER: 30, A.LEGAL_AID: 20, A.REPATRIATION_ARRANGED: 20, A.CONTACTED_AUTHORITIES: 30},
    C.DETENTION: {A.CONSULAR_VISIT: 40, A.LEGAL_AID: 30, A.CONTACTED_AUTHORITIES: 25},
    C.DEATH: {A.REPATRIATION_ARRANGED: 50, A.CONTACTED_EMPLOYER: 15, A.CONTACTED_AUTHORITIES: 25},
    C.ILLNESS: {A.MEDICAL_AID: 45, A.REPATRIATION_ARRANGED: 10},
    C.ACCIDENT: {A.MEDICAL_AID: 35, A.CONTACTED_EMPLOYER: 10},
    C.STRANDED: {A.SHELTER: 25, A.REPATRIATION_ARRANGED: 25},
    C.DOMESTIC_VIOLENCE: {A.SHELTER: 40, A.LEGAL_AID: 20, A.CONTACTED_EMPLOYER: 10},
    C.IMMIGRATION_VIOLATION: {A.CONSULAR_VISIT: 25, A.REPATRIATION_ARRANGED: 25, A.LEGAL_AID: 10},
    C.SCAM: {A.CONTACTED_AUTHORITIES: 30, A.SHELTER: 10, A.REPATRIATION_ARRANGED: 10},
    C.DISASTER_EVACUATION: {A.SHELTER: 30, A.REPATRIATION_ARRANGED: 30},
    C.MISSING_PERSON: {A.CONTACTED_AUTHORITIES: 45, A.CONTACTED_EMPLOYER: 10},
}
ACTIONS: Final[dict[C, Table[A]]] = {c: table({**_BASE_ACTIONS, **_EXTRA_ACTIONS.get(c, {})}) for c in C}

_DEFAULT_OUTCOMES: Final = {
    O.RESOLVED: 70,
    O.REFERRED: 8,
    O.UNREACHABLE: 8,
    O.WITHDRAWN: 6,
    O.REPATRIATED: 6,
    O.OTHER: 2,
}
_OUTCOME_BY_CATEGORY: Final[dict[C, dict[O, float]]] = {
    C.DEATH: {O.DECEASED_REPATRIATED: 80, O.RESOLVED: 15, O.OTHER: 5},
    C.TRAFFICKING: {O.REPATRIATED: 50, O.REFERRED: 25, O.RESOLVED: 20, O.UNREACHABLE: 5},
    C.SCAM: {O.REPATRIATED: 40, O.RESOLVED: 40, O.UNREACHABLE: 10, O.WITHDRAWN: 10},
    C.STRANDED: {O.REPATRIATED: 60, O.RESOLVED: 35, O.UNREACHABLE: 5},
    C.IMMIGRATION_VIOLATION: {O.REPATRIATED: 55, O.RESOLVED: 35, O.REFERRED: 10},
    C.DISASTER_EVACUATION: {O.REPATRIATED: 70, O.RESOLVED: 30},
}
OUTCOMES: Final[dict[C, Table[O]]] = {c: table(_OUTCOME_BY_CATEGORY.get(c, _DEFAULT_OUTCOMES)) for c in C}

#: Categories where PTRI ASEAN raises a case with the regional mechanisms (e.g. online-scam compounds).
REGIONAL: Final = frozenset({C.TRAFFICKING, C.SCAM, C.DETENTION, C.IMMIGRATION_VIOLATION})
LEVELS: Final = (
    EscalationLevel.MISSION_HEAD,
    EscalationLevel.PWNI_DIRECTORATE,
    EscalationLevel.PWNI_DIRECTORATE,
    EscalationLevel.PWNI_DIRECTORATE,
    EscalationLevel.MINISTER,
)
#: What the directorate (or the minister's office) does on an escalated case.
CENTRAL_ACTIONS: Final = (A.CONTACTED_AUTHORITIES, A.REPATRIATION_ARRANGED, A.LEGAL_AID, A.OTHER)
ESCALATION_REASONS: Final = (
    "CRITICAL_URGENCY",
    "EMPLOYER_NONCOOPERATION",
    "MULTIPLE_VICTIMS",
    "MEDIA_ATTENTION",
)
DEATH_ESCALATION_REASONS: Final = ("DEATH_REPATRIATION", "FAMILY_REQUEST", "CAUSE_OF_DEATH_UNCLEAR")
REOPEN_REASONS: Final = ("NEW_INFORMATION", "CITIZEN_REQUEST", "EMPLOYER_DEFAULTED", "COURT_DATE_SET")
TRANSFER_REASONS: Final = ("SUBJECT_MOVED", "JURISDICTION", "WORKSITE_IN_OTHER_DISTRICT")
#: Case notes are personal data (they live in ``personal.notes``); these are generic on purpose.
NOTES: Final[dict[A, tuple[str, ...]]] = {
    A.CONTACTED_CITIZEN: ("Reached the subject by phone; condition stable.", "Subject asked for a callback."),
    A.CONTACTED_EMPLOYER: (
        "Employer agreed to a meeting.",
        "Employer disputes the claim; documents requested.",
    ),
    A.CONTACTED_AUTHORITIES: ("Police report filed.", "Immigration authorities confirmed the detention."),
    A.LEGAL_AID: ("Retained lawyer briefed.", "Hearing scheduled; interpreter arranged."),
    A.SHELTER: ("Subject moved to the mission shelter.",),
    A.CONSULAR_VISIT: ("Visited the subject; needs noted.", "Consular visit at the detention centre."),
    A.MEDICAL_AID: ("Hospital bill guarantee issued.", "Subject admitted for treatment."),
    A.REPATRIATION_ARRANGED: ("Flight booked; travel document (SPLP) issued.", "Family informed of arrival."),
    A.OTHER: ("File reviewed.",),
}

_SCAM_HUBS: Final = frozenset({"KH", "MM", "LA", "PH"})
_CATEGORY_MIX: Final[dict[str, dict[C, float]]] = {
    "migrant": {
        C.LABOUR_DISPUTE: 16, C.UNPAID_WAGES: 18, C.TRAFFICKING: 5, C.DETENTION: 8, C.DEATH: 5,
        C.ILLNESS: 8, C.ACCIDENT: 5, C.STRANDED: 4, C.LOST_DOCUMENTS: 7, C.DOMESTIC_VIOLENCE: 6,
        C.IMMIGRATION_VIOLATION: 10, C.SCAM: 3, C.DISASTER_EVACUATION: 0.5, C.MISSING_PERSON: 2, C.OTHER: 2,
    },
    "scam": {
        C.SCAM: 35, C.TRAFFICKING: 25, C.DETENTION: 10, C.IMMIGRATION_VIOLATION: 10, C.STRANDED: 6,
        C.LOST_DOCUMENTS: 4, C.ILLNESS: 3, C.DEATH: 2, C.MISSING_PERSON: 3, C.OTHER: 2,
    },
    "other": {
        C.LOST_DOCUMENTS: 20, C.ILLNESS: 12, C.ACCIDENT: 10, C.DETENTION: 8, C.STRANDED: 10, C.SCAM: 10,
        C.DEATH: 6, C.DOMESTIC_VIOLENCE: 5, C.IMMIGRATION_VIOLATION: 6, C.LABOUR_DISPUTE: 4,
        C.DISASTER_EVACUATION: 2, C.MISSING_PERSON: 4, C.OTHER: 3,
    },
}  # fmt: skip
_CATEGORY_TABLES: Final = {profile: table(mix) for profile, mix in _CATEGORY_MIX.items()}


def categories(country: str) -> Table[C]:
    """The case-category mix for ``country``: online-scam hubs, migrant-worker destinations, the rest."""
    if country in _SCAM_HUBS:
        return _CATEGORY_TABLES["scam"]
    return _CATEGORY_TABLES["migrant" if country in MIGRANT_COUNTRIES else "other"]
