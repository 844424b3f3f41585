"""The application-status view as a projection on the runtime: status items of ``passport.status`` in
(keyed by application id, so one application's facts are on one partition, in order), applications,
notifications and figures out. One logic, used live, by a replay and by the tests (no Kafka here).

Per partition, everything is in the store's columns, so nothing needs the partition's history
(``needs_history = False``) and nothing is time-driven (``clock = False``):

- ``applications``: application id -> the ``status.Application`` (JSON), birth-date key and contact key
  included (pseudonymous; they never leave the worker but as a notification's recipient);
- ``figures``: ``<office>|<yyyy-mm-dd>`` -> this partition's absolute ``figures.OfficeDayFigures``;
- ``decisions``: decision ids whose figures are counted (a decision sent again counts once);
- ``bookings``: booking code -> the office-day its confirmation counted on, and whether it was freed (by a
  cancellation or a reschedule, once; a cancellation that arrives first is remembered and counted when its
  confirmation comes);
- ``meta``: the partition clock (the latest fact time seen).

``read`` refuses (``MalformedPayload``, ``UnknownSchema``: a ``BusError``, dead-lettered by the runtime)
whatever is no ``StatusItem``, naming no value. ``apply`` folds one item (``status.apply_status``); a step
that does not fit is refused with ``StepRefused`` before anything changed. ``drain`` returns the changed
applications (``PassportApplication`` on the compacted ``passport.applications``, keyed by application id;
no personal data), the notifications (``NotificationRequested`` on ``passport.notifications``, keyed by
recipient key, ``ce_id`` the notification id) and the office-days whose figures moved (``PassportFigures``
on the compacted ``passport.figures``, keyed ``<office>|<yyyy-mm-dd>|<partition>``, absolute values with
``as_of`` the partition clock: readers sum over partitions, ``figures.sum_partitions``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson

from services.bus.decoder import RawRecord
from services.contracts.passport_booking import NOTIFICATIONS_TOPIC, NotificationChannel
from services.contracts.passport_items import STATUS_TOPIC, StatusItemKind, StatusItemModel
from services.contracts.passport_views import (
    APPLICATIONS_TOPIC,
    FIGURES_TOPIC,
    ApplicationStatus,
    PassportApplicationModel,
)
from services.passport.answer import expected_ready
from services.passport.booking import NAMESPACE
from services.passport.figures import OfficeDayFigures, application_groups, figures_view, moved
from services.passport.status import Application, apply_status
from services.passport.status_items import decode_status_item
from services.runtime.projection import ViewRecord, refusing
from services.runtime.store import Column, PartitionStore

__all__ = [
    "StatusColumns",
    "StatusPartition",
    "StatusProjection",
    "application_view",
    "decode_application",
    "encode_application",
]

_CLOCK = "clock"
_K = StatusItemKind
_DATES = ("booked_day", "submitted_on", "paid_on", "ready_from", "collected_on")


def encode_application(app: Application) -> bytes:
    """An application as the ``applications`` column stores it (JSON)."""
    data: dict[str, Any] = {
        "application_id": app.application_id,
        "office": app.office,
        "status": app.status.value,
        "rank": app.rank,
        "applied": sorted(app.applied),
        "since": app.since,
        "updated_at": app.updated_at,
        "booking_code": app.booking_code,
        "queue_number": app.queue_number,
        "booking_refusal": app.booking_refusal,
        "cancelled": sorted(app.cancelled),
        "action": app.action,
        "refusal": app.refusal,
        "birth_date_key": app.birth_date_key,
        "renewal": app.renewal,
        "contact": None if app.contact is None else [app.contact[0].value, app.contact[1]],
    }
    for name in _DATES:
        data[name] = getattr(app, name)
    return orjson.dumps(data)


def decode_application(raw: bytes) -> Application:
    """What ``encode_application`` wrote."""
    data = orjson.loads(raw)
    contact = data["contact"]
    return Application(
        application_id=data["application_id"],
        office=data["office"],
        status=ApplicationStatus(data["status"]),
        rank=data["rank"],
        applied=frozenset(data["applied"]),
        since=_time(data["since"]),
        updated_at=_time(data["updated_at"]),
        booking_code=data["booking_code"],
        queue_number=data["queue_number"],
        booking_refusal=data["booking_refusal"],
        cancelled=frozenset(data["cancelled"]),
        action=data["action"],
        refusal=data["refusal"],
        birth_date_key=data["birth_date_key"],
        renewal=data["renewal"],
        contact=None if contact is None else (NotificationChannel(contact[0]), contact[1]),
        **{name: None if data[name] is None else date.fromisoformat(data[name]) for name in _DATES},
    )


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def application_view(app: Application) -> PassportApplicationModel:
    """The published ``PassportApplication``: status, booking, dates; no birth date, key or contact."""
    expected = None
    if app.paid_on is not None and app.ready_from is None and app.status is not ApplicationStatus.REFUSED:
        expected = expected_ready(app.paid_on)
    if app.updated_at is None:  # every stored application has applied a fact
        raise ValueError("an application without a fact")
    return PassportApplicationModel(
        application_id=app.application_id,
        office=app.office,
        status=app.status,
        booking_code=app.booking_code,
        booked_day=app.booked_day,
        queue_number=app.queue_number,
        booking_refusal=app.booking_refusal,
        submitted_on=app.submitted_on,
        paid_on=app.paid_on,
        ready_from=app.ready_from,
        expected_ready=expected,
        collected_on=app.collected_on,
        action=app.action,
        refusal=app.refusal,
        renewal=app.renewal,
        facts=len(app.applied),
        updated_at=app.updated_at,
    )


def _figures_of(raw: bytes) -> OfficeDayFigures:
    return OfficeDayFigures.from_json(orjson.loads(raw))


def _figures_bytes(figures: OfficeDayFigures) -> bytes:
    return orjson.dumps(figures.to_json())


class StatusColumns:
    """The view's columns over one partition's store."""

    def __init__(self, partition: PartitionStore, *, cache_size: int = 10_000) -> None:
        self.partition = partition
        self.applications: Column[Application] = partition.column(
            "applications", encode_application, decode_application, cache_size=cache_size, counted=True
        )
        self.figures: Column[OfficeDayFigures] = partition.column("figures", _figures_bytes, _figures_of)
        self.decisions: Column[str] = partition.column(
            "decisions", str.encode, bytes.decode, cache_size=cache_size
        )
        self.bookings: Column[dict[str, Any]] = partition.column(
            "bookings", orjson.dumps, orjson.loads, cache_size=cache_size
        )
        self.meta: Column[str] = partition.column("meta", str.encode, bytes.decode)


@dataclass
class StatusPartition:
    """One partition's state: its columns, its clock, and what changed since the last drain."""

    partition: int
    columns: StatusColumns
    clock: datetime | None
    touched: dict[str, Application] = field(default_factory=dict)
    notes: list[ViewRecord] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    """Office-days (``<office>|<yyyy-mm-dd>``) whose figures moved."""


class StatusProjection:
    """``services.runtime.projection.Projection`` of the application-status view."""

    name = "passport-status"
    input_topic = STATUS_TOPIC
    needs_history = False
    clock = False

    def __init__(self, *, cache_size: int = 10_000) -> None:
        self.cache_size = cache_size

    def open(self, partition: PartitionStore) -> StatusPartition:
        """The view over ``partition``'s columns."""
        columns = StatusColumns(partition, cache_size=self.cache_size)
        stored = columns.meta.get(_CLOCK)
        return StatusPartition(
            partition.partition, columns, None if stored is None else datetime.fromisoformat(stored)
        )

    def read(self, record: RawRecord) -> StatusItemModel:
        """The status item ``record`` carries; MalformedPayload (or the codec's refusal) for anything else."""
        return refusing("status item", lambda: decode_status_item(record.value or b""))

    def restore(self, state: StatusPartition, item: StatusItemModel) -> None:
        """Nothing to rebuild from history: the state is in the store."""

    def tick(self, state: StatusPartition, at: datetime) -> None:
        """Not driven by time (``clock = False``)."""

    def application(self, state: StatusPartition, application_id: str) -> Application | None:
        """The application as the partition holds it (what the HTTP view answers from), or None."""
        return state.columns.applications.get(application_id)

    def apply(self, state: StatusPartition, item: StatusItemModel) -> None:
        """Fold ``item``; ``StepRefused`` (a BusError) before any change for a step that does not fit."""
        applications = state.columns.applications
        before = applications.get(item.application_id)
        after, note = apply_status(before, item)
        if after is before:
            return  # seen before: nothing changes
        if state.clock is None or item.time > state.clock:
            state.clock = item.time
            state.columns.meta[_CLOCK] = item.time.isoformat()
        applications[item.application_id] = after
        state.touched[item.application_id] = after
        if note is not None:
            state.notes.append(
                ViewRecord(
                    NOTIFICATIONS_TOPIC,
                    note.recipient_key,
                    note,
                    event_id=note.notification_id,
                    time=note.requested_at,
                )
            )
        groups = moved(application_groups(before) if before else [], application_groups(after))
        for group, change in groups.items():
            place, figure = group.rsplit("|", 1)
            self._figures(state, place, lambda figures, f=figure, n=change: figures.move(f, n))
        self._count_decision(state, item)

    def drain(self, state: StatusPartition, as_of: datetime) -> list[ViewRecord]:  # noqa: ARG002 - see below
        """The changed applications, the notifications, the figures moved (``as_of``, the runtime's wall
        clock, is not used: figures carry the partition clock, so a replay publishes the same records).
        """
        views = [
            ViewRecord(
                APPLICATIONS_TOPIC,
                application_id,
                application_view(app),
                event_id=str(uuid.uuid5(NAMESPACE, f"application|{application_id}|{len(app.applied)}")),
                time=app.updated_at,
            )
            for application_id, app in sorted(state.touched.items())
        ]
        views.extend(state.notes)
        clock, figures = state.clock, state.columns.figures
        for place in sorted(state.changed):
            if clock is None:  # figures only move with a fact, which sets the clock
                break
            office, day = place.split("|")
            view = figures_view(office, date.fromisoformat(day), state.partition, figures[place], clock)
            views.append(ViewRecord(FIGURES_TOPIC, view.record_key, view, time=clock))
        state.touched, state.notes, state.changed = {}, [], set()
        return views

    # --- the booking figures, once per decision ---------------------------------------------------

    def _figures(self, state: StatusPartition, place: str, change: Any) -> None:
        figures = state.columns.figures
        current = figures.get(place) or OfficeDayFigures()
        change(current)
        figures[place] = current
        state.changed.add(place)

    def _count_decision(self, state: StatusPartition, item: StatusItemModel) -> None:
        """Bookings, frees and refusals of a decision, counted once per decision id."""
        if item.kind not in {_K.CONFIRMED, _K.BOOKING_REFUSED, _K.CANCELLED}:
            return
        seen = state.columns.decisions
        if item.event_id in seen:
            return
        seen[item.event_id] = "1"
        if item.kind is _K.BOOKING_REFUSED and item.slot_day is not None:
            place = f"{item.office}|{item.slot_day.isoformat()}"
            reason = item.reason or "OTHER"
            self._figures(state, place, lambda figures: figures.refusals.update([reason]))
        elif item.kind is _K.CONFIRMED and item.booking_code and item.slot_day is not None:
            self._booked(state, item.booking_code, f"{item.office}|{item.slot_day.isoformat()}")
            if item.reschedules:
                self._free(state, item.reschedules, None)
        elif item.kind is _K.CANCELLED and item.booking_code:
            named = None if item.slot_day is None else f"{item.office}|{item.slot_day.isoformat()}"
            self._free(state, item.booking_code, named)

    def _booked(self, state: StatusPartition, code: str, place: str) -> None:
        """A confirmed booking counts on its office-day; freed too if its cancellation came first and was
        not counted then (it named no day).
        """
        bookings = state.columns.bookings
        known = bookings.get(code)
        if known is not None and known["place"] is not None:
            return
        freed = known is not None and bool(known["freed"])
        bookings[code] = {"place": place, "freed": freed, "counted": True}
        late = freed and known is not None and not known["counted"]

        def count(figures: OfficeDayFigures) -> None:
            figures.bookings += 1
            figures.freed += late

        self._figures(state, place, count)

    def _free(self, state: StatusPartition, code: str, place: str | None) -> None:
        """A booking freed, once: on the office-day of its confirmation when this partition has it, else on
        the day the cancellation names (``place``), else when its confirmation arrives here.
        """
        bookings = state.columns.bookings
        known = bookings.get(code)
        if known is not None and known["freed"]:
            return
        target: str | None = place if known is None else known["place"]
        bookings[code] = {
            "place": None if known is None else known["place"],
            "freed": True,
            "counted": target is not None,
        }
        if target is None:
            return

        def count(figures: OfficeDayFigures) -> None:
            figures.freed += 1

        self._figures(state, target, count)
