"""``RegistryModel``: resolver + record fold over a sequence of bus events, in process.

This is the reference the live faust processor and the audit replay are compared against: the same
``observe``, ``resolve``/``decide`` and record functions, with the bookkeeping between them (moving records
on merges, renames and splits) written once, here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from types import MappingProxyType

from services.bus.errors import EventConflict
from services.bus.events import BusEvent
from services.registry.decisions import Decision, DecisionConflict
from services.registry.facts import Observation, Status
from services.registry.identifiers import Hasher
from services.registry.observation import observe
from services.registry.record import CitizenRecord, apply, merge, residence, split
from services.registry.resolution import Candidate, Resolution
from services.registry.resolver import ResolverState, decide, resolve

__all__ = ["RegistryModel", "ResidenceCounts"]


@dataclass(frozen=True, slots=True)
class ResidenceCounts:
    """Citizens currently ABROAD, by office and by country of residence (absolute figures).

    ``abroad`` counts them all; a citizen who departed to another country counts under that country (an
    evacuation desk needs them) and under no office until they report a stay there.
    """

    abroad: int
    by_office: Mapping[str, int]
    by_country: Mapping[str, int]


class RegistryModel:
    """The unified citizen registry over events and officer decisions, without Kafka."""

    def __init__(self, *, hasher: Hasher, records: MutableMapping[str, CitizenRecord] | None = None) -> None:
        """``records`` is where records live: a dict in process, a disk-backed table in the live processor."""
        self.hasher = hasher
        self.state = ResolverState()
        self._records: MutableMapping[str, CitizenRecord] = {} if records is None else records

    @property
    def records(self) -> Mapping[str, CitizenRecord]:
        """Citizen id -> record (read-only view)."""
        return MappingProxyType(self._records)

    @property
    def candidates(self) -> Mapping[str, Candidate]:
        """Open candidate matches by candidate id (read-only view)."""
        return MappingProxyType(self.state.candidates)

    def apply_events(self, events: Iterable[BusEvent]) -> None:
        """Observe, resolve and fold each event in turn."""
        for event in events:
            self.apply_event(event)

    def apply_event(self, event: BusEvent) -> Resolution | None:
        """Observe, resolve and fold one event; None for event types the registry does not follow."""
        obs = observe(event, hasher=self.hasher)
        return None if obs is None else self.apply_observation(obs)

    def restore_index(self, items: Iterable[Observation | Decision]) -> int:
        """Rebuild the resolver's index from history without touching the records (already stored).

        A decision whose id was already used for another decision was refused when it arrived live, and
        is skipped here exactly the same way (it changes nothing), so a restart rebuilds what the live
        worker had instead of failing on every start. Returns how many were skipped.
        """
        skipped = 0
        for item in items:
            if isinstance(item, Observation):
                resolve(self.state, item)
                continue
            try:
                decide(self.state, item)
            except DecisionConflict:
                skipped += 1
        return skipped

    def apply_observation(self, obs: Observation) -> Resolution:
        """Resolve one observation, move records to follow, fold it in; a duplicate changes nothing.

        The same event id with another body changes nothing either: EventConflict says so (a silent drop
        would hide a producer that reuses ids, or a correction sent the wrong way).
        """
        _, resolution = resolve(self.state, obs)
        if resolution.duplicate and resolution.citizen_id is not None:
            held = self._records.get(resolution.citizen_id)
            applied = held.observations.get(obs.event_id) if held is not None else None
            if applied is not None and applied != obs:
                raise EventConflict(f"event {obs.event_id} was applied before with another body")
        if resolution.duplicate or resolution.citizen_id is None:
            return resolution
        self._follow(resolution)
        cid = resolution.citizen_id
        self._records[cid] = apply(self._records.get(cid), obs, cid)
        return resolution

    def apply_item(self, item: Observation | Decision) -> Resolution:
        """Apply what the resolver topic carries: an observation or an officer decision."""
        if isinstance(item, Observation):
            return self.apply_observation(item)
        return self.apply_decision(item)

    def apply_decision(self, decision: Decision) -> Resolution:
        """Apply an officer decision and move records accordingly."""
        _, resolution = decide(self.state, decision)
        self._follow(resolution)
        return resolution

    def _put(self, citizen_id: str, record: CitizenRecord | None) -> None:
        """Add ``record`` to what ``citizen_id`` already has."""
        if record is None:
            return
        existing = self._records.get(citizen_id)
        self._records[citizen_id] = record if existing is None else merge(existing, record)

    def _follow(self, resolution: Resolution) -> None:
        """Move records as the resolver moved citizens: renames and merges first, then split moves."""
        for rename in resolution.renames:
            self._put(rename.new, self._records.pop(rename.old, None))
        for merged in resolution.merges:
            self._put(merged.surviving, self._records.pop(merged.absorbed, None))
        for move in resolution.splits:
            source = self._records.pop(move.from_citizen, None)
            if source is None:
                continue
            kept, moved = split(source, move.identifiers)
            if kept is not None:
                self._records[move.from_citizen] = kept
            self._put(move.to_citizen, moved)

    def counts(self) -> ResidenceCounts:
        """Per office and per country figures of citizens by current residence (status ABROAD only)."""
        offices: Counter[str] = Counter()
        countries: Counter[str] = Counter()
        abroad = 0
        for record in self._records.values():
            status, country, office = residence(record)
            if status is not Status.ABROAD:
                continue
            abroad += 1
            if country is not None:
                countries[country] += 1
            if office is not None:
                offices[office] += 1
        return ResidenceCounts(
            abroad=abroad, by_office=dict(sorted(offices.items())), by_country=dict(sorted(countries.items()))
        )
