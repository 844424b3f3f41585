"""``BookingItemModel``: the fair-booking stages' records on ``passport.phones``, ``passport.requests`` and
``passport.slots`` (internal, kept forever), one flat record for all six kinds.

No personal data travels between the stages: citizens and phones only as pseudonymous keys, so the record
has no ``personal`` field at all. The model mirrors ``schemas/passport/v1/BookingItem.1.avsc``
(``tests/unit/test_contracts.py``); ``services.passport.items`` converts it to and from the stages' records.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, ClassVar

from pydantic import Field

from services.contracts.common import AVRO_INT_MAX, NonEmptyStr, OfficeCode
from services.contracts.passport import PassportService
from services.contracts.registry_fields import Timestamp
from services.contracts.registry_items import InternalModel

__all__ = ["BookingItemKind", "BookingItemModel"]


class BookingItemKind(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.BookingItemKind``: which stage record an item is."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"
    ASK = "ASK"
    ANSWER = "ANSWER"
    RELEASE = "RELEASE"
    QUOTA = "QUOTA"


class BookingItemModel(InternalModel):
    """One stage record; which optional fields are set depends on ``kind`` (``services.passport.items``)."""

    SCHEMA: ClassVar[str] = "id.go.kemlu.bus.passport.v1.BookingItem"
    TOPIC: ClassVar[str] = "passport.requests"
    """The stages' middle topic; the same record travels on ``passport.phones`` and ``passport.slots``."""

    kind: BookingItemKind
    request_id: NonEmptyStr | None = None
    application_id: NonEmptyStr | None = None
    citizen: NonEmptyStr | None = None
    office: OfficeCode
    day: date | None = None
    service: PassportService | None = None
    channel: NonEmptyStr | None = None
    phone_key: NonEmptyStr | None = None
    not_applicant: bool
    reschedules: NonEmptyStr | None = None
    booking_code: NonEmptyStr | None = None
    queue_number: Annotated[int, Field(ge=1, le=AVRO_INT_MAX)] | None = None
    reason: NonEmptyStr | None = None
    quota_id: NonEmptyStr | None = None
    capacity: Annotated[int, Field(ge=0, le=AVRO_INT_MAX)] | None = None
    time: Timestamp
