"""The stages' records as ``BookingItemModel`` and back: what the workers write on the stage topics.

One flat contract for six kinds keeps the stage topics readable by any Avro client; ``to_item`` and
``from_item`` are exact inverses (the tests prove it for every record a run of the model writes).
"""

from __future__ import annotations

from typing import TypeVar

from services.contracts.passport import PassportService
from services.contracts.passport_booking import BookingRefusal
from services.contracts.passport_items import BookingItemKind, BookingItemModel
from services.passport.booking import Answer, Ask, Cancel, QuotaChange, Release, Request

__all__ = ["StageRecord", "from_item", "to_item"]

V = TypeVar("V")
StageRecord = Request | Cancel | Ask | Answer | Release | QuotaChange


def to_item(record: StageRecord) -> BookingItemModel:
    """The contract of a stage record."""
    if isinstance(record, Request):
        return BookingItemModel(
            kind=BookingItemKind.REQUEST,
            request_id=record.request_id,
            application_id=record.application_id,
            citizen=record.citizen,
            office=record.office,
            day=record.day,
            service=record.service,
            channel=record.channel,
            phone_key=record.phone_key,
            not_applicant=record.not_applicant,
            reschedules=record.reschedules,
            time=record.time,
        )
    if isinstance(record, Cancel):
        return BookingItemModel(
            kind=BookingItemKind.CANCEL,
            not_applicant=False,
            request_id=record.request_id,
            application_id=record.application_id,
            citizen=record.citizen,
            office=record.office,
            booking_code=record.booking_code,
            reason=record.reason,
            channel=record.channel,
            time=record.time,
        )
    if isinstance(record, Ask):
        return BookingItemModel(
            kind=BookingItemKind.ASK,
            not_applicant=False,
            request_id=record.request_id,
            citizen=record.citizen,
            office=record.office,
            day=record.day,
            service=record.service,
            time=record.time,
        )
    if isinstance(record, Answer):
        return BookingItemModel(
            kind=BookingItemKind.ANSWER,
            not_applicant=False,
            request_id=record.request_id,
            citizen=record.citizen,
            office=record.office,
            queue_number=record.queue_number,
            reason=record.reason.value if record.reason is not None else None,
            time=record.time,
        )
    if isinstance(record, Release):
        return BookingItemModel(
            kind=BookingItemKind.RELEASE,
            not_applicant=False,
            request_id=record.request_id,
            office=record.office,
            day=record.day,
            service=record.service,
            time=record.time,
        )
    return BookingItemModel(
        kind=BookingItemKind.QUOTA,
        not_applicant=False,
        quota_id=record.quota_id,
        office=record.office,
        service=record.service,
        capacity=record.capacity,
        day=record.from_day,
        time=record.time,
    )


class _Missing(ValueError):
    """An item without a field its kind needs (names the field, never a value)."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} item without {name}")


def _need(item: BookingItemModel, name: str, value: V | None) -> V:
    if value is None:
        raise _Missing(item.kind.value, name)
    return value


def from_item(item: BookingItemModel) -> StageRecord:
    """The stage record of a contract; ValueError for an item missing a field its kind needs."""
    kind, request_id = item.kind, item.request_id
    if kind is BookingItemKind.QUOTA:
        return QuotaChange(
            _need(item, "quota_id", item.quota_id),
            item.office,
            _need(item, "service", item.service),
            _need(item, "capacity", item.capacity),
            _need(item, "day", item.day),
            item.time,
        )
    rid = _need(item, "request_id", request_id)
    if kind is BookingItemKind.REQUEST:
        return Request(
            rid,
            _need(item, "application_id", item.application_id),
            item.citizen,
            item.office,
            _need(item, "day", item.day),
            _need(item, "service", item.service),
            _need(item, "channel", item.channel),
            item.phone_key,
            item.not_applicant,
            item.reschedules,
            item.time,
        )
    if kind is BookingItemKind.CANCEL:
        return Cancel(
            rid,
            _need(item, "application_id", item.application_id),
            item.citizen,
            item.office,
            _need(item, "booking_code", item.booking_code),
            item.time,
            _need(item, "reason", item.reason),
            _need(item, "channel", item.channel),
        )
    if kind is BookingItemKind.ANSWER:
        reason = BookingRefusal(item.reason) if item.reason is not None else None
        return Answer(
            rid, _need(item, "citizen", item.citizen), item.queue_number, reason, item.time, item.office
        )
    service: PassportService = _need(item, "service", item.service)
    day = _need(item, "day", item.day)
    if kind is BookingItemKind.ASK:
        return Ask(rid, _need(item, "citizen", item.citizen), item.office, day, service, item.time)
    return Release(rid, item.office, day, service, item.time)
