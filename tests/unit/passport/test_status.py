"""The application status fold and the "is my passport ready?" answer: steps in order or refused with
their reason, nothing changed by an event applied twice, one notification per change, and an answer only
for whoever knows the birth date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bus.errors import BusError
from services.bus.keys import keyed_hash
from services.contracts.common import Channel, CurrencyCode, Personal
from services.contracts.passport import (
    ApplicationSubmitted,
    BiometricsCaptured,
    Collected,
    PassportKind,
    PassportPrinted,
    PassportService,
    PaymentMethod,
    PaymentReceived,
    ReadyForPickup,
)
from services.contracts.passport_booking import ActionRequired, ApplicationRefused, NotificationChannel
from services.passport.answer import expected_ready, status_answer
from services.passport.status import Application, ApplicationStatus, StatusEvent, StepRefused, apply_status

OFFICE = "kanim-surabaya"
APP = "app-1"
BORN = date(1990, 5, 17)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
PHONE = "+6281234567890"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CURRENCY: CurrencyCode = "IDR"


def pseudonym(value: str) -> str:
    """The bus's keyed hash with a test key."""
    return keyed_hash(value, b"test-citizen-key")


def steps(service: PassportService = PassportService.RENEWAL) -> list[object]:
    """The six steps of one application, in order."""
    return [
        ApplicationSubmitted(
            application_id=APP,
            office=OFFICE,
            service=service,
            passport_kind=PassportKind.ELECTRONIC,
            pages=48,
            personal=Personal(full_name="Siti Rahmawati", date_of_birth=BORN, phone=PHONE),
            officer_id="o1",
        ),
        BiometricsCaptured(application_id=APP, office=OFFICE, fingerprints=True, photo=True, officer_id="o1"),
        PaymentReceived(
            application_id=APP,
            office=OFFICE,
            amount_minor=65000000,
            currency=CURRENCY,
            receipt_ref="R1",
            method=PaymentMethod.QRIS,
        ),
        PassportPrinted(
            application_id=APP,
            office=OFFICE,
            printed_at=OFFICE,
            personal=Personal(passport_number="E1234567"),
            issue_date=date(2026, 3, 5),
            expiry_date=date(2036, 3, 5),
            officer_id="o2",
        ),
        ReadyForPickup(
            application_id=APP, office=OFFICE, pickup_from=date(2026, 3, 6), channel=Channel.WHATSAPP
        ),
        Collected(application_id=APP, office=OFFICE, collected_by_proxy=False, officer_id="o3"),
    ]


EXTRA = [
    ActionRequired(application_id=APP, office=OFFICE, action="BRING_BIRTH_CERTIFICATE"),
    ApplicationRefused(application_id=APP, office=OFFICE, reason="DOCUMENTS_INVALID", officer_id="o4"),
]


def event(index: int, payload: object, day: int = 0) -> StatusEvent:
    """An event with id ``e<index>`` at T0 plus ``day`` days."""
    return StatusEvent(f"e{index}", T0 + timedelta(days=day), payload)  # type: ignore[arg-type]


def fold(events: list[StatusEvent]) -> tuple[Application | None, list[str], int]:
    """The application after the events, the reasons of those refused, the notifications written."""
    app: Application | None = None
    refused: list[str] = []
    notes = 0
    for item in events:
        try:
            app, note = apply_status(app, item, pseudonym)
        except StepRefused as refusal:
            refused.append(refusal.reason)
        else:
            notes += note is not None
    return app, refused, notes


def oracle_status(kinds: list[tuple[int, int]]) -> tuple[str, int]:
    """(status, changes notified) by the README's rules, from (event id, kind) pairs: kinds 0-5 are the
    steps, 6 an action needed, 7 a refusal; a change before submission has nobody to notify.
    """
    names = [
        "SUBMITTED",
        "BIOMETRICS_CAPTURED",
        "PAYMENT_RECEIVED",
        "PRINTED",
        "READY_FOR_PICKUP",
        "COLLECTED",
    ]
    seen: set[int] = set()
    done, status, accepted = 0, "BOOKED", 0
    for event_id, kind in kinds:
        if event_id in seen:
            continue
        if status in {"REFUSED", "COLLECTED"}:
            continue
        if kind == 7:
            status = "REFUSED"
        elif kind == 6:
            if done == 0:
                continue
            status = "NEEDS_ACTION"
        elif kind == done:
            done, status = kind + 1, names[kind]
        else:
            continue
        seen.add(event_id)
        accepted += done > 0
    return status, accepted


class TestFold:
    def test_in_order_to_collected_with_a_notification_each(self) -> None:
        """The six steps in order end COLLECTED, each with one notification to the applicant's phone key."""
        app: Application | None = None
        for index, payload in enumerate(steps()):
            app, note = apply_status(app, event(index, payload, index), pseudonym)
            assert note is not None
            assert note.recipient_key == pseudonym(PHONE)
            assert note.channel is NotificationChannel.WHATSAPP
            assert note.template == f"passport.status.{app.status.lower()}"
            assert PHONE not in note.model_dump_json()
        assert app is not None
        assert app.status is ApplicationStatus.COLLECTED

    @pytest.mark.parametrize(
        ("before", "step", "why"),
        [
            (0, 1, "NOT_SUBMITTED"),
            (1, 3, "OUT_OF_ORDER"),
            (2, 1, "ALREADY_DONE"),
            (6, 5, "APPLICATION_CLOSED"),
        ],
    )
    def test_out_of_order_refused_with_its_reason(self, before: int, step: int, why: str) -> None:
        """A step that does not follow the last one raises StepRefused (a BusError) with its reason and a
        message naming no personal data.
        """
        chain = steps()
        app, _, _ = fold([event(i, chain[i]) for i in range(before)])
        with pytest.raises(StepRefused) as caught:
            apply_status(app, event(99, chain[step]), pseudonym)
        assert isinstance(caught.value, BusError)
        assert caught.value.reason == why
        assert "Siti" not in caught.value.message
        assert str(BORN) not in caught.value.message

    def test_action_needed_then_next_step_clears_it(self) -> None:
        """NEEDS_ACTION holds the action code until the next step."""
        chain = steps()
        app, _, _ = fold([event(0, chain[0]), event(10, EXTRA[0])])
        assert app is not None
        assert (app.status, app.action) == (ApplicationStatus.NEEDS_ACTION, "BRING_BIRTH_CERTIFICATE")
        app, _ = apply_status(app, event(1, chain[1]), pseudonym)
        assert (app.status, app.action) == (ApplicationStatus.BIOMETRICS_CAPTURED, None)

    @SETTINGS
    @given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 7)), max_size=20))
    def test_any_sequence_matches_the_rules(self, drawn: list[tuple[int, int]]) -> None:
        """Any events, in any order, repeated ids included: the status and the number of notifications are
        what the rules say, and applying every applied event once more changes nothing.
        """
        payloads = [*steps(), *EXTRA]
        first_kind: dict[int, int] = {}
        for event_id, kind in drawn:
            first_kind.setdefault(event_id, kind)
        events = [event(event_id, payloads[first_kind[event_id]]) for event_id, _ in drawn]
        app, _, notes = fold(events)
        status, accepted = oracle_status([(event_id, first_kind[event_id]) for event_id, _ in drawn])
        assert (app.status if app else "BOOKED") == status
        assert notes == accepted
        again = app
        for item in events:
            if app is not None and item.event_id in app.applied:
                again, note = apply_status(again, item, pseudonym)
                assert note is None
        assert again == app


class TestAnswer:
    def ready_app(self) -> Application:
        """An application ready for pickup."""
        chain = steps()
        app, _, _ = fold([event(i, chain[i], i) for i in range(5)])
        assert app is not None
        return app

    def test_needs_the_birth_date(self) -> None:
        """A wrong birth date, no application and an application without a birth date all answer None."""
        app = self.ready_app()
        assert status_answer(app, date(1990, 5, 18)) is None
        assert status_answer(None, BORN) is None
        assert status_answer(Application(APP, OFFICE, ApplicationStatus.BOOKED), BORN) is None

    def test_ready_in_both_languages_with_what_to_bring(self) -> None:
        """Ready: since when, the office's name, what to bring (the old passport for a renewal), no personal
        data in the texts.
        """
        answer = status_answer(self.ready_app(), BORN)
        assert answer is not None
        assert answer.status is ApplicationStatus.READY_FOR_PICKUP
        assert answer.ready_from == date(2026, 3, 6)
        assert not answer.expected
        assert "siap diambil" in answer.text_id
        assert "ready for pickup" in answer.text_en
        assert "Paspor lama" in answer.bring_id
        assert "Your old passport" in answer.bring_en
        assert answer.office_name.startswith("Kantor Imigrasi")
        assert "Siti" not in answer.text_id + answer.text_en

    def test_in_progress_gives_the_expected_day(self) -> None:
        """After payment, the expected day is four working days later, weekends skipped."""
        chain = steps()
        app, _, _ = fold([event(i, chain[i]) for i in range(3)])
        answer = status_answer(app, BORN)
        assert answer is not None
        assert answer.expected
        assert answer.ready_from == expected_ready(T0.date()) == date(2026, 3, 6)
        assert expected_ready(date(2026, 3, 5)) == date(2026, 3, 11)
