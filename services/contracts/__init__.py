"""Pydantic models of every Avro contract (latest revision): event payloads, and the registry's views."""

from __future__ import annotations

from services.contracts import citizen, deadletters, passport, protection, registry
from services.contracts.base import EventModel, format_validation_error
from services.contracts.common import Channel, Personal, Sex
from services.contracts.registry_fields import ViewModel

__all__ = [
    "EVENT_MODELS",
    "VIEW_MODELS",
    "Channel",
    "EventModel",
    "Personal",
    "Sex",
    "ViewModel",
    "format_validation_error",
]

_MODELS: tuple[type[EventModel], ...] = (
    citizen.StayReported,
    citizen.DetailsChanged,
    citizen.Departed,
    citizen.ReturnedHome,
    passport.AppointmentBooked,
    passport.AppointmentCancelled,
    passport.AppointmentRescheduled,
    passport.ApplicationSubmitted,
    passport.BiometricsCaptured,
    passport.PaymentReceived,
    passport.PassportPrinted,
    passport.ReadyForPickup,
    passport.Collected,
    protection.HotlineCallReceived,
    protection.CaseOpened,
    protection.CaseUpdated,
    protection.CaseAssigned,
    protection.CaseTransferred,
    protection.CaseEscalated,
    protection.CaseClosed,
    protection.CaseReopened,
    registry.MatchConfirmed,
    registry.MatchRejected,
    registry.RecordSplit,
)

#: Avro full name -> payload model: how a decoded record (or a ``ce_type`` header) finds its model.
EVENT_MODELS: dict[str, type[EventModel]] = {model.SCHEMA: model for model in _MODELS}

#: Avro full name -> model of a view a processor publishes (golden record, figures, access log, dead-letter
#: figures): not events, so ``services.bus.events`` never accepts one from a producer.
VIEW_MODELS: dict[str, type[ViewModel]] = {
    model.SCHEMA: model
    for model in (
        registry.CitizenRecordModel,
        registry.OfficeCountModel,
        registry.RecordAccessedModel,
        deadletters.DeadLetterCountModel,
    )
}
