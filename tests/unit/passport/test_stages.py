"""Each booking stage by example: the refusal reasons, the phone limit, one reschedule, cancellations, the
intake that starts it all, and the ids derived from the request.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.bus.keys import keyed_hash
from services.contracts.common import Channel, Personal
from services.contracts.passport import CancellationReason, PassportService
from services.contracts.passport_booking import (
    AppointmentConfirmedModel,
    AppointmentRefusedModel,
    AppointmentRequested,
    BookingCancelledModel,
    BookingRefusal,
    CancellationRequested,
    QuotaSet,
)
from services.passport.booking import (
    DECISIONS,
    PHONES,
    REQUESTS,
    SLOTS,
    Answer,
    Ask,
    Cancel,
    Cancelled,
    Confirmed,
    Decision,
    Out,
    QuotaChange,
    Refused,
    Release,
    Request,
    booking_code,
    decision_id,
    slot_key,
)
from services.passport.citizens import CitizenStage
from services.passport.decisions import decision_record
from services.passport.phones import PhoneLimit, PhoneStage
from services.passport.protocol import BookingModel, intake
from services.passport.slots import SlotStage
from services.reference.nik import generate_nik
from services.reference.offices import immigration_offices

OFFICE = "kanim-jakarta-selatan"
DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
NIK = generate_nik(random.Random(12), date_of_birth=date(1990, 5, 17), sex="FEMALE")


def request(
    request_id: str, citizen: str | None = "nik:a", *, phone: str | None = None, **changes: object
) -> Request:
    """A request for a NEW passport at OFFICE on DAY."""
    fields: dict[str, object] = {
        "request_id": request_id,
        "application_id": f"app-{request_id}",
        "citizen": citizen,
        "office": OFFICE,
        "day": DAY,
        "service": PassportService.NEW,
        "channel": "WHATSAPP",
        "phone_key": phone,
        "not_applicant": False,
        "reschedules": None,
        "time": T0,
    }
    fields.update(changes)
    return Request(**fields)  # type: ignore[arg-type]


def decisions(model: BookingModel, *records: Request | Cancel, capacity: int = 1) -> dict[str, Decision]:
    """Quota ``capacity`` at OFFICE, then each record settled before the next: decisions by request id."""
    model.publish(
        Out(SLOTS, OFFICE, QuotaChange("q", OFFICE, PassportService.NEW, capacity, DAY, T0), broadcast=True)
    )
    for record in records:
        phone = record.phone_key if isinstance(record, Request) else None
        model.publish(Out(PHONES, phone, record) if phone else Out(REQUESTS, str(record.citizen), record))
        model.run()
    return {d.request_id: d for d in model.decisions}


def reason(found: Decision) -> BookingRefusal:
    """The refusal reason of a decision that must be a refusal."""
    assert isinstance(found, Refused)
    return found.reason


class TestCitizenStage:
    def test_without_identity_refused(self) -> None:
        """A request with neither NIK nor passport number is refused NO_IDENTITY."""
        found = decisions(BookingModel(), request("r1", None))
        assert reason(found["r1"]) is BookingRefusal.NO_IDENTITY

    def test_someone_else_named_refused(self) -> None:
        """A request whose verified requester is not the applicant is refused NOT_THE_APPLICANT."""
        found = decisions(BookingModel(), request("r1", not_applicant=True))
        assert reason(found["r1"]) is BookingRefusal.NOT_THE_APPLICANT

    def test_second_booking_anywhere_refused(self) -> None:
        """A citizen holding a booking is refused ALREADY_BOOKED, at another office too."""
        found = decisions(BookingModel(), request("r1"), request("r2", office="kanim-medan"), capacity=5)
        assert isinstance(found["r1"], Confirmed)
        assert reason(found["r2"]) is BookingRefusal.ALREADY_BOOKED

    def test_request_while_one_is_pending_refused(self) -> None:
        """While a request waits for its slot, another of the same citizen is refused at once."""
        stage = CitizenStage()
        assert [o.topic for o in stage.apply(request("r1"))] == [SLOTS]
        [out] = stage.apply(request("r2"))
        assert out.topic == DECISIONS
        assert reason(out.value) is BookingRefusal.ALREADY_BOOKED  # type: ignore[arg-type]

    def test_full_day_refused(self) -> None:
        """Past the capacity, requests are refused DAY_FULL; without a quota NO_QUOTA."""
        found = decisions(BookingModel(), request("r1", "nik:a"), request("r2", "nik:b"))
        assert reason(found["r2"]) is BookingRefusal.DAY_FULL
        other = decisions(BookingModel(), request("r3", service=PassportService.RENEWAL))
        assert reason(other["r3"]) is BookingRefusal.NO_QUOTA

    def test_booking_expires_after_its_day(self) -> None:
        """A request made after the day of the citizen's booking may book again."""
        later = T0 + timedelta(days=3)
        found = decisions(
            BookingModel(), request("r1"), request("r2", day=DAY + timedelta(days=5), time=later)
        )
        assert isinstance(found["r1"], Confirmed)
        assert isinstance(found["r2"], Confirmed)


class TestReschedule:
    def test_once_and_frees_the_old_slot(self) -> None:
        """A reschedule moves the booking and frees its slot; a second reschedule is refused."""
        code = booking_code("r1")
        model = BookingModel()
        found = decisions(
            model,
            request("r1"),
            request("r2", reschedules=code, day=DAY + timedelta(days=1)),
            request("r3", "nik:b"),
            request("r4", reschedules=booking_code("r2")),
            capacity=1,
        )
        moved = found["r2"]
        assert isinstance(moved, Confirmed)
        assert moved.reschedules == code
        assert isinstance(found["r3"], Confirmed)  # the slot the booking left is free again
        assert found["r3"].queue_number == 1
        assert reason(found["r4"]) is BookingRefusal.RESCHEDULE_USED

    def test_refused_reschedule_keeps_the_booking(self) -> None:
        """A reschedule to a full day is refused and the booking stays: the citizen still cannot book."""
        model = BookingModel()
        model.publish(
            Out(
                SLOTS,
                "kanim-medan",
                QuotaChange("q2", "kanim-medan", PassportService.NEW, 0, DAY, T0),
                broadcast=True,
            )
        )
        found = decisions(
            model,
            request("r1"),
            request("r2", reschedules=booking_code("r1"), office="kanim-medan"),
            request("r3"),
        )
        assert reason(found["r2"]) is BookingRefusal.NO_QUOTA
        assert reason(found["r3"]) is BookingRefusal.ALREADY_BOOKED

    def test_unknown_code_refused(self) -> None:
        """A reschedule naming a booking the citizen does not hold is refused NO_SUCH_BOOKING."""
        found = decisions(BookingModel(), request("r1", reschedules="NOTACODE00"))
        assert reason(found["r1"]) is BookingRefusal.NO_SUCH_BOOKING


class TestCancel:
    def test_cancel_frees_the_slot(self) -> None:
        """A cancellation is decided Cancelled and the day's one slot goes to the next citizen."""
        cancel = Cancel("c1", "app-r1", "nik:a", OFFICE, booking_code("r1"), T0)
        found = decisions(BookingModel(), request("r1"), cancel, request("r2", "nik:b"))
        assert isinstance(found["c1"], Cancelled)
        assert isinstance(found["r2"], Confirmed)
        assert found["r2"].queue_number == 1

    def test_cancel_of_someone_elses_booking_refused(self) -> None:
        """A booking cannot be cancelled from another citizen's identity."""
        cancel = Cancel("c1", "app-x", "nik:b", OFFICE, booking_code("r1"), T0)
        found = decisions(BookingModel(), request("r1"), cancel)
        assert reason(found["c1"]) is BookingRefusal.NO_SUCH_BOOKING


class TestPhones:
    def test_tout_refused_past_the_limit(self) -> None:
        """The sixth request from one phone within 24 hours is refused TOO_MANY_REQUESTS; a day later the
        phone may ask again.
        """
        stage = PhoneStage(rules=PhoneLimit(limit=5, window=timedelta(hours=24)))
        outs = [
            stage.apply(request(f"r{n}", f"nik:{n}", phone="p", time=T0 + timedelta(minutes=n)))[0]
            for n in range(6)
        ]
        assert [o.topic for o in outs] == [REQUESTS] * 5 + [DECISIONS]
        assert reason(outs[5].value) is BookingRefusal.TOO_MANY_REQUESTS  # type: ignore[arg-type]
        [later] = stage.apply(request("r9", "nik:9", phone="p", time=T0 + timedelta(hours=25)))
        assert later.topic == REQUESTS

    @given(st.lists(st.integers(0, 72 * 60), min_size=1, max_size=40))
    def test_no_window_holds_more_than_the_limit_whatever_the_order(self, minutes: list[int]) -> None:
        """Requests reach a phone's partition out of time order (from every partition of ``passport``): in
        whatever order they come, no 24 hours on the clock hold more than 5 requests passed on.
        """
        stage = PhoneStage(rules=PhoneLimit(limit=5, window=timedelta(hours=24)))
        passed = []
        for n, minute in enumerate(minutes):
            at = T0 + timedelta(minutes=minute)
            [out] = stage.apply(request(f"r{n}", f"nik:{n}", phone="p", time=at))
            if out.topic == REQUESTS:
                passed.append(at)
        for start in passed:
            assert sum(1 for at in passed if start <= at < start + timedelta(hours=24)) <= 5

    def test_same_request_again_same_outcome(self) -> None:
        """A request read again gets the record it got the first time, and does not count twice."""
        stage = PhoneStage(rules=PhoneLimit(limit=1))
        first = stage.apply(request("r1", phone="p"))
        assert stage.apply(request("r1", phone="p")) == first
        assert stage.apply(request("r2", "nik:b", phone="p"))[0].topic == DECISIONS


class TestSlots:
    def test_queue_numbers_reuse_freed_ones(self) -> None:
        """After a release, the next ask gets the smallest free queue number."""
        stage = SlotStage()
        stage.apply(QuotaChange("q", OFFICE, PassportService.NEW, 2, DAY, T0))
        ask = [Ask(f"r{n}", f"nik:{n}", OFFICE, DAY, PassportService.NEW, T0) for n in range(3)]
        numbers = [stage.apply(a)[0].value for a in ask[:2]]
        assert [n.queue_number for n in numbers if isinstance(n, Answer)] == [1, 2]
        stage.apply(Release("r0", OFFICE, DAY, PassportService.NEW, T0))
        [again] = stage.apply(ask[2])
        assert isinstance(again.value, Answer)
        assert again.value.queue_number == 1
        assert stage.apply(ask[0]) == [Out(REQUESTS, "nik:0", Answer("r0", "nik:0", 1, None, T0, OFFICE))]

    def test_latest_quota_from_a_day_on(self) -> None:
        """The capacity of a day is the latest quota whose first day is on or before it."""
        stage = SlotStage()
        stage.apply(QuotaChange("q1", OFFICE, PassportService.NEW, 2, DAY, T0))
        stage.apply(QuotaChange("q2", OFFICE, PassportService.NEW, 7, DAY + timedelta(days=1), T0))
        assert stage.capacity(OFFICE, DAY - timedelta(days=1), PassportService.NEW) is None
        assert stage.capacity(OFFICE, DAY, PassportService.NEW) == 2
        assert stage.capacity(OFFICE, DAY + timedelta(days=9), PassportService.NEW) == 7


class TestIntake:
    def pseudonym(self, value: str) -> str:
        """The bus's keyed hash with a test key."""
        return keyed_hash(value, b"test-citizen-key")

    def event(self, **changes: object) -> AppointmentRequested:
        """A WhatsApp request for NIK."""
        fields: dict[str, object] = {
            "request_id": "r1",
            "application_id": "app-1",
            "office": OFFICE,
            "wished_date": DAY,
            "service": PassportService.NEW,
            "channel": Channel.WHATSAPP,
            "phone_key": "pk",
            "requester_key": self.pseudonym(NIK),
            "personal": Personal(nik=NIK, full_name="Siti"),
        }
        fields.update(changes)
        return AppointmentRequested(**fields)

    def test_request_goes_to_its_phone_without_personal_data(self) -> None:
        """A request with a phone key goes to passport.phones under it; the record holds only keys."""
        out = intake(self.event(), T0, self.pseudonym)
        assert (out.topic, out.key) == (PHONES, "pk")
        assert isinstance(out.value, Request)
        assert out.value.citizen == f"nik:{self.pseudonym(NIK)}"
        assert not out.value.not_applicant
        assert NIK not in repr(out.value)
        assert "Siti" not in repr(out.value)

    def test_walk_in_goes_to_the_citizen_and_other_requester_flagged(self) -> None:
        """A walk-in (no phone) goes straight to the citizen's partition; another requester is flagged."""
        out = intake(
            self.event(phone_key=None, requester_key="someone-else", channel=Channel.WALK_IN),
            T0,
            self.pseudonym,
        )
        assert (out.topic, out.key) == (REQUESTS, f"nik:{self.pseudonym(NIK)}")
        assert isinstance(out.value, Request)
        assert out.value.not_applicant

    def test_passport_number_when_no_nik(self) -> None:
        """Without a NIK the passport number (no spaces, upper case) keys the citizen."""
        event = self.event(phone_key=None, requester_key=None, personal=Personal(passport_number="c 1234567"))
        assert intake(event, T0, self.pseudonym).key == f"passport:{self.pseudonym('C1234567')}"

    def test_quota_to_every_slot_partition_and_cancel_to_the_citizen(self) -> None:
        """A quota is broadcast on passport.slots; a cancellation goes to the citizen's partition."""
        quota = QuotaSet(
            quota_id="q",
            office=OFFICE,
            service=PassportService.NEW,
            daily_capacity=3,
            from_date=DAY,
            officer_id="o",
        )
        out = intake(quota, T0, self.pseudonym)
        assert (out.topic, out.broadcast) == (SLOTS, True)
        cancel = CancellationRequested(
            request_id="c1",
            application_id="app-1",
            booking_code="X",
            office=OFFICE,
            reason=CancellationReason.CITIZEN_REQUEST,
            channel=Channel.APP,
            personal=Personal(nik=NIK),
        )
        assert intake(cancel, T0, self.pseudonym).key == f"nik:{self.pseudonym(NIK)}"


class TestIds:
    def test_derived_from_the_request(self) -> None:
        """Decision ids and booking codes are functions of the request id alone."""
        assert decision_id("r1") == decision_id("r1") != decision_id("r2")
        assert booking_code("r1") == booking_code("r1") != booking_code("r2")
        assert len(booking_code("r1")) == 10
        assert slot_key(OFFICE, DAY) == f"{OFFICE}|2026-03-02"


class TestDecisionRecords:
    def test_each_decision_as_its_contract(self) -> None:
        """Confirmed, refused and cancelled decisions become valid contract models carrying their ids."""
        cancel = Cancel("c1", "app-r1", "nik:a", OFFICE, booking_code("r1"), T0, "NO_SHOW", "APP")
        found = decisions(BookingModel(), request("r1"), request("r2", "nik:b"), cancel)
        confirmed = decision_record(found["r1"])
        assert isinstance(confirmed, AppointmentConfirmedModel)
        assert (confirmed.decision_id, confirmed.booking_code) == (decision_id("r1"), booking_code("r1"))
        refused = decision_record(found["r2"])
        assert isinstance(refused, AppointmentRefusedModel)
        assert refused.reason is BookingRefusal.DAY_FULL
        cancelled = decision_record(found["c1"])
        assert isinstance(cancelled, BookingCancelledModel)
        assert (cancelled.decision_id, cancelled.booking_code, cancelled.booked_by, cancelled.reason) == (
            decision_id("c1"),
            booking_code("r1"),
            "r1",
            CancellationReason.NO_SHOW,
        )


class TestRace:
    def test_ten_thousand_requests_for_five_hundred_slots(self) -> None:
        """10,000 requests from 10,000 citizens race for 25 slots at each of 20 offices, every partition
        read in turn: exactly 500 are booked, every other one is refused DAY_FULL, one decision each.
        """
        offices = [o.code for o in immigration_offices()[:20]]
        model = BookingModel(partitions=6)
        for office in offices:
            model.publish(
                Out(
                    SLOTS,
                    office,
                    QuotaChange(f"q-{office}", office, PassportService.NEW, 25, DAY, T0),
                    broadcast=True,
                )
            )
        for n in range(10_000):
            record = request(f"r{n}", f"nik:{n}", office=offices[n % 20], time=T0 + timedelta(seconds=n))
            model.publish(Out(REQUESTS, f"nik:{n}", record))
        step = 0
        while ready := model.ready():
            model.step(ready[step % len(ready)])
            step += 1
        found = {d.request_id: d for d in model.decisions}
        assert len(found) == len(model.decisions) == 10_000
        booked = Counter((d.office, d.day) for d in found.values() if isinstance(d, Confirmed))
        assert sorted(booked.values()) == [25] * 20
        assert Counter(reason(d) for d in found.values() if not isinstance(d, Confirmed)) == {
            BookingRefusal.DAY_FULL: 9_500
        }
