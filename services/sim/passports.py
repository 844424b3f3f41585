"""The passport life-cycle: booked -> (rescheduled | cancelled) -> submitted -> biometrics -> paid ->
printed (at the office, or by immigration in Jakarta) -> ready -> collected.

Slot dates and times are the office's local ones, as the citizen was told; one application id and one
appointment id run through every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Final

from services.contracts.common import Channel
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
from services.sim import choices
from services.sim.data import RATES
from services.sim.engine import DAY, HOUR, IMIGRASI, MIN, Engine, Flow, Person, Step

#: Passport fees in rupiah (PP 28/2019): the ordinary book and the e-passport; missions charge the equivalent.
_FEE_IDR: Final = {PassportKind.ORDINARY: 350_000, PassportKind.ELECTRONIC: 650_000}


class PassportFlows(Engine):
    """Passport applications at the missions."""

    def _slot(self, code: str, after: int) -> tuple[date, int]:
        """An appointment 2-21 days after ``after`` on a workday of the office: (date, minute of day)."""
        weekend = self._sites[code].country.weekend
        day = self._local_date(code, after) + timedelta(days=self._int(2, 21))
        while day.weekday() in weekend:
            day += timedelta(days=1)
        return day, 8 * 60 + 15 * self._int(0, 29)

    def _passport(
        self, person: Person, code: str, at: int, service: PassportService | None
    ) -> Iterator[Step]:
        """One application, from booking to collection or cancellation."""
        rng = self._rng
        yield Step(at, "", None)
        app, appt = self._id("PA"), self._id("AP")
        if service is None:  # a first passport, else a renewal or a replacement
            service = (
                PassportService.NEW if person.passport_number is None else self._weighted(choices.SERVICES)
            )
        kind = PassportKind.ELECTRONIC if rng.random() < 0.45 else PassportKind.ORDINARY
        channel = self._weighted(choices.BOOKING_CHANNELS)
        slot_day, slot_min = self._slot(code, at)
        booked = AppointmentBooked(
            application_id=app,
            appointment_id=appt,
            office=code,
            slot_date=slot_day,
            slot_time=_hhmm(slot_min),
            queue_number=self._int(1, 150),
            service=service,
            channel=channel,
            personal=person.personal(),
        )
        yield Step(at, code, booked)
        slot_at = self._local_ms(code, slot_day, slot_min)
        fate = rng.random()
        if fate < 0.12:
            at += int((slot_at - at) * rng.uniform(0.1, 0.9))
            new_day, new_min = self._slot(code, slot_at)
            rescheduled = AppointmentRescheduled(
                application_id=app,
                appointment_id=appt,
                office=code,
                old_slot_date=slot_day,
                old_slot_time=_hhmm(slot_min),
                new_slot_date=new_day,
                new_slot_time=_hhmm(new_min),
                new_queue_number=self._int(1, 150),
                channel=channel,
            )
            yield Step(at, code, rescheduled)
            slot_at = self._local_ms(code, new_day, new_min)
        elif fate < 0.2:
            yield self._cancel(app, appt, code, channel=channel, booked=at, slot_at=slot_at)
            return
        at = slot_at + self._int(0, 50 * MIN)
        officer = self._officer(code)
        submitted = ApplicationSubmitted(
            application_id=app,
            office=code,
            service=service,
            passport_kind=kind,
            pages=48 if kind is PassportKind.ELECTRONIC or rng.random() < 0.9 else 24,
            personal=person.personal(),
            officer_id=officer,
        )
        yield Step(at, code, submitted)
        at += self._int(5 * MIN, 40 * MIN)
        biometrics = BiometricsCaptured(
            application_id=app,
            office=code,
            fingerprints=rng.random() > 0.02,
            photo=True,
            officer_id=officer,
        )
        yield Step(at, code, biometrics)
        at += self._int(2 * MIN, 30 * MIN)
        yield Step(at, code, self._payment(app, code, kind))
        yield from self._print_and_hand_over(person, app, code, kind, at)

    def _cancel(self, app: str, appt: str, code: str, *, channel: Channel, booked: int, slot_at: int) -> Step:
        """The citizen cancels before the slot, or the office does (no-show after it, closure, duplicate)."""
        reason = self._weighted(choices.CANCEL_REASONS)
        by_staff = reason is not CancellationReason.CITIZEN_REQUEST
        if reason is CancellationReason.NO_SHOW:
            at = slot_at + self._int(2 * HOUR, 6 * HOUR)
        else:
            at = booked + int((slot_at - booked) * self._rng.uniform(0.05, 0.95))
        cancelled = AppointmentCancelled(
            application_id=app,
            appointment_id=appt,
            office=code,
            reason=reason,
            channel=Channel.WALK_IN if by_staff else channel,
            officer_id=self._officer(code) if by_staff else None,
        )
        return Step(at, code, cancelled)

    def _payment(self, app: str, code: str, kind: PassportKind) -> PaymentReceived:
        """The fee in the mission's currency, rounded to whole units as counters do."""
        site = self._sites[code]
        currency = site.country.currency if site.country.currency in RATES else "USD"
        per_unit, exponent = RATES[currency]
        method = self._weighted(choices.PAYMENT_METHODS)
        if method is PaymentMethod.QRIS and site.office.country not in choices.QRIS_COUNTRIES:
            method = PaymentMethod.CARD
        return PaymentReceived(
            application_id=app,
            office=code,
            amount_minor=max(1, round(_FEE_IDR[kind] / per_unit)) * 10**exponent,
            currency=currency,
            receipt_ref=self._id("RC"),
            method=method,
            officer_id=None if method is PaymentMethod.BANK_TRANSFER else self._officer(code),
        )

    def _print_and_hand_over(self, person: Person, app: str, code: str, kind: PassportKind, at: int) -> Flow:
        """Printing (most e-passports centrally in Jakarta), the pickup notice and the hand-over."""
        rng = self._rng
        local = kind is PassportKind.ORDINARY or self._sites[code].prints_electronic
        printer = code if local else IMIGRASI
        at = self._work(printer, at + self._exp((2 if local else 6) * DAY))
        issued = self._local_date(printer, at)
        number = self._passport_number(kind)
        person.passport_number = number
        adult = (issued - person.date_of_birth).days >= 17 * 365
        printed = PassportPrinted(
            application_id=app,
            office=code,
            printed_at=printer,
            personal=person.ident(passport_number=number),
            issue_date=issued,
            expiry_date=_add_years(issued, 10 if adult else 5),
            officer_id=self._officer(printer),
        )
        yield Step(at, printer, printed)
        if not local:  # the diplomatic bag from Jakarta
            at += self._int(4 * DAY, 12 * DAY)
        at = self._work(code, at + self._int(30 * MIN, DAY))
        ready = ReadyForPickup(
            application_id=app,
            office=code,
            pickup_from=self._local_date(code, at) + timedelta(days=self._int(0, 1)),
            channel=self._pick((Channel.WHATSAPP, Channel.EMAIL, Channel.APP)),
        )
        yield Step(at, code, ready)
        if rng.random() < 0.05:  # never collected
            return at
        at = self._work(code, at + DAY + self._exp(6 * DAY))
        collected = Collected(
            application_id=app,
            office=code,
            collected_by_proxy=rng.random() < 0.1,
            officer_id=self._officer(code),
        )
        yield Step(at, code, collected)
        return at


def _hhmm(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
