"""The application status fold over status items and the "is my passport ready?" answer: steps in order or
refused with their reason, booking decisions that never move a submitted application back, nothing changed
by a fact applied twice, one notification per change, and an answer only for whoever knows the birth date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bus.errors import BusError
from services.contracts.common import Channel, CurrencyCode, Personal
from services.contracts.passport import (
    BiometricsCaptured,
    Collected,
    PassportPrinted,
    PassportService,
    PaymentMethod,
    PaymentReceived,
    ReadyForPickup,
)
from services.contracts.passport_booking import (
    ActionRequired,
    ApplicationRefused,
    BookingRefusal,
    NotificationChannel,
)
from services.contracts.passport_items import StatusItemKind, StatusItemModel
from services.passport.answer import expected_ready, status_answer
from services.passport.status import STEPS, Application, ApplicationStatus, StepRefused, apply_status
from services.passport.status_items import status_item
from tests.unit.passport.test_status_items import (
    APP,
    BORN,
    OFFICE,
    PHONE,
    cancelled,
    confirmed,
    enveloped,
    hasher,
    refused,
    submitted,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CURRENCY: CurrencyCode = "IDR"
S = ApplicationStatus
PERSON = Personal(full_name="Siti Rahmawati", date_of_birth=BORN, phone=PHONE)


def steps(service: PassportService = PassportService.RENEWAL) -> list[Any]:
    """The six steps of one application, in order, as events."""
    return [
        submitted(PERSON, service),
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


def event(index: int, payload: Any, day: int = 0) -> StatusItemModel:
    """The status item of an event with id ``e<index>`` at T0 plus ``day`` days."""
    item = status_item(enveloped(payload, f"e{index}", T0 + timedelta(days=day)), hasher)
    assert item is not None
    return item


def decision(model: Any) -> StatusItemModel:
    """The status item of a decision."""
    item = status_item(model, hasher)
    assert item is not None
    return item


def fold(facts: list[StatusItemModel]) -> tuple[Application | None, list[str], int]:
    """The application after the facts, the reasons of those refused, the notifications written."""
    app: Application | None = None
    refusals: list[str] = []
    notes = 0
    for fact in facts:
        try:
            app, note = apply_status(app, fact)
        except StepRefused as refusal:
            refusals.append(refusal.reason)
        else:
            notes += note is not None
    return app, refusals, notes


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
    done, status, accepted = 0, "REQUESTED", 0
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


class TestSteps:
    def test_in_order_to_collected_with_a_notification_each(self) -> None:
        """The six steps in order end COLLECTED, each with one notification to the applicant's phone key."""
        app: Application | None = None
        for index, payload in enumerate(steps()):
            app, note = apply_status(app, event(index, payload, index))
            assert note is not None
            assert note.recipient_key == hasher(PHONE)
            assert note.channel is NotificationChannel.WHATSAPP
            assert note.template == f"passport.status.{app.status.lower()}"
            assert PHONE not in note.model_dump_json()
        assert app is not None
        assert app.status is S.COLLECTED

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
            apply_status(app, event(99, chain[step]))
        assert isinstance(caught.value, BusError)
        assert caught.value.reason == why
        assert "Siti" not in caught.value.message
        assert str(BORN) not in caught.value.message

    def test_action_needed_then_next_step_clears_it(self) -> None:
        """NEEDS_ACTION holds the action code until the next step."""
        chain = steps()
        app, _, _ = fold([event(0, chain[0]), event(10, EXTRA[0])])
        assert app is not None
        assert (app.status, app.action) == (S.NEEDS_ACTION, "BRING_BIRTH_CERTIFICATE")
        app, _ = apply_status(app, event(1, chain[1]))
        assert (app.status, app.action) == (S.BIOMETRICS_CAPTURED, None)

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
        facts = [event(event_id, payloads[first_kind[event_id]]) for event_id, _ in drawn]
        app, _, notes = fold(facts)
        status, accepted = oracle_status([(event_id, first_kind[event_id]) for event_id, _ in drawn])
        assert (app.status if app else "REQUESTED") == status
        assert notes == accepted
        again = app
        for fact in facts:
            if app is not None and fact.event_id in app.applied:
                again, note = apply_status(again, fact)
                assert note is None
        assert again == app


class TestBookingFacts:
    def test_confirmed_then_submitted(self) -> None:
        """A confirmation books the application (notified once a contact is known), submission goes on."""
        app, _, _ = fold([event(0, submitted(PERSON))])
        fresh, note = apply_status(None, decision(confirmed("r1")))
        assert (fresh.status, fresh.booking_code, fresh.queue_number) == (S.BOOKED, "BK-r1", 3)
        assert note is None  # nobody to tell yet: the decision carries no contact
        assert app is not None
        assert app.status is S.SUBMITTED

    def test_refused_before_submission_is_explained(self) -> None:
        """A refused request leaves BOOKING_REFUSED with its reason; the answer says so in both languages
        to whoever gave the birth date with the request.
        """
        request = event(0, submitted(PERSON))  # only to get a birth-date key and a contact into a fact
        ask = request.model_copy(update={"kind": StatusItemKind.REQUESTED, "event_id": "req"})
        app, _ = apply_status(None, ask)
        app, note = apply_status(app, decision(refused("r1", reason=BookingRefusal.DAY_FULL)))
        assert app.status is S.BOOKING_REFUSED
        assert note is not None
        assert note.template == "passport.status.booking_refused"
        answer = status_answer(app, BORN, hasher)
        assert answer is not None
        assert "ditolak" in answer.text_id
        assert "refused" in answer.text_en
        assert "DAY_FULL" in answer.text_en
        assert answer.booking_refusal == "DAY_FULL"

    def test_a_refusal_before_or_after_the_submission_gives_one_application(self) -> None:
        """The decision comes from another topic than the steps: before the submission or after it, the
        application ends the same, its status the step's and the refusal's reason kept.
        """
        ask = event(0, submitted(PERSON)).model_copy(
            update={"kind": StatusItemKind.REQUESTED, "event_id": "q"}
        )
        refusal = decision(refused("r1", reason=BookingRefusal.DAY_FULL))
        done = [event(n, payload) for n, payload in enumerate(steps()[:2], start=1)]
        before, _, _ = fold([ask, refusal, *done])
        after, _, _ = fold([ask, *done, refusal])
        assert before is not None
        assert before.status is S.BIOMETRICS_CAPTURED
        assert before.booking_refusal == "DAY_FULL"
        assert after == before

    def test_refused_reschedule_keeps_the_booking(self) -> None:
        """A refusal while a booking is active leaves it BOOKED (a refused reschedule keeps the old one)."""
        app, _ = apply_status(None, decision(confirmed("r1")))
        app, _ = apply_status(app, decision(refused("r2", reason=BookingRefusal.RESCHEDULE_USED)))
        assert (app.status, app.booking_code, app.booking_refusal) == (S.BOOKED, "BK-r1", "RESCHEDULE_USED")

    def test_cancelled_then_requested_again(self) -> None:
        """A cancellation of the active booking is CANCELLED; a later request asks again, an earlier one
        arriving late does not.
        """
        app, _ = apply_status(None, decision(confirmed("r1")))
        later = T0 + timedelta(hours=1)
        app, _ = apply_status(app, decision(cancelled("r2", "BK-r1", time=later)))
        assert (app.status, app.booking_code) == (S.CANCELLED, None)
        old = event(0, submitted(PERSON)).model_copy(
            update={"kind": StatusItemKind.REQUESTED, "event_id": "q1"}
        )
        app, _ = apply_status(app, old)
        assert app.status is S.CANCELLED
        new = old.model_copy(update={"event_id": "q2", "time": later + timedelta(hours=1)})
        app, _ = apply_status(app, new)
        assert app.status is S.REQUESTED

    def test_confirmation_after_its_cancellation_stays_cancelled(self) -> None:
        """Whatever order they arrive in, a cancelled booking is not active."""
        app, _ = apply_status(None, decision(cancelled("r2", "BK-r1")))
        app, _ = apply_status(app, decision(confirmed("r1")))
        assert app.booking_code is None
        assert app.status is not S.BOOKED

    def test_the_booking_fields_follow_after_submission(self) -> None:
        """After submission a late confirmation only records the booking; a cancellation clears it."""
        app, _, _ = fold([event(0, submitted(PERSON)), event(1, steps()[1])])
        app, note = apply_status(app, decision(confirmed("r1")))
        assert (app.status, app.booking_code, note) == (S.BIOMETRICS_CAPTURED, "BK-r1", None)
        app, note = apply_status(app, decision(cancelled("r2", "BK-r1")))
        assert (app.status, app.booking_code, note) == (S.BIOMETRICS_CAPTURED, None, None)

    @SETTINGS
    @given(
        order=st.permutations(range(8)),
        steps_done=st.integers(0, 6),
        repeat=st.lists(st.integers(0, 7), max_size=4),
    )
    def test_decisions_never_move_a_submitted_application_back(
        self, order: list[int], steps_done: int, repeat: list[int]
    ) -> None:
        """Booking decisions interleaved anywhere with the steps (which keep their order), some delivered
        twice: once submitted, the status is always the steps' own; the last fact again changes nothing.
        """
        chain = [event(i, payload, i) for i, payload in enumerate(steps()[:steps_done])]
        decisions = [
            decision(confirmed("r1")),
            decision(refused("r2", reason=BookingRefusal.ALREADY_BOOKED)),
            decision(cancelled("r3", "BK-r1", time=T0 + timedelta(minutes=5))),
            decision(confirmed("r4", time=T0 + timedelta(minutes=9))),
        ]
        pool = [*decisions, *decisions]
        slots = sorted(order[: len(chain)])
        it = iter(chain)
        facts = [next(it) if position in slots else pool[order[position]] for position in range(8)]
        facts.extend(pool[index] for index in repeat)
        app: Application | None = None
        for fact in facts:
            app, _ = apply_status(app, fact)
            if app.rank > 0:
                assert app.status is STEPS[app.rank - 1][1]
            else:
                assert app.status in {S.REQUESTED, S.BOOKED, S.BOOKING_REFUSED, S.CANCELLED}
        assert app is not None
        assert app.rank == steps_done
        again, note = apply_status(app, facts[-1])
        assert (again, note) == (app, None)


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
        assert app.birth_date_key == hasher(BORN.isoformat())
        assert status_answer(app, date(1990, 5, 18), hasher) is None
        assert status_answer(None, BORN, hasher) is None
        assert status_answer(Application(APP, OFFICE, S.BOOKED), BORN, hasher) is None

    def test_ready_in_both_languages_with_what_to_bring(self) -> None:
        """Ready: since when, the office's name, what to bring (the old passport for a renewal), no personal
        data in the texts.
        """
        answer = status_answer(self.ready_app(), BORN, hasher)
        assert answer is not None
        assert answer.status is S.READY_FOR_PICKUP
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
        answer = status_answer(app, BORN, hasher)
        assert answer is not None
        assert answer.expected
        assert answer.ready_from == expected_ready(T0.date()) == date(2026, 3, 6)
        assert expected_ready(date(2026, 3, 5)) == date(2026, 3, 11)

    @pytest.mark.parametrize("status", list(S))
    def test_every_status_has_both_texts(self, status: ApplicationStatus) -> None:
        """Every status is explained in Indonesian and in English."""
        app = Application(APP, OFFICE, status, birth_date_key=hasher(BORN.isoformat()))
        answer = status_answer(app, BORN, hasher)
        assert answer is not None
        assert answer.text_id
        assert answer.text_en
        assert answer.text_id != answer.text_en
