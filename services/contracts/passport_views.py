"""The passport status view's contracts: each application (``passport.applications``) and the figures of
each office-day (``passport.figures``), both compacted, both ``VIEW_MODELS``.

Views, not events: only the status view (``services.passport.status_projection``) writes them, so no
producer can send one (``services.bus.events`` accepts none). Neither holds personal data: no birth date nor
any key of it, no contact. Each model mirrors its ``.avsc`` in ``schemas/passport/v1``
(``tests/unit/test_contracts.py``).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, ClassVar

from pydantic import Field

from services.contracts.common import AVRO_INT_MAX, AVRO_LONG_MAX, NonEmptyStr, OfficeCode
from services.contracts.registry_fields import Count, Timestamp, ViewModel

__all__ = [
    "APPLICATIONS_TOPIC",
    "FIGURES_TOPIC",
    "ApplicationStatus",
    "PassportApplicationModel",
    "PassportFiguresModel",
]

_NAMESPACE = "id.go.kemlu.bus.passport.v1"
APPLICATIONS_TOPIC = "passport.applications"
FIGURES_TOPIC = "passport.figures"


class ApplicationStatus(enum.StrEnum):
    """``id.go.kemlu.bus.passport.v1.ApplicationStatus``: where an application stands; later symbols read
    as OTHER (the view itself never writes OTHER).
    """

    REQUESTED = "REQUESTED"
    BOOKED = "BOOKED"
    BOOKING_REFUSED = "BOOKING_REFUSED"
    CANCELLED = "CANCELLED"
    SUBMITTED = "SUBMITTED"
    BIOMETRICS_CAPTURED = "BIOMETRICS_CAPTURED"
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED"
    PRINTED = "PRINTED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    COLLECTED = "COLLECTED"
    NEEDS_ACTION = "NEEDS_ACTION"
    REFUSED = "REFUSED"
    OTHER = "OTHER"


class PassportApplicationModel(ViewModel):
    """``PassportApplication``: one application as the status view holds it (no personal data)."""

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.PassportApplication"
    TOPIC: ClassVar[str] = APPLICATIONS_TOPIC

    application_id: NonEmptyStr
    office: OfficeCode
    status: ApplicationStatus
    booking_code: NonEmptyStr | None = None
    booked_day: date | None = None
    queue_number: Annotated[int, Field(ge=1, le=AVRO_INT_MAX)] | None = None
    booking_refusal: NonEmptyStr | None = None
    submitted_on: date | None = None
    paid_on: date | None = None
    ready_from: date | None = None
    expected_ready: date | None = None
    collected_on: date | None = None
    action: NonEmptyStr | None = None
    refusal: NonEmptyStr | None = None
    renewal: bool
    facts: Annotated[int, Field(ge=0, le=AVRO_INT_MAX)]
    updated_at: Timestamp


class PassportFiguresModel(ViewModel):
    """``PassportFigures``: one partition's absolute figures of one office-day; readers sum over
    partitions (``services.passport.figures.sum_partitions``).
    """

    SCHEMA: ClassVar[str] = f"{_NAMESPACE}.PassportFigures"
    TOPIC: ClassVar[str] = FIGURES_TOPIC

    office: OfficeCode
    day: date
    partition: Annotated[int, Field(ge=0, le=AVRO_INT_MAX)]
    bookings: Count
    freed: Count
    quota_used: Annotated[int, Field(ge=-AVRO_LONG_MAX - 1, le=AVRO_LONG_MAX)]
    """Negative in a partition that freed a booking counted in another; the sum is exact."""
    refusals: dict[str, Count]
    ready_not_collected: Count
    ready_days: dict[str, Count]
    as_of: Timestamp

    @property
    def group(self) -> str:
        """The key without the partition: what the figures of all partitions are summed by."""
        return f"{self.office}|{self.day.isoformat()}"

    @property
    def record_key(self) -> str:
        """The Kafka record key: ``<office>|<yyyy-mm-dd>|<partition>``."""
        return f"{self.group}|{self.partition}"
