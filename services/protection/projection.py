"""The protection-case view as a projection on the runtime: items of ``protection.items`` in, cases,
breaches and figures out. One logic, used live, by a replay and by the tests (no Kafka here).

Per partition, everything is in the store's columns (``store``), so nothing needs the partition's history
on a take-over (``needs_history = False``): ``open`` rebuilds the in-memory deadline queue from the ``due``
column. ``apply`` keeps each distinct event of a case and refolds the case (``case.fold``); a citizen link
moves the cases naming the identifiers it changed to their citizen (``links``). Time comes only from the
log: the partition clock is the latest tick (``tick``, with ``clock = True``) or event time seen, and a
called or open case whose deadline it passes is overdue (``service_levels``). ``drain`` returns the cases
changed, the breaches found and cleared (in that order), and the figures moved, as absolute values with
``as_of`` the partition clock: never the runtime's wall clock, so a replay publishes the same records. A
breach is published with its derived id as ``ce_id`` and its moment (found, or cleared) as ``ce_time``.
``drain`` also keeps the partition's called and open cases, summarised, in the ``open`` column: what the
HTTP lists of an office's cases and of overdue cases read without folding every case.

Refused (a ``BusError``, dead-lettered by the runtime): a record that is no item (``read``), and an event id
already applied with another body (``apply``, before anything changed; the first body stays). Events that
are illegal for their case are not refused: the case view lists them with their reason.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime

from services.bus.decoder import RawRecord
from services.bus.errors import EventConflict
from services.contracts.protection_views import ProtectionCaseModel
from services.protection.case import CaseFold, fold
from services.protection.facts import CaseEvent, CitizenLink, Item
from services.protection.figures import calls_of, counted, figure_view, moved
from services.protection.items import decode_item
from services.protection.links import Links
from services.protection.service_levels import DEFAULT_LEVELS, Breach, ServiceLevels, cleared_id, overdue_id
from services.protection.store import CaseRecord, ProtectionColumns
from services.protection.topics import CASES, ITEMS, OVERDUE, STATS
from services.protection.views import case_summary, case_view, cleared_view, overdue_view
from services.runtime.projection import ViewRecord, refusing
from services.runtime.store import PartitionStore

__all__ = ["ProtectionPartition", "ProtectionProjection"]

_CLOCK = "clock"


@dataclass
class ProtectionPartition:
    """One partition's state: its columns, the clock, the deadline queue, and what changed since the drain."""

    partition: int
    columns: ProtectionColumns
    links: Links
    clock: datetime | None
    due: dict[str, datetime]
    """Case id -> deadline of its running, not yet breached, clock (the ``due`` column, in memory)."""
    queue: list[tuple[datetime, str]]
    """``due`` as a heap, with stale entries skipped when popped."""
    touched: dict[str, CaseFold] = field(default_factory=dict)
    breaches: list[ViewRecord] = field(default_factory=list)
    changed: dict[str, datetime] = field(default_factory=dict)
    """Figure group -> the partition clock when it last moved (its record's ``as_of``)."""


class ProtectionProjection:
    """``services.runtime.projection.Projection`` of the protection cases."""

    name = "protection"
    input_topic = ITEMS
    needs_history = False
    clock = True

    def __init__(self, levels: ServiceLevels = DEFAULT_LEVELS, *, case_cache: int = 10_000) -> None:
        self.levels = levels
        self.case_cache = case_cache

    def open(self, partition: PartitionStore) -> ProtectionPartition:
        """The view over ``partition``'s columns; the deadline queue rebuilt from what is stored."""
        columns = ProtectionColumns(partition, cache_size=self.case_cache)
        due = {case_id: datetime.fromisoformat(columns.due[case_id]) for case_id in columns.due.scan()}
        stored_clock = columns.meta.get(_CLOCK)
        return ProtectionPartition(
            partition=partition.partition,
            columns=columns,
            links=Links(columns.held, columns.claims, columns.named),
            clock=None if stored_clock is None else datetime.fromisoformat(stored_clock),
            due=due,
            queue=_heap(due),
        )

    def read(self, record: RawRecord) -> Item:
        """The item ``record`` carries; MalformedPayload (or the codec's refusal) for anything else."""
        return refusing("protection item", lambda: decode_item(record.value or b""))

    def restore(self, state: ProtectionPartition, item: Item) -> None:
        """Nothing to rebuild from history: the state is in the store."""

    def apply(self, state: ProtectionPartition, item: Item) -> None:
        """Fold ``item`` in; EventConflict (before any change) for an event id known with another body."""
        if isinstance(item, CitizenLink):
            self._link(state, item)
            return
        cases = state.columns.cases
        record = cases.get(item.case_id) or CaseRecord(item.case_id)
        known = record.events.get(item.event_id)
        if known is not None:
            if known == item:
                return
            raise EventConflict(f"event {item.event_id} of case {item.case_id} was applied with another body")
        record.events[item.event_id] = item
        clock = self._advance(state, item.time)
        self._settle(state, record, fold(record.case_id, record.events.values()), item, clock)
        self._sweep(state)

    def tick(self, state: ProtectionPartition, at: datetime) -> None:
        """The partition's clock reached ``at``: every case whose deadline it passed is overdue."""
        self._advance(state, at)
        self._sweep(state)

    def drain(self, state: ProtectionPartition, as_of: datetime) -> list[ViewRecord]:  # noqa: ARG002 - see below
        """The changed cases, the breaches found and cleared, the figures moved (``as_of``, the runtime's
        wall clock, is not used: a figure carries the partition clock when it last moved, so its record does
        not depend on how the log was chunked either).
        """
        cases, figures = state.columns.cases, state.columns.figures
        views = []
        for case_id, case in sorted(state.touched.items()):
            view = case_view(case, cases[case_id], self.levels)
            views.append(ViewRecord(CASES, case_id, view))
            _list(state, case_id, view)
        views.extend(state.breaches)
        views.extend(
            ViewRecord(STATS, view.record_key, view)
            for view in (
                figure_view(group, state.partition, figures.get(group, 0), moved_at)
                for group, moved_at in sorted(state.changed.items())
            )
        )
        state.touched, state.breaches, state.changed = {}, [], {}
        return views

    # --- the steps ------------------------------------------------------------------------------------

    def _advance(self, state: ProtectionPartition, moment: datetime) -> datetime:
        """The partition clock is the latest time seen in the log; returns it."""
        if state.clock is None or moment > state.clock:
            state.clock = moment
            state.columns.meta[_CLOCK] = moment.isoformat()
        return state.clock

    def _sweep(self, state: ProtectionPartition) -> None:
        """Find the breaches of every case whose deadline the clock has passed."""
        clock, queue = state.clock, state.queue
        while clock is not None and queue and queue[0][0] < clock:
            deadline, case_id = heapq.heappop(queue)
            if state.due.get(case_id) != deadline:
                continue  # the clock of that case moved since: a stale entry
            record = state.columns.cases[case_id]
            self._settle(state, record, fold(case_id, record.events.values()), None, clock)
        if len(queue) > 2 * len(state.due) + 1024:
            state.queue = _heap(state.due)

    def _settle(
        self,
        state: ProtectionPartition,
        record: CaseRecord,
        case: CaseFold,
        trigger: CaseEvent | None,
        clock: datetime,
    ) -> None:
        """After ``case`` was refolded (``trigger`` arrived) or its deadline passed (no trigger): its citizen,
        breaches, place in the deadline queue and figures; then store it and mark it changed.
        """
        case_id = record.case_id
        identifiers = sorted(case.identifiers)
        if identifiers != record.identifiers:
            state.links.index(case_id, record.identifiers, identifiers)
            record.identifiers = identifiers
        record.citizen_id = state.links.citizen_of(identifiers)
        self._judge_time(state, record, case, trigger, clock)
        self._queue(state, record, case)
        groups = counted(case, calls_of(record.events.values()), overdue=record.open_breach is not None)
        if groups != record.counted:
            self._count(state, record.counted, groups, clock)
            record.counted = groups
        state.columns.cases[case_id] = record
        state.touched[case_id] = case

    def _count(
        self, state: ProtectionPartition, before: list[str], after: list[str], clock: datetime
    ) -> None:
        """Move the partition's figures as a case's groups went from ``before`` to ``after``."""
        figures = state.columns.figures
        for group, change in moved(before, after).items():
            total = figures.get(group, 0) + change
            if total:
                figures[group] = total
            else:
                del figures[group]
            state.changed[group] = clock

    def _judge_time(
        self,
        state: ProtectionPartition,
        record: CaseRecord,
        case: CaseFold,
        trigger: CaseEvent | None,
        clock: datetime,
    ) -> None:
        """Clear the breach in progress if the case moved off the clock it exceeded; open a breach if the
        clock it is on now is past its deadline.
        """
        running = case.running(self.levels)
        breach = record.open_breach
        if breach is not None and trigger is not None and (running is None or not breach.matches(running)):
            breach.cleared_id = cleared_id(breach.overdue_id)
            breach.cleared_by, breach.cleared_at = trigger.event_id, trigger.time
            view = cleared_view(record.case_id, case.office, case.status, breach)
            state.breaches.append(
                ViewRecord(OVERDUE, record.case_id, view, event_id=view.cleared_id, time=view.cleared_at)
            )
            breach = None
        if running is None or breach is not None or not clock > running.deadline:
            return
        recurrence = sum(1 for earlier in record.breaches if earlier.matches(running))
        found = Breach(
            overdue_id=overdue_id(record.case_id, running, recurrence),
            started_by=running.started_by,
            deadline=running.deadline,
            recurrence=recurrence,
            detected_at=clock,
        )
        record.breaches.append(found)
        state.breaches.append(
            ViewRecord(
                OVERDUE,
                record.case_id,
                overdue_view(case, running, found),
                event_id=found.overdue_id,
                time=found.detected_at,
            )
        )

    def _queue(self, state: ProtectionPartition, record: CaseRecord, case: CaseFold) -> None:
        """Keep the case in the deadline queue while its clock runs and it is not yet overdue."""
        running = case.running(self.levels)
        deadline = None if running is None or record.open_breach is not None else running.deadline
        case_id, due = record.case_id, state.columns.due
        if deadline == state.due.get(case_id):
            return
        if deadline is None:
            del state.due[case_id]
            del due[case_id]
            return
        state.due[case_id] = deadline
        due[case_id] = deadline.isoformat()
        heapq.heappush(state.queue, (deadline, case_id))

    def _link(self, state: ProtectionPartition, link: CitizenLink) -> None:
        """Citizen ``link.citizen_id`` holds what the link says: cases naming what changed follow."""
        held = frozenset() if link.merged_into is not None else link.identifiers
        changed = state.links.hold(link.citizen_id, held)
        cases = state.columns.cases
        for case_id in sorted(state.links.cases_naming(changed)):
            record = cases[case_id]
            citizen = state.links.citizen_of(record.identifiers)
            if citizen != record.citizen_id:
                record.citizen_id = citizen
                cases[case_id] = record
                if case_id not in state.touched:
                    state.touched[case_id] = fold(case_id, record.events.values())


def _list(state: ProtectionPartition, case_id: str, view: ProtectionCaseModel) -> None:
    """Keep the partition's list of called and open cases (the ``open`` column) as the case now stands."""
    summary = case_summary(view)
    listed = state.columns.open
    if summary is not None:
        listed[case_id] = summary
    elif case_id in listed:
        del listed[case_id]


def _heap(due: dict[str, datetime]) -> list[tuple[datetime, str]]:
    queue = [(deadline, case_id) for case_id, deadline in due.items()]
    heapq.heapify(queue)
    return queue
