"""``observe``: the one place that reads bus payloads for the registry and turns them into Observations.

Everything downstream (resolver, record fold, views) works on Observations only, so a new event type or a
new contract revision changes this module and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date

from services.bus.events import BusEvent
from services.contracts.citizen import Departed, DetailsChanged, ReturnedHome, StayReported
from services.contracts.common import Personal
from services.contracts.passport import (
    ApplicationSubmitted,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    BiometricsCaptured,
    Collected,
    PassportPrinted,
    PaymentReceived,
    ReadyForPickup,
)
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
from services.registry.facts import (
    PERSONAL_FIELDS,
    CaseFact,
    CaseStatus,
    Observation,
    PassportHeld,
    Status,
    StayReport,
)
from services.registry.identifiers import (
    Hasher,
    app_identifier,
    case_identifier,
    nik_identifier,
    normalise_passport,
    passport_identifier,
    ref_identifier,
    weak_key,
)

__all__ = ["HOME_COUNTRY", "observe"]

HOME_COUNTRY = "ID"

# Listed by class rather than by topic base class: an event type added later is ignored until it is read here.
_CitizenPayload = StayReported | DetailsChanged | Departed | ReturnedHome
_PassportPayload = (
    AppointmentBooked
    | AppointmentCancelled
    | AppointmentRescheduled
    | ApplicationSubmitted
    | BiometricsCaptured
    | PaymentReceived
    | PassportPrinted
    | ReadyForPickup
    | Collected
)
_ProtectionPayload = (
    HotlineCallReceived
    | CaseOpened
    | CaseUpdated
    | CaseAssigned
    | CaseTransferred
    | CaseEscalated
    | CaseClosed
    | CaseReopened
)


@dataclass
class _Parts:
    """What one event type contributes besides the subject's personal data (filled per type)."""

    identifiers: set[str]
    subject: Personal | None = None
    residence: dict[str, str | None] = field(default_factory=dict)
    status: Status | None = None
    stay: StayReport | None = None
    printing: tuple[str, date, date] | None = None
    """Issuing office, issue and expiry date of a printed passport (whose number is in the subject)."""
    case: CaseFact | None = None


def observe(event: BusEvent, *, hasher: Hasher) -> Observation | None:
    """The registry's view of one bus event; None for event types the registry does not follow."""
    payload = event.payload
    if isinstance(payload, _CitizenPayload):
        parts = _citizen(payload)
    elif isinstance(payload, _PassportPayload):
        parts = _passport(payload)
    elif isinstance(payload, _ProtectionPayload):
        parts = _protection(payload)
    else:
        return None
    personal: dict[str, str] = {}
    weak: set[str] = set()
    passport: PassportHeld | None = None
    subject = parts.subject
    if subject is not None:
        personal = _personal_facts(subject)
        if subject.nik:
            parts.identifiers.add(nik_identifier(subject.nik, hasher))
        if subject.passport_number and subject.passport_number.strip():
            identifier = passport_identifier(subject.passport_number, hasher)
            parts.identifiers.add(identifier)
            office, issued, expires = parts.printing or (None, None, None)
            passport = PassportHeld(
                number=normalise_passport(subject.passport_number),
                identifier=identifier,
                issuing_office=office,
                issue_date=issued,
                expiry_date=expires,
            )
        if subject.full_name and subject.date_of_birth and subject.place_of_birth:
            key = weak_key(subject.full_name, subject.date_of_birth, subject.place_of_birth, hasher)
            if key is not None:
                weak.add(key)
    return Observation(
        event_id=event.id,
        kind=type(payload).SCHEMA.rsplit(".", 1)[-1],
        source=event.envelope.source,
        office=payload.office,
        time=event.envelope.time.astimezone(UTC),
        identifiers=frozenset(parts.identifiers),
        weak_keys=frozenset(weak),
        personal=personal,
        residence=parts.residence,
        status=parts.status,
        stay=parts.stay,
        passport=passport,
        case=parts.case,
    )


def _personal_facts(subject: Personal) -> dict[str, str]:
    """The kept personal fields that are set and not blank, as text (dates ISO, enums by symbol)."""
    facts: dict[str, str] = {}
    for name in PERSONAL_FIELDS:
        value = getattr(subject, name)
        if value is None:
            continue
        text = value.isoformat() if name == "date_of_birth" else str(value)
        if text.strip():
            facts[name] = text
    return facts


def _citizen(payload: _CitizenPayload) -> _Parts:
    """Citizen events: the office reference always; residence and status from what the event means."""
    office = payload.office
    parts = _Parts({ref_identifier(office, payload.office_record_ref)}, subject=payload.personal)
    if isinstance(payload, StayReported):
        parts.status = Status.ABROAD
        parts.residence = {"country": payload.country, "city": payload.city, "office": office}
        parts.stay = StayReport(
            office=office,
            country=payload.country,
            city=payload.city,
            arrival_date=payload.arrival_date,
            office_record_ref=payload.office_record_ref,
        )
    elif isinstance(payload, DetailsChanged):
        parts.status = Status.ABROAD
        # Only a change of place says where the stay is registered now; a new phone number does not.
        if payload.country is not None or payload.city is not None:
            parts.residence = {"office": office}
            if payload.country is not None:
                parts.residence["country"] = payload.country
            if payload.city is not None:
                parts.residence["city"] = payload.city
    elif isinstance(payload, Departed):
        home = payload.destination_country == HOME_COUNTRY
        parts.status = Status.RETURNED if home else Status.ABROAD
        # Gone from this office: the new country is known, the city and registering office are not (yet).
        parts.residence = {"country": payload.destination_country, "city": None, "office": None}
    elif isinstance(payload, ReturnedHome):
        parts.status = Status.RETURNED
        parts.residence = {"country": HOME_COUNTRY, "city": None, "office": None}
    return parts


def _passport(payload: _PassportPayload) -> _Parts:
    """Passport events: the application id ties later events without personal data to the applicant."""
    parts = _Parts({app_identifier(payload.application_id)})
    if isinstance(payload, AppointmentBooked | ApplicationSubmitted | PassportPrinted):
        parts.subject = payload.personal
    if isinstance(payload, PassportPrinted):
        parts.printing = (payload.office, payload.issue_date, payload.expiry_date)
    return parts


def _protection(payload: _ProtectionPayload) -> _Parts:
    """Protection events: the case id; the personal part only when it is about the case's subject."""
    case_id, office = payload.case_id, payload.office
    parts = _Parts({case_identifier(case_id)})
    if isinstance(payload, HotlineCallReceived):
        # A caller speaking for someone else is not the subject: their data must not land on the subject.
        parts.subject = payload.personal if payload.caller_is_subject else None
        parts.case = CaseFact(case_id, CaseStatus.OPEN, office)
    elif isinstance(payload, CaseOpened):
        parts.subject = payload.personal
        parts.case = CaseFact(case_id, CaseStatus.OPEN, office)
    elif isinstance(payload, CaseUpdated):
        parts.subject = payload.personal
    elif isinstance(payload, CaseClosed):
        parts.case = CaseFact(case_id, CaseStatus.CLOSED, office)
    elif isinstance(payload, CaseReopened):
        parts.case = CaseFact(case_id, CaseStatus.OPEN, office)
    elif isinstance(payload, CaseTransferred):
        parts.case = CaseFact(case_id, None, payload.to_office)
    return parts
