"""The golden record fold: ``apply``, ``merge``, ``split`` over a citizen's observations.

A record is the set of its contributing observations (by event id) plus, per slot (``<what>:<which>``:
a field, a stay, a passport, a case attribute, an office), the event that wins it: the latest by
(event time, source, event id). Slot winners form a join-semilattice, so ``merge`` is commutative,
associative and idempotent, ``apply`` is a merge with a one-observation record, any arrival order gives
the same record, and ``split`` recomputes both sides from the observations. The citizen id is derived,
like the resolver's, from the best identifier routing one of the record's observations, so the fold and
the resolver agree without being told.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.registry.facts import Observation, Status
from services.registry.identifiers import citizen_id_for, rank_key

__all__ = ["FORMAT", "CitizenRecord", "apply", "fold", "from_dict", "merge", "residence", "split", "to_dict"]

FORMAT = 2
"""Version of the stored form (``to_dict``); bump it when the layout changes (2: observations apart)."""


@dataclass(frozen=True, repr=False)
class CitizenRecord:
    """A citizen's contributing observations and the winning event of each slot.

    ``anchor`` is the best identifier routing one of the observations; the citizen id derives from it.
    ``repr`` shows no personal data.
    """

    anchor: str
    observations: Mapping[str, Observation]
    winners: Mapping[str, str]

    @property
    def citizen_id(self) -> str:
        """The citizen id, derived from ``anchor``."""
        return citizen_id_for(self.anchor)

    def __repr__(self) -> str:
        return f"CitizenRecord({self.citizen_id}, {len(self.observations)} observations)"


def _slots(obs: Observation) -> list[str]:
    """The slots an observation has something to say about."""
    slots = [f"personal:{name}" for name in obs.personal]
    slots += [f"residence:{name}" for name in obs.residence]
    if obs.status is not None:
        slots.append("status:")
    if obs.stay is not None:
        slots.append(f"stay:{obs.stay.key}")
    if obs.passport is not None:
        slots.append(obs.passport.identifier)  # "passport:<hash>": no raw number in stored keys
    if obs.case is not None:
        if obs.case.status is not None:
            slots.append(f"case-status:{obs.case.case_id}")
        if obs.case.office is not None:
            slots.append(f"case-office:{obs.case.case_id}")
    slots.append(f"office:{obs.office}")
    return slots


def _order(obs: Observation, slot: str) -> tuple[bool, datetime, str, str]:
    """Latest wins; for a passport, what a printing said (issue data) wins over a mere mention."""
    printed = slot.startswith("passport:") and obs.passport is not None and obs.passport.printed
    return (printed, *obs.stamp)


def _single(obs: Observation) -> CitizenRecord:
    return CitizenRecord(
        anchor=obs.best,
        observations={obs.event_id: obs},
        winners=dict.fromkeys(_slots(obs), obs.event_id),
    )


def merge(first: CitizenRecord, second: CitizenRecord) -> CitizenRecord:
    """The record of both sets of observations: commutative, associative and idempotent."""
    if first is second:
        return first
    big, small = (first, second) if len(first.observations) >= len(second.observations) else (second, first)
    observations = {**big.observations, **small.observations}
    winners = dict(big.winners)
    for slot, event_id in small.winners.items():
        current = winners.get(slot)
        if current is None or _order(observations[event_id], slot) > _order(observations[current], slot):
            winners[slot] = event_id
    return CitizenRecord(
        anchor=min(first.anchor, second.anchor, key=rank_key),
        observations=observations,
        winners=winners,
    )


def apply(record: CitizenRecord | None, obs: Observation, citizen_id: str) -> CitizenRecord:
    """Fold one observation into the record of ``citizen_id``; an event id already applied changes nothing.

    Raises ValueError if the result is not ``citizen_id``'s record: the caller routed the observation
    somewhere the resolver did not (a bug to catch, not data to store).
    """
    if record is not None and obs.event_id in record.observations:
        return record
    result = _single(obs) if record is None else merge(record, _single(obs))
    if result.citizen_id != citizen_id:
        raise ValueError(f"event {obs.event_id} routed to {citizen_id} belongs to {result.citizen_id}")
    return result


def fold(observations: Iterable[Observation]) -> CitizenRecord | None:
    """The record of these observations from scratch (None for none)."""
    record: CitizenRecord | None = None
    for obs in observations:
        record = _single(obs) if record is None else merge(record, _single(obs))
    return record


def split(record: CitizenRecord, moved: Collection[str]) -> tuple[CitizenRecord | None, CitizenRecord | None]:
    """(kept, moved): observations routed by one of the ``moved`` identifiers go; either side may be empty."""
    going = [obs for obs in record.observations.values() if obs.best in moved]
    if not going:
        return record, None
    staying = [obs for obs in record.observations.values() if obs.best not in moved]
    return fold(sorted(staying, key=lambda o: o.event_id)), fold(sorted(going, key=lambda o: o.event_id))


def residence(record: CitizenRecord) -> tuple[Status | None, str | None, str | None]:
    """Status, country and office of residence: what the per-office and per-country counts need."""
    status_event = record.winners.get("status:")
    status = None if status_event is None else record.observations[status_event].status

    def value(name: str) -> str | None:
        event_id = record.winners.get(f"residence:{name}")
        return None if event_id is None else record.observations[event_id].residence[name]

    return status, value("country"), value("office")


def to_dict(record: CitizenRecord) -> dict[str, Any]:
    """The stored form of a record without its observations (stored once each, by event id, apart):
    what changes when an observation joins is a few slots and one id, not the whole history.
    ``from_dict`` with a lookup of the observations gives back an equal record without refolding.
    """
    return {
        "format": FORMAT,
        "citizen_id": record.citizen_id,
        "anchor": record.anchor,
        "observations": sorted(record.observations),
        "winners": dict(sorted(record.winners.items())),
    }


def from_dict(data: Mapping[str, Any], observation: Callable[[str], Observation]) -> CitizenRecord:
    """Read a stored record, its observations from ``observation`` (by event id); ValueError for another
    format or an inconsistent record.
    """
    if data.get("format") != FORMAT:
        raise ValueError(f"stored citizen record is not format {FORMAT}")
    observations = {event_id: observation(event_id) for event_id in data["observations"]}
    record = CitizenRecord(anchor=data["anchor"], observations=observations, winners=dict(data["winners"]))
    unknown = set(record.winners.values()) - observations.keys()
    if record.citizen_id != data["citizen_id"] or unknown:
        raise ValueError(f"stored citizen record {data['citizen_id']} is inconsistent")
    return record
