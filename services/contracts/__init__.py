"""Pydantic models of every Avro contract (latest revision): event payloads, the registry's views, and the
records processors write for themselves on internal topics.
"""

from __future__ import annotations

from services.contracts import (
    audit,
    citizen,
    deadletters,
    passport,
    passport_booking,
    passport_items,
    passport_views,
    protection,
    protection_items,
    protection_views,
    registry,
    registry_items,
    traffic,
)
from services.contracts.base import EventModel, format_validation_error
from services.contracts.common import Channel, Personal, Sex
from services.contracts.registry_fields import ViewModel
from services.contracts.registry_items import InternalModel

__all__ = [
    "EVENT_MODELS",
    "INTERNAL_MODELS",
    "VIEW_MODELS",
    "Channel",
    "EventModel",
    "InternalModel",
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
    passport_booking.AppointmentRequested,
    passport_booking.CancellationRequested,
    passport_booking.QuotaSet,
    passport_booking.ApplicationRefused,
    passport_booking.ActionRequired,
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
#: figures, protection cases with their breaches, figures and lookups): not events, so
#: ``services.bus.events`` never accepts one from a producer.
VIEW_MODELS: dict[str, type[ViewModel]] = {
    model.SCHEMA: model
    for model in (
        registry.CitizenRecordModel,
        registry.OfficeCountModel,
        registry.RecordAccessedModel,
        deadletters.DeadLetterCountModel,
        protection_views.ProtectionCaseModel,
        protection_views.CaseOverdueModel,
        protection_views.CaseOverdueClearedModel,
        protection_views.ProtectionStatsModel,
        protection_views.CaseAccessedModel,
        passport_booking.AppointmentConfirmedModel,
        passport_booking.AppointmentRefusedModel,
        passport_booking.BookingCancelledModel,
        passport_booking.NotificationRequestedModel,
        passport_views.PassportApplicationModel,
        passport_views.PassportFiguresModel,
        audit.ArchiveAnchorModel,
        traffic.OfficeTrafficModel,
    )
}

#: Avro full name -> model of a record a processor writes for itself on an internal topic (the resolver's
#: items on ``registry.observations``, the protection view's on ``protection.items``), or the archive's
#: record in its files: neither an event a producer may send nor a view others read, but held to the same
#: contract rules (an ``.avsc``, personal data only in ``personal``).
INTERNAL_MODELS: dict[str, type[InternalModel]] = {
    model.SCHEMA: model
    for model in (
        registry_items.ResolverItemModel,
        protection_items.ProtectionItemModel,
        passport_items.BookingItemModel,
        passport_items.StatusItemModel,
        audit.ArchivedRecordModel,
    )
}
