"""What a view supplies to the runtime, and nothing else: a projection, pure, with no Kafka, faust or I/O.

A view's state for one input partition lives in that partition's store columns (and, for a view that
needs it, in memory rebuilt from the partition's history). The runtime hands it the partition's records
in offset order; the live worker, the auditors' replay and the tests drive the same five methods:

- ``open``: the state of one partition over its store (in-memory parts empty);
- ``read``: the item one input record stands for (None: nothing to apply), or a ``BusError`` refusal;
- ``restore``: rebuild the in-memory parts from an item already applied (only if ``needs_history``);
- ``apply``: fold one item into the state (safe to apply twice: items carry their own ids);
- ``drain``: the view records of everything that changed since the last drain, figures as absolute values;
- ``tick``: time passes (only for a view with ``clock``): the runtime appends a tick record to each input
  partition it owns every minute, and hands the tick's log timestamp here in offset order, so whatever is
  time-driven (a case going overdue) is computed from the log and a replay gives the live answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from services.bus.decoder import RawRecord
from services.bus.errors import MalformedPayload
from services.contracts.base import format_validation_error
from services.runtime.store import PartitionStore

S = TypeVar("S")
I = TypeVar("I")  # noqa: E741 - the item type, named as the protocol's docs name it
T = TypeVar("T")


@dataclass(frozen=True)
class ViewRecord:
    """One record a view publishes: to ``topic`` (catalogue name), under ``key``, the contract ``view``."""

    topic: str
    key: str
    view: Any
    """A contract model with ``SCHEMA`` and ``to_avro()`` (``services.contracts.ViewModel``), or a
    ``PlainView`` of the same data."""
    event_id: str | None = None
    """The record's ``ce_id`` when the view derives it (one breach, one id, however often it is sent
    again after a crash); a fresh id when None."""
    time: datetime | None = None
    """The record's ``ce_time`` when the view knows when it happened (from its log); now when None."""


@dataclass(frozen=True)
class PlainView:
    """A view already as plain Avro data, for a view whose hot path builds it without the contract model
    (its tests prove the data validates into the model and encodes to the same bytes).
    """

    SCHEMA: str
    """Avro full name of the contract."""
    record: dict[str, Any]

    def to_avro(self) -> dict[str, Any]:
        """The record as ``fastavro.schemaless_writer`` takes it."""
        return self.record


class Projection(Protocol[S, I]):
    """A view as the runtime drives it (see the module's docstring for the contract of each method)."""

    name: str
    """The processor's name: its consumer group, its component in dead letters, its metric label."""
    input_topic: str
    """The catalogue name of the topic the view folds."""
    needs_history: bool
    """Whether ``restore`` must see the items before ``progress`` when a partition is taken over."""
    clock: bool
    """Whether the view needs ticks (``tick``): the runtime then appends one to each owned partition."""

    def open(self, partition: PartitionStore) -> S:
        """The state of one input partition, over that partition's store."""
        ...

    def read(self, record: RawRecord) -> I | None:
        """The item ``record`` stands for; None if there is nothing to apply; BusError if it is refused."""
        ...

    def restore(self, state: S, item: I) -> None:
        """Rebuild the in-memory part of ``state`` from an item the stored state already holds."""
        ...

    def apply(self, state: S, item: I) -> None:
        """Fold ``item`` into ``state``; applying it again changes nothing. A ``BusError`` refuses the item
        (dead-lettered with its reason) and must be raised before anything changed; any other exception
        is a defect: the item is dead-lettered as PROCESSING_FAILED and its chunk redone without it.
        """
        ...

    def drain(self, state: S, as_of: datetime) -> list[ViewRecord]:
        """The view records of what changed since the last drain (figures updated and absolute)."""
        ...

    def tick(self, state: S, at: datetime) -> None:
        """The partition's clock reached ``at`` (a tick's log timestamp); only called when ``clock``."""
        ...


TICK_HEADER = "bus_tick"
"""The header that marks a tick record on an input partition (its value is empty, its timestamp the time)."""


def refusing(what: str, decode: Callable[[], T]) -> T:
    """``decode()`` of an input record, or ``MalformedPayload`` naming ``what`` and why (a validation
    error's field and rule, an exception's type; never a value): what ``Projection.read`` raises for a
    record that is not its item.
    """
    try:
        return decode()
    except ValidationError as exc:
        raise MalformedPayload(f"not a {what}: {format_validation_error(exc)}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedPayload(f"not a {what} ({type(exc).__name__})") from None
