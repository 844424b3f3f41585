"""A decision as the contract ``passport.decisions`` carries: what a worker publishes for each one.

The record's ``ce_id`` is the decision id (``decision_id(request id)``) and its ``ce_time`` the request's
time, so a decision written again after a crash is the same record in every byte a consumer compares.
"""

from __future__ import annotations

from services.contracts.common import Channel
from services.contracts.passport import CancellationReason
from services.contracts.passport_booking import (
    AppointmentConfirmedModel,
    AppointmentRefusedModel,
    BookingCancelledModel,
)
from services.passport.booking import Cancelled, Confirmed, Decision, Refused

__all__ = ["DecisionRecord", "decision_record"]


DecisionRecord = AppointmentConfirmedModel | AppointmentRefusedModel | BookingCancelledModel


def decision_record(decision: Decision) -> DecisionRecord:
    """The contract model of a decision, as ``passport.decisions`` carries it."""
    if isinstance(decision, Confirmed):
        return AppointmentConfirmedModel(
            decision_id=decision.decision_id,
            request_id=decision.request_id,
            application_id=decision.application_id,
            booking_code=decision.booking_code,
            office=decision.office,
            slot_date=decision.day,
            queue_number=decision.queue_number,
            service=decision.service,
            channel=Channel(decision.channel),
            reschedules=decision.reschedules,
            decided_at=decision.time,
        )
    if isinstance(decision, Refused):
        return AppointmentRefusedModel(
            decision_id=decision.decision_id,
            request_id=decision.request_id,
            application_id=decision.application_id,
            office=decision.office,
            wished_date=decision.day,
            reason=decision.reason,
            decided_at=decision.time,
        )
    if isinstance(decision, Cancelled):
        return BookingCancelledModel(
            decision_id=decision.decision_id,
            request_id=decision.request_id,
            application_id=decision.application_id,
            booking_code=decision.booking_code,
            booked_by=decision.booked_by,
            office=decision.office,
            slot_date=decision.day,
            reason=CancellationReason(decision.reason),
            channel=Channel(decision.channel),
            decided_at=decision.time,
        )
    raise TypeError(type(decision).__name__)
