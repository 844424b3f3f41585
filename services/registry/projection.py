"""The registry as a projection on the runtime: resolver items in, golden records and figures out.

Its input is ``registry.observations`` (one partition: the resolver's total order); its state is the
resolver's index in memory (rebuilt from the partition's history when the worker takes it over) and the
records, placements and figures in the store's columns. ``apply`` resolves and folds one observation or
officer decision; ``drain`` turns the citizens touched since the last drain into ``CitizenRecord`` views
(a merged-away id with ``merged_into``) and moves each touched citizen's figure (``counting.recount``), so
figures are absolute values kept per citizen: a redelivery or a replay never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.bus.decoder import RawRecord
from services.bus.errors import MalformedPayload
from services.bus.logs import get_logger
from services.contracts.registry import CitizenRecordModel
from services.registry import metrics
from services.registry.counting import recount
from services.registry.decisions import DecisionConflict
from services.registry.identifiers import Hasher
from services.registry.items import Item, decode_item
from services.registry.mapping import citizen_record_avro, count_view
from services.registry.model import RegistryModel
from services.registry.resolution import Resolution
from services.registry.store import RegistryState
from services.registry.topics import CITIZENS, COUNTS, OBSERVATIONS
from services.runtime.projection import PlainView, ViewRecord
from services.runtime.store import PartitionStore

log = get_logger("registry")


@dataclass
class RegistryPartition:
    """The registry's state: the model (index in memory, records in the store) and what changed."""

    columns: RegistryState
    model: RegistryModel
    touched: set[str] = field(default_factory=set)
    moved: dict[str, str] = field(default_factory=dict)


def note_changes(resolution: Resolution, touched: set[str], moved: dict[str, str]) -> None:
    """Collect the citizen ids whose published record must change after one resolution."""
    if resolution.duplicate:
        return
    if resolution.citizen_id is not None:
        touched.add(resolution.citizen_id)
    for rename in resolution.renames:
        moved[rename.old] = rename.new
        touched.add(rename.new)
    for merge in resolution.merges:
        moved[merge.absorbed] = merge.surviving
        touched.add(merge.surviving)
    for split in resolution.splits:
        touched.update((split.from_citizen, split.to_citizen))


class RegistryProjection:
    """``services.runtime.projection.Projection`` for the citizen registry."""

    name = "registry"
    input_topic = OBSERVATIONS
    needs_history = True
    clock = False

    def __init__(self, hasher: Hasher, *, record_cache: int = 20_000) -> None:
        self.hasher = hasher
        self.record_cache = record_cache

    def open(self, partition: PartitionStore) -> RegistryPartition:
        """The registry over ``partition``'s columns, its index empty until restored."""
        columns = RegistryState(partition, cache_size=self.record_cache)
        return RegistryPartition(columns, RegistryModel(hasher=self.hasher, records=columns.records))

    def read(self, record: RawRecord) -> Item | None:
        """The observation or decision ``record`` carries; a record that is not one is refused."""
        try:
            return decode_item(record.value or b"")
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # json errors are ValueErrors
            raise MalformedPayload(f"not a registry item ({type(exc).__name__})") from None

    def restore(self, state: RegistryPartition, item: Item) -> None:
        """Feed the resolver an item the stored records already hold."""
        state.model.restore_index([item])

    def apply(self, state: RegistryPartition, item: Item) -> None:
        """Resolve and fold ``item``; a decision whose id was used for another decision is refused."""
        try:
            resolution = state.model.apply_item(item)
        except DecisionConflict:
            metrics.DECISION_CONFLICTS.inc()
            log.warning("decision_refused", decision_id=getattr(item, "decision_id", None))
            return
        note_changes(resolution, state.touched, state.moved)

    def drain(self, state: RegistryPartition, as_of: datetime) -> list[ViewRecord]:
        """Every touched citizen's record (or where it was merged to) and every figure that moved."""
        records, columns = state.model.records, state.columns
        changed_counts: set[str] = set()
        views: list[ViewRecord] = []
        for cid in sorted(state.touched | state.moved.keys()):
            record = records.get(cid)
            changed_counts |= recount(cid, record, columns.placed, columns.counts)
            if record is None and cid not in state.moved:
                continue
            merged_into = None if record is not None else state.moved[cid]
            plain = citizen_record_avro(cid, record, merged_into=merged_into)
            views.append(ViewRecord(CITIZENS, cid, PlainView(CitizenRecordModel.SCHEMA, plain)))
        views.extend(
            ViewRecord(COUNTS, key, count_view(key, columns.counts.get(key, 0), as_of))
            for key in sorted(changed_counts)
        )
        state.touched, state.moved = set(), {}
        return views

    def tick(self, state: object, at: datetime) -> None:
        """No clock: nothing in this view depends on time passing."""
