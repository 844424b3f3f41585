"""Pydantic models of every bus event payload, one per Avro contract full name (latest revision)."""

from __future__ import annotations

from services.bus.models import citizen, passport, protection
from services.bus.models.base import EventModel, format_validation_error
from services.bus.models.common import Channel, Personal, Sex

__all__ = ["EVENT_MODELS", "Channel", "EventModel", "Personal", "Sex", "format_validation_error"]

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
)

#: Avro full name -> payload model: how a decoded record (or a ``ce_type`` header) finds its model.
EVENT_MODELS: dict[str, type[EventModel]] = {model.SCHEMA: model for model in _MODELS}
