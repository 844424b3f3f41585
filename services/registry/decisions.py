"""Officer decisions on identities: confirm or reject a candidate match, split a wrong merge.

Decisions are self-contained values (they name identifiers, not state), kept by the resolver as a SET keyed
by ``decision_id``: the same decision twice, or a set of decisions in any order, gives the same registry.
That is why a Split carries both sides explicitly instead of "this citizen minus these identifiers", which
would mean something different depending on what had arrived before it. On the bus they are the
``registry.decisions`` events and, on ``registry.observations``, ``ResolverItem`` records.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.resolution import Candidate, Merge, short_hash

__all__ = [
    "Confirm",
    "Decision",
    "DecisionConflict",
    "Reject",
    "Split",
    "confirm",
    "reject",
    "split_merge",
    "split_sides",
]


class DecisionConflict(ValueError):
    """A decision id already used for a different decision: the later one is refused, never applied."""


@dataclass(frozen=True, slots=True)
class Confirm:
    """The two anchors are one person: their citizens merge (unless a Split keeps them apart)."""

    decision_id: str
    candidate_id: str
    anchors: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Reject:
    """The two anchors' citizens are different people: never propose them as a candidate again."""

    decision_id: str
    candidate_id: str
    anchors: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Split:
    """``moved`` and ``kept`` are different people: no link joins an identifier of one to the other.

    A split wins over links and confirmations, now and later: an event carrying identifiers of both sides
    is routed by its best identifier and ties nothing across. ``citizen_id`` is informative only.
    """

    decision_id: str
    citizen_id: str
    moved: frozenset[str]
    kept: frozenset[str]

    def __post_init__(self) -> None:
        if not self.moved or not self.kept:
            raise ValueError(f"split {self.decision_id} needs identifiers on both sides")
        if self.moved & self.kept:
            raise ValueError(f"split {self.decision_id} has an identifier on both sides")


Decision = Confirm | Reject | Split


def confirm(candidate: Candidate, *, decision_id: str | None = None) -> Confirm:
    """An officer's confirmation; the default id is derived from the candidate (same click, same id)."""
    return Confirm(
        decision_id=decision_id or short_hash("dec-", "confirm", *candidate.anchors),
        candidate_id=candidate.candidate_id,
        anchors=candidate.anchors,
    )


def reject(candidate: Candidate, *, decision_id: str | None = None) -> Reject:
    """An officer's rejection of a candidate match."""
    return Reject(
        decision_id=decision_id or short_hash("dec-", "reject", *candidate.anchors),
        candidate_id=candidate.candidate_id,
        anchors=candidate.anchors,
    )


def split_sides(
    citizen_id: str, moved: frozenset[str], kept: frozenset[str], *, decision_id: str | None = None
) -> Split:
    """A split with both sides given; the default id depends on the sides only."""
    return Split(
        decision_id=decision_id or short_hash("dec-", "split", *sorted(moved), "/", *sorted(kept)),
        citizen_id=citizen_id,
        moved=moved,
        kept=kept,
    )


def split_merge(merge: Merge, *, decision_id: str | None = None) -> Split:
    """Undo ``merge``: what was absorbed is separated from what it was merged into."""
    return split_sides(
        merge.surviving, merge.absorbed_identifiers, merge.surviving_identifiers, decision_id=decision_id
    )
