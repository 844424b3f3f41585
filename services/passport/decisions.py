"""A decision as the contract ``passport.decisions`` carries: what a worker publishes for each one.

The record's ``ce_id`` is the decision id (``decision_id(request id)``) and its ``ce_time`` the request's
time, so a decision written again after a crash is the same record in every byte a consumer compares.
"""

from __future__ import annotations

from services.contracts.common import Channel
from services.contracts.passport import AppointmentCancelled, CancellationReason
from services.contracts.passport_booking import AppointmentConfirmedModel, AppointmentRefusedModel
from services.passport.booking import Cancelled, Confirmed, Decision, Refused

__all__ = ["decision_record"]


def decision_record(
    decision: Decision,
) -> AppointmentConfirmedModel | AppointmentRefusedModel | AppointmentCancelled:
    """The contract model of a decision (a cancellation is the existing ``AppointmentCancelled``, its
    ``appointment_id`` the booking code).
    """
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
        return AppointmentCancelled(
            application_id=decision.application_id,
            appointment_id=decision.booking_code,
            office=decision.office,
            reason=CancellationReason(decision.reason),
            channel=Channel(decision.channel),
        )
    raise TypeError(type(decision).__name__)
