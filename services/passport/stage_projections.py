"""The three fair-booking stages as projections on the runtime (``services.runtime.projection``).

One projection per stage topic: ``passport-phones`` folds ``passport.phones`` (``phones.PhoneStage``),
``passport-requests`` folds ``passport.requests`` (``citizens.CitizenStage``), ``passport-slots`` folds
``passport.slots`` (``slots.SlotStage``). Each partition's stage keeps its state in the partition's store
columns (``stage_store``), committed with the partition's progress, so a take-over reads no history
(``needs_history = False``) and no clock is needed: every time comes from the records.

``read`` decodes a ``BookingItem`` and refuses (a ``BusError``, dead-lettered by the runtime) anything that
does not decode, lacks a field its kind needs, or is a kind that does not belong on the stage's topic.
``apply`` folds the record and keeps what it wrote; ``drain`` returns it: stage records as ``BookingItem``
to their stage topic under their key, decisions as their contract (``decisions.decision_record``) to
``passport.decisions`` under the application id, with the decision id as ``ce_id`` and the request's time
as ``ce_time``, so a decision written again after a crash is the same record. A record read again (a crash
before the commit) writes again exactly what it wrote the first time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Final, Generic, TypeVar

from services.bus.codec import AvroCodec
from services.bus.decoder import RawRecord
from services.bus.errors import MalformedPayload, WrongTopic
from services.bus.schemas import load_registry
from services.bus.settings import get_settings
from services.contracts.common import Channel
from services.contracts.passport import CancellationReason, PassportService
from services.contracts.passport_booking import BookingRefusal
from services.contracts.passport_items import BookingItemKind, BookingItemModel
from services.passport.booking import (
    DECISIONS,
    PHONES,
    REQUESTS,
    SLOTS,
    Answer,
    Ask,
    Cancel,
    Cancelled,
    Confirmed,
    Out,
    QuotaChange,
    Refused,
    Release,
    Request,
)
from services.passport.citizens import CitizenStage
from services.passport.decisions import decision_record
from services.passport.items import StageRecord, from_item, to_item
from services.passport.phones import PhoneLimit, PhoneStage
from services.passport.slots import SlotStage
from services.passport.stage_store import CACHE_SIZE, citizen_stage, phone_stage, slot_stage
from services.runtime.projection import ViewRecord, refusing
from services.runtime.store import PartitionStore

__all__ = [
    "ITEM_SCHEMA",
    "PhonesProjection",
    "RequestsProjection",
    "SlotsProjection",
    "StagePartition",
    "view_record",
]

ITEM_SCHEMA = BookingItemModel.SCHEMA
T = TypeVar("T", PhoneStage, CitizenStage, SlotStage)


@cache
def _codec() -> AvroCodec:
    """The bus's codec over ``schemas/``, built once per process."""
    return AvroCodec(load_registry(get_settings().schemas_dir))


@dataclass
class StagePartition(Generic[T]):
    """One partition of a stage topic: its stage over the partition's columns, and what it wrote since the
    last drain.
    """

    stage: T
    views: list[ViewRecord] = field(default_factory=list)


def view_record(out: Out) -> ViewRecord:
    """What the worker publishes for one record a stage wrote."""
    value = out.value
    if isinstance(value, Confirmed | Refused | Cancelled):
        return ViewRecord(
            DECISIONS,
            value.application_id,
            decision_record(value),
            event_id=value.decision_id,
            time=value.time,
        )
    return ViewRecord(out.topic, out.key, to_item(value))


_CHANNELS: Final = frozenset(Channel)
_REASONS: Final = {
    BookingItemKind.CANCEL: ("CancellationReason", frozenset(CancellationReason)),
    BookingItemKind.ANSWER: ("BookingRefusal", frozenset(BookingRefusal)),
}


def _check_symbols(item: BookingItemModel) -> None:
    """MalformedPayload for a channel or reason the decision's contract has no symbol for (the item's
    contract carries them as text): refused here, not when its decision is written.
    """
    kind = item.kind.value
    if item.channel is not None and item.channel not in _CHANNELS:
        raise MalformedPayload(f"a {kind} item with a channel that is no Channel symbol")
    named = _REASONS.get(item.kind)
    if item.reason is not None and named is not None and item.reason not in named[1]:
        raise MalformedPayload(f"a {kind} item with a reason that is no {named[0]} symbol")


class _StageProjection(Generic[T]):
    """What the three stage projections share: reading items, keeping and draining what a stage wrote."""

    name: str
    input_topic: str
    kinds: frozenset[BookingItemKind]
    """The kinds of item that belong on ``input_topic``."""
    needs_history = False
    clock = False

    def __init__(self, *, codec: AvroCodec | None = None, cache_size: int = CACHE_SIZE) -> None:
        self.codec = codec
        self.cache_size = cache_size

    def read(self, record: RawRecord) -> StageRecord:
        """The stage record ``record`` carries; MalformedPayload (or the codec's refusal) for what is no
        complete ``BookingItem`` (a channel or reason without its symbol included), WrongTopic for a kind that
        does not belong on this stage's topic.
        """
        if record.value is None:
            raise MalformedPayload(f"a record on {self.input_topic} without a value")
        codec = self.codec or _codec()
        value = record.value
        item = refusing(
            "booking item",
            lambda: BookingItemModel.from_avro(codec.decode(value, expected=ITEM_SCHEMA).record),
        )
        if item.kind not in self.kinds:
            raise WrongTopic(f"a {item.kind.value} item does not belong on {self.input_topic}")
        _check_symbols(item)
        try:
            return from_item(item)
        except ValueError as exc:  # its message names the kind and the missing field, never a value
            raise MalformedPayload(f"incomplete booking item: {exc}") from None

    def restore(self, state: StagePartition[T], item: StageRecord) -> None:
        """Nothing to rebuild from history: the state is in the store."""

    def tick(self, state: StagePartition[T], at: datetime) -> None:
        """No clock: every time a stage judges by comes from its records."""

    def apply(self, state: StagePartition[T], item: StageRecord) -> None:
        """Fold ``item`` into the partition's stage and keep what it wrote, as the records to publish (built
        here, so a record that cannot be written is its item's defect); WrongTopic (before any change) for a
        record that does not belong on this stage's topic.
        """
        outs = self._fold(state.stage, item)
        if any(out.broadcast for out in outs):
            raise RuntimeError(f"the {self.name} stage wrote a broadcast: only the intake sends one")
        state.views.extend(view_record(out) for out in outs)

    def drain(self, state: StagePartition[T], as_of: datetime) -> list[ViewRecord]:  # noqa: ARG002 - see below
        """What the stage wrote since the last drain, in order (``as_of`` is not used: every record's
        content and time come from the log).
        """
        views, state.views = state.views, []
        return views

    def _fold(self, stage: T, item: StageRecord) -> list[Out]:
        raise NotImplementedError

    def _refuse(self, item: StageRecord) -> WrongTopic:
        return WrongTopic(f"a {to_item(item).kind.value} item does not belong on {self.input_topic}")


class PhonesProjection(_StageProjection[PhoneStage]):
    """Stage 1a on ``passport.phones``: the per-phone limit (``phones.PhoneStage``)."""

    name = "passport-phones"
    input_topic = PHONES
    kinds = frozenset({BookingItemKind.REQUEST})

    def __init__(
        self,
        limit: PhoneLimit | None = None,
        *,
        codec: AvroCodec | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        super().__init__(codec=codec, cache_size=cache_size)
        self.limit = limit or PhoneLimit()

    def open(self, partition: PartitionStore) -> StagePartition[PhoneStage]:
        """The stage of ``partition``, over its columns."""
        return StagePartition(phone_stage(partition, self.limit, cache_size=self.cache_size))

    def _fold(self, stage: PhoneStage, item: StageRecord) -> list[Out]:
        if not isinstance(item, Request):
            raise self._refuse(item)
        return stage.apply(item)

    def recent(self, state: StagePartition[PhoneStage], phone_key: str, at: datetime) -> int:
        """How many of the phone's requests were passed on within the limit's window up to ``at`` (a
        request at ``at`` is refused once this reaches ``limit.limit``).
        """
        start = at - self.limit.window
        return sum(1 for time in state.stage.passed.get(phone_key, ()) if start < time <= at)


class RequestsProjection(_StageProjection[CitizenStage]):
    """Stages 1 and 3 on ``passport.requests``: one booking and one request in flight per citizen
    (``citizens.CitizenStage``).
    """

    name = "passport-requests"
    input_topic = REQUESTS
    kinds = frozenset({BookingItemKind.REQUEST, BookingItemKind.CANCEL, BookingItemKind.ANSWER})

    def open(self, partition: PartitionStore) -> StagePartition[CitizenStage]:
        """The stage of ``partition``, over its columns."""
        return StagePartition(citizen_stage(partition, cache_size=self.cache_size))

    def _fold(self, stage: CitizenStage, item: StageRecord) -> list[Out]:
        if not isinstance(item, Request | Cancel | Answer):
            raise self._refuse(item)
        return stage.apply(item)

    def booking(self, state: StagePartition[CitizenStage], citizen: str) -> Confirmed | None:
        """The citizen's active booking as this partition holds it (its day may be over already)."""
        held = state.stage.active.get(citizen)
        return None if held is None else held.confirmed

    def pending(self, state: StagePartition[CitizenStage], citizen: str) -> Request | None:
        """The citizen's request waiting for its office-day's answer, if any."""
        return state.stage.pending.get(citizen)


class SlotsProjection(_StageProjection[SlotStage]):
    """Stage 2 on ``passport.slots``: each office-day's capacity (``slots.SlotStage``)."""

    name = "passport-slots"
    input_topic = SLOTS
    kinds = frozenset({BookingItemKind.ASK, BookingItemKind.RELEASE, BookingItemKind.QUOTA})

    def open(self, partition: PartitionStore) -> StagePartition[SlotStage]:
        """The stage of ``partition``, over its columns."""
        return StagePartition(slot_stage(partition, cache_size=self.cache_size))

    def _fold(self, stage: SlotStage, item: StageRecord) -> list[Out]:
        if not isinstance(item, Ask | Release | QuotaChange):
            raise self._refuse(item)
        return stage.apply(item)

    def held(self, state: StagePartition[SlotStage], office: str, day: date, service: PassportService) -> int:
        """Slots of the office-day held for the service (booked, or answered and not yet decided)."""
        return state.stage.held(office, day, service)

    def capacity(
        self, state: StagePartition[SlotStage], office: str, day: date, service: PassportService
    ) -> int | None:
        """The office-day's capacity for the service as this partition knows it; None without a quota."""
        return state.stage.capacity(office, day, service)
