"""Status items: every status fact of ``passport`` and ``passport.decisions`` as one ``StatusItem``, with
pseudonymous keys instead of personal data; what is no status fact gives None; Avro bytes round-trip.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.bus.envelope import Envelope
from services.bus.errors import BusError
from services.bus.events import BusEvent, ViewEvent
from services.bus.keys import keyed_hash
from services.contracts.base import EventModel
from services.contracts.common import Channel, Personal
from services.contracts.passport import (
    ApplicationSubmitted,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    BiometricsCaptured,
    CancellationReason,
    Collected,
    PassportKind,
    PassportPrinted,
    PassportService,
    PaymentMethod,
    PaymentReceived,
    ReadyForPickup,
)
from services.contracts.passport_booking import (
    ActionRequired,
    ApplicationRefused,
    AppointmentConfirmedModel,
    AppointmentRefusedModel,
    AppointmentRequested,
    BookingCancelledModel,
    BookingRefusal,
    CancellationRequested,
    NotificationChannel,
    NotificationRequestedModel,
    QuotaSet,
)
from services.contracts.passport_items import StatusItemKind, StatusItemModel
from services.passport.status_items import Incoming, decode_status_item, encode_status_item, status_item
from services.reference.nik import generate_nik

OFFICE = "kanim-surabaya"
APP = "app-1"
BORN = date(1990, 5, 17)
NIK = generate_nik(__import__("random").Random(7), date_of_birth=BORN, sex="FEMALE")
NAME = "Siti Rahmawati"
PHONE = "+6281234567890"
EMAIL = "Siti@Example.org"
PERSON = Personal(nik=NIK, full_name=NAME, date_of_birth=BORN, phone=PHONE, email=EMAIL)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
K = StatusItemKind
SECRETS = (NIK, NAME, BORN.isoformat(), PHONE, EMAIL, EMAIL.lower())
"""What must never be in an item, a view or a notification, in any form a reader could search for."""


def hasher(value: str) -> str:
    """The bus's keyed hash with a test key."""
    return keyed_hash(value, b"test-citizen-key")


def enveloped(payload: EventModel, event_id: str = "e1", time: datetime = T0) -> BusEvent:
    """``payload`` as a consumer sees it: envelope with id and time, keyed by application id."""
    envelope = Envelope.new(source=OFFICE, type=payload.SCHEMA, dataschema="x", time=time, event_id=event_id)
    return BusEvent(envelope, payload, APP)


def submitted(personal: Personal = PERSON, service: PassportService = PassportService.RENEWAL) -> EventModel:
    """An application submitted at the counter."""
    return ApplicationSubmitted(
        application_id=APP,
        office=OFFICE,
        service=service,
        passport_kind=PassportKind.ELECTRONIC,
        pages=48,
        personal=personal,
        officer_id="o1",
    )


def confirmed(request: str = "r1", day: date = date(2026, 3, 9), **extra: Any) -> AppointmentConfirmedModel:
    """The service's confirmation of request ``request``."""
    return AppointmentConfirmedModel(
        decision_id=f"d-{request}",
        request_id=request,
        application_id=extra.pop("application_id", APP),
        booking_code=extra.pop("booking_code", f"BK-{request}"),
        office=extra.pop("office", OFFICE),
        slot_date=day,
        queue_number=extra.pop("queue_number", 3),
        service=PassportService.NEW,
        channel=Channel.WHATSAPP,
        decided_at=extra.pop("time", T0),
        **extra,
    )


def refused(request: str = "r1", day: date = date(2026, 3, 9), **extra: Any) -> AppointmentRefusedModel:
    """The service's refusal of request ``request``."""
    return AppointmentRefusedModel(
        decision_id=f"d-{request}",
        request_id=request,
        application_id=extra.pop("application_id", APP),
        office=extra.pop("office", OFFICE),
        wished_date=day,
        reason=extra.pop("reason", BookingRefusal.DAY_FULL),
        decided_at=extra.pop("time", T0),
    )


def cancelled(request: str, code: str, day: date = date(2026, 3, 9), **extra: Any) -> BookingCancelledModel:
    """The service's cancellation (request ``request``) of booking ``code``."""
    return BookingCancelledModel(
        decision_id=f"d-{request}",
        request_id=request,
        application_id=extra.pop("application_id", APP),
        booking_code=code,
        booked_by="r0",
        office=extra.pop("office", OFFICE),
        slot_date=day,
        reason=CancellationReason.CITIZEN_REQUEST,
        channel=Channel.APP,
        decided_at=extra.pop("time", T0),
    )


def avro_text(model: Any) -> bytes:
    """The Avro bytes of a contract model (framed)."""
    from services.passport.status_items import _codec

    return _codec().encode(model.SCHEMA, model.to_avro())


def assert_no_personal_data(data: bytes, *, keys: bool = False) -> None:
    """None of the applicant's personal values is in ``data`` (``keys``: nor the birth date's key, which an
    item carries and a view never).
    """
    for secret in (*SECRETS, *((hasher(BORN.isoformat()),) if keys else ())):
        assert secret.encode() not in data, "personal data leaked"


class TestEvents:
    def test_submission_carries_keys_not_personal_data(self) -> None:
        """The birth date and the phone as their HMACs (WhatsApp first); nothing personal in the bytes."""
        item = status_item(enveloped(submitted(), "e9"), hasher)
        assert item is not None
        assert (item.kind, item.event_id, item.time, item.application_id) == (K.SUBMITTED, "e9", T0, APP)
        assert item.birth_date_key == hasher("1990-05-17")
        assert (item.contact_channel, item.recipient_key) == (NotificationChannel.WHATSAPP, hasher(PHONE))
        assert item.service is PassportService.RENEWAL
        data = encode_status_item(item)
        for secret in SECRETS:
            assert secret.encode() not in data

    @pytest.mark.parametrize(
        ("personal", "channel", "key"),
        [
            (Personal(email=EMAIL, nik=NIK), NotificationChannel.EMAIL, EMAIL.lower()),
            (Personal(nik=NIK), NotificationChannel.SMS, NIK),
            (Personal(full_name=NAME), None, None),
        ],
    )
    def test_contact_falls_back(self, personal: Personal, channel: Any, key: str | None) -> None:
        """Without a phone: the lower-case e-mail, else the NIK (SMS), else no contact at all."""
        item = status_item(enveloped(submitted(personal)), hasher)
        assert item is not None
        assert item.contact_channel == channel
        assert item.recipient_key == (None if key is None else hasher(key))
        assert item.birth_date_key is None

    def test_request_uses_its_phone_key(self) -> None:
        """A request's own phone key is the WhatsApp recipient; the birth date goes as its key."""
        request = AppointmentRequested(
            request_id="r1",
            application_id=APP,
            office=OFFICE,
            wished_date=date(2026, 3, 9),
            service=PassportService.NEW,
            channel=Channel.WHATSAPP,
            phone_key="ab" * 32,
            personal=PERSON,
        )
        item = status_item(enveloped(request), hasher)
        assert item is not None
        assert (item.kind, item.recipient_key, item.contact_channel) == (
            K.REQUESTED,
            "ab" * 32,
            NotificationChannel.WHATSAPP,
        )
        assert item.birth_date_key == hasher(BORN.isoformat())

    def test_every_step_and_office_fact(self) -> None:
        """Each step, an action, a refusal, the legacy booking and cancellation: their kind and facts."""
        cases: list[tuple[EventModel, StatusItemKind, dict[str, Any]]] = [
            (
                BiometricsCaptured(
                    application_id=APP, office=OFFICE, fingerprints=True, photo=True, officer_id="o"
                ),
                K.BIOMETRICS_CAPTURED,
                {},
            ),
            (
                PaymentReceived(
                    application_id=APP,
                    office=OFFICE,
                    amount_minor=1,
                    currency="IDR",
                    receipt_ref="R",
                    method=PaymentMethod.CASH,
                ),
                K.PAYMENT_RECEIVED,
                {},
            ),
            (
                PassportPrinted(
                    application_id=APP,
                    office=OFFICE,
                    printed_at=OFFICE,
                    personal=Personal(passport_number="E1234567"),
                    issue_date=date(2026, 3, 5),
                    expiry_date=date(2036, 3, 5),
                    officer_id="o",
                ),
                K.PRINTED,
                {},
            ),
            (
                ReadyForPickup(
                    application_id=APP, office=OFFICE, pickup_from=date(2026, 3, 6), channel=Channel.APP
                ),
                K.READY_FOR_PICKUP,
                {"pickup_from": date(2026, 3, 6)},
            ),
            (
                Collected(application_id=APP, office=OFFICE, collected_by_proxy=False, officer_id="o"),
                K.COLLECTED,
                {},
            ),
            (
                ActionRequired(application_id=APP, office=OFFICE, action="BRING_KK"),
                K.ACTION_REQUIRED,
                {"action": "BRING_KK"},
            ),
            (
                ApplicationRefused(application_id=APP, office=OFFICE, reason="FORGED", officer_id="o"),
                K.REFUSED,
                {"reason": "FORGED"},
            ),
            (
                AppointmentBooked(
                    application_id=APP,
                    appointment_id="apt-1",
                    office=OFFICE,
                    slot_date=date(2026, 3, 9),
                    slot_time="09:30",
                    queue_number=4,
                    service=PassportService.NEW,
                    channel=Channel.WEB,
                    personal=PERSON,
                ),
                K.BOOKED_LEGACY,
                {"booking_code": "apt-1", "slot_day": date(2026, 3, 9), "queue_number": 4},
            ),
            (
                AppointmentCancelled(
                    application_id=APP,
                    appointment_id="apt-1",
                    office=OFFICE,
                    reason=CancellationReason.NO_SHOW,
                    channel=Channel.WALK_IN,
                ),
                K.CANCELLED,
                {"booking_code": "apt-1", "reason": "NO_SHOW"},
            ),
        ]
        for payload, kind, facts in cases:
            item = status_item(enveloped(payload), hasher)
            assert item is not None
            assert item.kind is kind
            for name, value in facts.items():
                assert getattr(item, name) == value, (kind, name)
            assert_no_personal_data(encode_status_item(item))

    def test_what_is_no_status_fact_gives_none(self) -> None:
        """A quota, a cancellation request and a legacy reschedule are no status facts."""
        others: list[EventModel] = [
            QuotaSet(
                quota_id="q",
                office=OFFICE,
                service=PassportService.NEW,
                daily_capacity=3,
                from_date=date(2026, 3, 1),
                officer_id="o",
            ),
            CancellationRequested(
                request_id="r2",
                application_id=APP,
                booking_code="BK",
                office=OFFICE,
                reason=CancellationReason.CITIZEN_REQUEST,
                channel=Channel.APP,
                personal=PERSON,
            ),
            AppointmentRescheduled(
                application_id=APP,
                appointment_id="apt-1",
                office=OFFICE,
                old_slot_date=date(2026, 3, 9),
                old_slot_time="09:30",
                new_slot_date=date(2026, 3, 10),
                new_slot_time="09:30",
                new_queue_number=2,
                channel=Channel.WEB,
            ),
        ]
        for payload in others:
            assert status_item(enveloped(payload), hasher) is None


class TestDecisions:
    def test_decisions_have_their_decision_id_and_time(self) -> None:
        """Confirmation, refusal and cancellation, bare or as view records: the decision id and decided_at."""
        later = datetime(2026, 3, 3, tzinfo=UTC)
        pairs: list[tuple[AppointmentConfirmedModel | AppointmentRefusedModel | BookingCancelledModel, K]] = [
            (confirmed("r1", reschedules="BK-r0", time=later), K.CONFIRMED),
            (refused("r2", time=later), K.BOOKING_REFUSED),
            (cancelled("r3", "BK-r1", time=later), K.CANCELLED),
        ]
        for model, kind in pairs:
            envelope = Envelope.new(source="kemlu-pusat", type=model.SCHEMA, dataschema="x", time=later)
            incomings: list[Incoming] = [model, ViewEvent(envelope, model, APP)]
            for incoming in incomings:
                item = status_item(incoming, hasher)
                assert item is not None
                assert (item.kind, item.event_id, item.time) == (kind, model.decision_id, later)
                assert item.slot_day == date(2026, 3, 9)
        item = status_item(pairs[0][0], hasher)
        assert item is not None
        assert (item.booking_code, item.reschedules, item.queue_number) == ("BK-r1", "BK-r0", 3)
        item = status_item(pairs[1][0], hasher)
        assert item is not None
        assert item.reason == "DAY_FULL"

    def test_another_view_gives_none(self) -> None:
        """A view that is no decision (a notification) is no status fact."""
        note = NotificationRequestedModel(
            notification_id="n",
            application_id=APP,
            office=OFFICE,
            template="t",
            channel=NotificationChannel.SMS,
            recipient_key="k",
            caused_by="e",
            requested_at=T0,
        )
        envelope = Envelope.new(source="kemlu-pusat", type=note.SCHEMA, dataschema="x", time=T0)
        assert status_item(ViewEvent(envelope, note, "k"), hasher) is None


class TestBytes:
    def test_round_trip(self) -> None:
        """Encode then decode gives the item back, optional fields included."""
        item = status_item(confirmed("r1", reschedules="BK-r0"), hasher)
        assert item is not None
        assert decode_status_item(encode_status_item(item)) == item
        full = status_item(enveloped(submitted()), hasher)
        assert full is not None
        assert decode_status_item(encode_status_item(full)) == full

    @pytest.mark.parametrize("data", [b"", b"\xc3\x01garbage", b"{}"])
    def test_garbage_is_a_bus_error(self, data: bytes) -> None:
        """Bytes that are no StatusItem raise a BusError (the codec's refusal)."""
        with pytest.raises(BusError):
            decode_status_item(data)

    def test_another_contract_is_refused(self) -> None:
        """Another contract's bytes are no status item."""
        other = avro_text(confirmed())
        with pytest.raises(BusError):
            decode_status_item(other)

    def test_model_rules(self) -> None:
        """An empty event id or an unknown office is refused by the model."""
        with pytest.raises(ValueError, match="event_id"):
            StatusItemModel(event_id="", kind=K.SUBMITTED, application_id=APP, office=OFFICE, time=T0)
        with pytest.raises(ValueError, match="office"):
            StatusItemModel(
                event_id="e", kind=K.SUBMITTED, application_id=APP, office="kbri-atlantis", time=T0
            )
