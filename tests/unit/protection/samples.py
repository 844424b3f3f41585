"""One hand-built record per protection view and internal model, every optional part filled, for the
contract tests (``tests/unit/test_contracts.py`` round-trips them and checks they cover every model).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.contracts.common import Channel, Personal, Sex
from services.contracts.protection import CaseAction, CaseCategory, CaseOutcome, EscalationLevel, Urgency
from services.contracts.protection_items import (
    CaseEvent,
    CaseEventType,
    CitizenLink,
    ProtectionItemKind,
    ProtectionItemModel,
)
from services.contracts.protection_views import (
    Breach,
    CaseAccessedModel,
    CaseEntry,
    CaseNote,
    CaseOverdueClearedModel,
    CaseOverdueModel,
    CasePersonal,
    CaseState,
    Handover,
    ProtectionCaseModel,
    ProtectionFigure,
    ProtectionStatsModel,
    RefusalReason,
    RefusedEntry,
)
from services.contracts.registry import AccessPurpose

WHEN = datetime(2025, 6, 2, 9, 30, 15, 123000, tzinfo=UTC)
NIK_ID = "nik:" + "ab" * 32
PASSPORT_ID = "passport:" + "cd" * 32
CITIZEN = "cit-0123456789abcdef0123"
OVERDUE = "9b2f6c1e-3d4a-5b6c-8d7e-0f1a2b3c4d5e"
CLEARED = "1c2d3e4f-5a6b-5c7d-8e9f-0a1b2c3d4e5f"
SUBJECT = Personal(
    full_name="Siti Rahmawati",
    date_of_birth=date(1990, 5, 17),
    sex=Sex.FEMALE,
    passport_number="X1234567",
    phone="+12025550123",
)


def view_samples() -> list[
    ProtectionCaseModel
    | CaseOverdueModel
    | CaseOverdueClearedModel
    | ProtectionStatsModel
    | CaseAccessedModel
]:
    """A case with every list filled, a breach, its clearing, a figure and a lookup of the case."""
    office, pwni = "kbri-kuala-lumpur", "kemlu-pwni"
    opened = CaseEntry(
        event_id="evt-1",
        type=CaseEventType.CASE_OPENED,
        source=office,
        office=office,
        time=WHEN,
        officer_id="officer-1",
        category=CaseCategory.UNPAID_WAGES,
        urgency=Urgency.HIGH,
        call_id="call-1",
    )
    escalated = CaseEntry(
        event_id="evt-2",
        type=CaseEventType.CASE_ESCALATED,
        source=office,
        office=office,
        time=WHEN + timedelta(hours=1),
        officer_id="officer-1",
        reason="no-response",
        level=EscalationLevel.PWNI_DIRECTORATE,
    )
    return [
        ProtectionCaseModel(
            case_id="case-2025-0001",
            status=CaseState.CLOSED,
            office=pwni,
            category=CaseCategory.UNPAID_WAGES,
            urgency=Urgency.HIGH,
            country="MY",
            channel=Channel.HOTLINE,
            officer_id="officer-2",
            escalation=EscalationLevel.PWNI_DIRECTORATE,
            citizen_id=CITIZEN,
            opened_at=WHEN,
            opened_by=office,
            closed_at=WHEN + timedelta(days=3),
            outcome=CaseOutcome.REPATRIATED,
            last_action_id="evt-4",
            last_action_at=WHEN + timedelta(days=3),
            deadline=None,
            overdue=False,
            overdue_id=None,
            handovers=(
                Handover(
                    event_id="evt-3",
                    time=WHEN + timedelta(days=1),
                    from_office=office,
                    to_office=pwni,
                    reason="REPATRIATED_FOLLOW_UP",
                    officer_id="officer-1",
                ),
            ),
            history=(
                opened,
                escalated,
                CaseEntry(
                    event_id="evt-4",
                    type=CaseEventType.CASE_UPDATED,
                    source=pwni,
                    office=pwni,
                    time=WHEN + timedelta(days=2),
                    officer_id="officer-2",
                    action=CaseAction.LEGAL_AID,
                ),
            ),
            refused=(
                RefusedEntry(
                    event_id="evt-5",
                    type=CaseEventType.CASE_CLOSED,
                    source=office,
                    office=office,
                    time=WHEN + timedelta(days=2),
                    refusal=RefusalReason.NOT_OWNER,
                ),
            ),
            hotline_call_ids=("call-1",),
            breaches=(
                Breach(
                    overdue_id=OVERDUE,
                    started_by="evt-2",
                    deadline=WHEN + timedelta(hours=9),
                    recurrence=0,
                    detected_at=WHEN + timedelta(hours=9, minutes=1),
                    cleared_id=CLEARED,
                    cleared_by="evt-3",
                    cleared_at=WHEN + timedelta(days=1),
                ),
            ),
            personal=CasePersonal(
                subject=SUBJECT, notes=(CaseNote(event_id="evt-4", time=WHEN, text="Safe at the shelter."),)
            ),
        ),
        CaseOverdueModel(
            overdue_id=OVERDUE,
            case_id="case-2025-0001",
            office=office,
            status=CaseState.OPEN,
            category=CaseCategory.UNPAID_WAGES,
            urgency=Urgency.HIGH,
            started_by="evt-2",
            last_action_at=WHEN + timedelta(hours=1),
            deadline=WHEN + timedelta(hours=9),
            recurrence=0,
            detected_at=WHEN + timedelta(hours=9, minutes=1),
        ),
        CaseOverdueClearedModel(
            cleared_id=CLEARED,
            overdue_id=OVERDUE,
            case_id="case-2025-0001",
            office=pwni,
            status=CaseState.OPEN,
            deadline=WHEN + timedelta(hours=9),
            cleared_by="evt-3",
            cleared_at=WHEN + timedelta(days=1),
        ),
        ProtectionStatsModel(
            figure=ProtectionFigure.OPEN_CASES,
            office=office,
            category=CaseCategory.TRAFFICKING,
            urgency=Urgency.CRITICAL,
            partition=4,
            count=2**33,
            as_of=WHEN,
        ),
        CaseAccessedModel(
            access_id="5f0c8a52-3c1e-4b7a-9d2e-6a1b0c9d8e7f",
            requested_by="officer-7",
            office=pwni,
            accessed_at=WHEN,
            case_id="case-2025-0001",
            citizen_id=CITIZEN,
            purpose=AccessPurpose.CITIZEN_PROTECTION,
            found=True,
        ),
    ]


def internal_samples() -> list[ProtectionItemModel]:
    """A hotline call by its subject with every optional field and personal data (links, the other
    branch, are round-tripped in ``tests/unit/protection/test_items.py``).
    """
    return [
        ProtectionItemModel(
            kind=ProtectionItemKind.CASE_EVENT,
            event=CaseEvent(
                event_id="1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
                type=CaseEventType.HOTLINE_CALL_RECEIVED,
                source="kemlu-pwni",
                time=WHEN,
                case_id="case-2025-0001",
                office="kemlu-pwni",
                identifiers=(PASSPORT_ID, NIK_ID),
                category=CaseCategory.TRAFFICKING,
                urgency=Urgency.CRITICAL,
                channel=Channel.WHATSAPP,
                call_id="call-1",
                caller_is_subject=True,
                officer_id="officer-9",
            ),
            personal=SUBJECT,
        )
    ]


def link_sample() -> ProtectionItemModel:
    """A citizen link (the branch ``internal_samples`` leaves out)."""
    return ProtectionItemModel(
        kind=ProtectionItemKind.CITIZEN_LINK,
        link=CitizenLink(citizen_id=CITIZEN, identifiers=(NIK_ID, PASSPORT_ID)),
    )
