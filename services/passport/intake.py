"""The passport service's intake transform: accepted events and decisions -> stage records and status items.

It runs in the runtime's intake process (``services.runtime.intake``), which decodes and validates
``passport`` and ``passport.quotas`` (refusals dead-lettered there) and reads ``passport.decisions`` as a
view topic. This module makes of each:

- a request or cancellation (``passport``) or a quota (``passport.quotas``): the first stage's record
  (``services.passport.protocol.intake``), to ``passport.phones``, ``passport.requests`` or, for a quota,
  every partition of ``passport.slots``; the NIK and passport number are hashed here, and only keys travel on;
- any fact about an application (its requests, its decision, each status step): a status item keyed by
  application id to ``passport.status`` (``services.passport.status_items``), so the status view folds one
  application on one partition. The intake is stateless; a decision reaches the status view through it, so
  an application's decision may arrive after its later steps, which the status fold allows for.
"""

from __future__ import annotations

from collections.abc import Callable

from services.bus.codec import AvroCodec
from services.bus.events import BusEvent
from services.bus.keys import citizen_hasher
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.passport_booking import (
    AppointmentConfirmedModel,
    AppointmentRefusedModel,
    AppointmentRequested,
    BookingCancelledModel,
    CancellationRequested,
    QuotaSet,
)
from services.passport.items import StageRecord, to_item
from services.passport.protocol import intake
from services.passport.status_items import encode_status_item, status_item
from services.passport.topics import DECISIONS, PASSPORT, PHONES, QUOTAS, REQUESTS, SLOTS, STATUS
from services.runtime.intake import Forward

__all__ = ["ROUTES", "SOURCES", "TARGET", "VIEW_SOURCES", "PassportTransform", "make_transform"]

SOURCES = (PASSPORT, QUOTAS)
"""Domain topics the intake reads (as bus events)."""
VIEW_SOURCES = (DECISIONS,)
"""View topics the intake reads (as view models): the service's own decisions, for the status view."""
TARGET = REQUESTS
ROUTES = (PHONES, SLOTS, STATUS)

Incoming = BusEvent | AppointmentConfirmedModel | AppointmentRefusedModel | BookingCancelledModel
_BOOKING = (AppointmentRequested, CancellationRequested, QuotaSet)


class PassportTransform:
    """The transform, with its hasher and codec: an accepted event or decision -> the records to forward."""

    def __init__(self, hasher: Callable[[str], str], codec: AvroCodec, *, encode: bool = True) -> None:
        self.hasher = hasher
        self.codec = codec
        self.encode = encode
        """False for a reader of the items alone (a replay): each forward's bytes are then left empty."""

    def __call__(self, incoming: Incoming) -> list[Forward]:
        """A request's, cancellation's or quota's stage record, and an application fact's status item."""
        forwards = []
        if isinstance(incoming, BusEvent) and isinstance(incoming.payload, _BOOKING):
            out = intake(incoming.payload, incoming.envelope.time, self.hasher)
            if not isinstance(out.value, StageRecord):
                raise TypeError(type(out.value).__name__)  # the intake writes stage records only
            item = to_item(out.value)
            value = self.codec.encode(item.SCHEMA, item.to_avro()) if self.encode else b""
            forwards.append(Forward(out.key, value, broadcast=out.broadcast, topic=out.topic))
        fact = status_item(incoming, self.hasher)
        if fact is not None:
            value = encode_status_item(fact) if self.encode else b""
            forwards.append(Forward(fact.application_id, value, topic=STATUS, item=fact))
        return forwards


def make_transform(settings: BusSettings, *, encode: bool = True) -> PassportTransform:
    """The transform, made in the intake's own process (the hasher holds the citizen key); ``encode``
    False for a reader of the items alone (a replay).
    """
    codec = AvroCodec(load_registry(settings.schemas_dir))
    return PassportTransform(citizen_hasher(settings), codec, encode=encode)
