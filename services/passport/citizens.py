"""Stages 1 and 3 of fair booking, one fold per partition of ``passport.requests`` (keyed by citizen).

A citizen holds at most one booking across all offices, and at most one request in flight: a request
while another is pending, or while a booking is active, is refused ALREADY_BOOKED (a reschedule names the
active booking and may move it once). A request that may go on becomes an ``Ask`` to its office-day's
partition of ``passport.slots``; the slot's ``Answer`` comes back here and becomes the request's one
decision. A cancellation of the active booking decides at once and releases the slot. A booking stops
being active once its day is over (a later request's day on the calendar is after it): used or missed.

The state is three mappings with string keys, plain dicts by default or the partition's store columns
(``services.passport.stage_store``): every change is written back by assignment or deletion, never made in
place on a value read from them.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from services.contracts.passport_booking import BookingRefusal
from services.passport.booking import (
    DECISIONS,
    SLOTS,
    Answer,
    Ask,
    Cancel,
    Cancelled,
    Confirmed,
    Out,
    Refused,
    Release,
    Request,
    booking_code,
    slot_key,
)

__all__ = ["Booking", "CitizenStage"]


@dataclass(frozen=True, slots=True)
class Booking:
    """A citizen's active booking; ``moved`` once it replaced another (the one reschedule is used)."""

    confirmed: Confirmed
    moved: bool


@dataclass(slots=True)
class CitizenStage:
    """The state of one ``passport.requests`` partition, by citizen key."""

    active: MutableMapping[str, Booking] = field(default_factory=dict)
    """Citizen -> the booking it holds."""
    pending: MutableMapping[str, Request] = field(default_factory=dict)
    """Citizen -> the request waiting for its slot's answer."""
    done: MutableMapping[str, tuple[Out, ...]] = field(default_factory=dict)
    """Request id -> what its decision wrote (written again, unchanged, for a record seen twice)."""

    def apply(self, record: Request | Cancel | Answer) -> list[Out]:
        """Fold one record of the partition; what it writes (the same again for a record seen before)."""
        seen = self.done.get(record.request_id)
        if seen is not None:
            return list(seen)
        if isinstance(record, Answer):
            return self._answer(record)
        if isinstance(record, Cancel):
            return self._decide(record.request_id, self._cancel(record))
        return self._request(record)

    def _request(self, request: Request) -> list[Out]:  # noqa: PLR0911 - one return per refusal rule, in order
        citizen = request.citizen
        if citizen is None:
            return self._decide(request.request_id, [_refuse(request, BookingRefusal.NO_IDENTITY)])
        if request.not_applicant:
            return self._decide(request.request_id, [_refuse(request, BookingRefusal.NOT_THE_APPLICANT)])
        waiting = self.pending.get(citizen)
        if waiting is not None:
            if waiting.request_id == request.request_id:
                return [_ask(request, citizen)]
            return self._decide(request.request_id, [_refuse(request, BookingRefusal.ALREADY_BOOKED)])
        held = self.active.get(citizen)
        if held is not None and held.confirmed.day < request.time.date():
            del self.active[citizen]
            held = None
        if request.reschedules is not None:
            if held is None or held.confirmed.booking_code != request.reschedules:
                return self._decide(request.request_id, [_refuse(request, BookingRefusal.NO_SUCH_BOOKING)])
            if held.moved:
                return self._decide(request.request_id, [_refuse(request, BookingRefusal.RESCHEDULE_USED)])
        elif held is not None:
            return self._decide(request.request_id, [_refuse(request, BookingRefusal.ALREADY_BOOKED)])
        self.pending[citizen] = request
        return [_ask(request, citizen)]

    def _answer(self, answer: Answer) -> list[Out]:
        request = self.pending.get(answer.citizen)
        if request is None or request.request_id != answer.request_id:
            return []  # an answer to no pending ask: nothing was reserved for anyone here
        del self.pending[answer.citizen]
        if answer.queue_number is None:
            return self._decide(request.request_id, [_refuse(request, answer.reason or BookingRefusal.OTHER)])
        confirmed = Confirmed(
            request.request_id,
            request.application_id,
            booking_code(request.request_id),
            request.office,
            request.day,
            answer.queue_number,
            request.service,
            request.channel,
            request.reschedules,
            request.time,
        )
        outs = [Out(DECISIONS, request.application_id, confirmed)]
        held = self.active.get(answer.citizen)
        if held is not None and held.confirmed.booking_code == request.reschedules:
            outs.append(_release(held.confirmed, request))
        self.active[answer.citizen] = Booking(confirmed, moved=request.reschedules is not None)
        return self._decide(request.request_id, outs)

    def _cancel(self, cancel: Cancel) -> list[Out]:
        held = self.active.get(cancel.citizen) if cancel.citizen is not None else None
        if held is None or held.confirmed.booking_code != cancel.booking_code:
            refused = Refused(
                cancel.request_id,
                cancel.application_id,
                cancel.office,
                cancel.time.date(),
                BookingRefusal.NO_SUCH_BOOKING,
                cancel.time,
            )
            return [Out(DECISIONS, cancel.application_id, refused)]
        booked = held.confirmed
        del self.active[str(cancel.citizen)]
        cancelled = Cancelled(
            cancel.request_id,
            cancel.application_id,
            booked.booking_code,
            booked.request_id,
            booked.office,
            booked.day,
            cancel.time,
            cancel.reason,
            cancel.channel,
        )
        return [Out(DECISIONS, cancel.application_id, cancelled), _release(booked, cancel)]

    def _decide(self, request_id: str, outs: list[Out]) -> list[Out]:
        self.done[request_id] = tuple(outs)
        return list(outs)


def _refuse(request: Request, reason: BookingRefusal) -> Out:
    refused = Refused(
        request.request_id, request.application_id, request.office, request.day, reason, request.time
    )
    return Out(DECISIONS, request.application_id, refused)


def _ask(request: Request, citizen: str) -> Out:
    ask = Ask(request.request_id, citizen, request.office, request.day, request.service, request.time)
    return Out(SLOTS, slot_key(request.office, request.day), ask)


def _release(booked: Confirmed, cause: Request | Cancel) -> Out:
    release = Release(booked.request_id, booked.office, booked.day, booked.service, cause.time)
    return Out(SLOTS, slot_key(booked.office, booked.day), release)
