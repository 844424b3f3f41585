"""Candidate matches: citizens sharing a weak key, for an officer to confirm or reject, never merged here.

Name + birth date + birth place is shared by real namesakes (common names, big birth towns), so a weak key
only ever proposes. Two citizens that both hold a NIK are proposed too, marked ``holds_two_niks`` (one
person issued two NIKs does happen, and such pairs are rare enough not to flood officers). Not proposed: a
pair an officer rejected, a pair a split separated.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.registry.index import ResolverState
from services.registry.resolution import Candidate
from services.registry.separation import separated_citizens

__all__ = ["refresh_candidates"]


def _rejected(state: ResolverState, first: str, second: str) -> bool:
    """An officer rejected a pair whose anchors now belong to these two citizens."""
    if not state.rejected:  # no rejection yet: nothing to look through
        return False
    for identifier in state.identifiers[first]:
        for other in state.rejected.get(identifier, ()):
            if state.owner.get(other) == second:
                return True
    return False


def _eligible(state: ResolverState, first: str, second: str) -> bool:
    return not _rejected(state, first, second) and not separated_citizens(state, first, second)


def _drop(state: ResolverState, citizen: str, dropped: dict[str, Candidate]) -> None:
    for candidate_id in sorted(state.candidates_of.pop(citizen, set())):
        candidate = state.candidates.pop(candidate_id, None)
        if candidate is None:
            continue
        dropped[candidate_id] = candidate
        for other in candidate.citizens:
            held = state.candidates_of.get(other)
            if held is not None:
                held.discard(candidate_id)
                if not held:
                    del state.candidates_of[other]


def refresh_candidates(
    state: ResolverState, citizens: Iterable[str], gone: Iterable[str] = ()
) -> tuple[tuple[Candidate, ...], tuple[str, ...]]:
    """Recompute the candidates of ``citizens`` (changed) and drop those of ``gone`` (no longer exist).

    Returns the candidates that are new and the ids of those that disappeared, both sorted.
    """
    changed = sorted(set(citizens))
    before: dict[str, Candidate] = {}
    for citizen in sorted(set(changed) | set(gone)):
        _drop(state, citizen, before)
    after: dict[str, Candidate] = {}
    for citizen in changed:
        if citizen not in state.identifiers:
            continue
        shared: dict[str, set[str]] = {}
        for key in state.weak_of[citizen]:
            for other in state.weak_index.get(key, ()):
                if other != citizen:
                    shared.setdefault(other, set()).add(key)
        for other in sorted(shared):
            if not _eligible(state, citizen, other):
                continue
            candidate = Candidate.of(
                ((citizen, state.anchor[citizen]), (other, state.anchor[other])), frozenset(shared[other])
            )
            state.candidates[candidate.candidate_id] = candidate
            state.candidates_of.setdefault(citizen, set()).add(candidate.candidate_id)
            state.candidates_of.setdefault(other, set()).add(candidate.candidate_id)
            after[candidate.candidate_id] = candidate
    new = tuple(after[key] for key in sorted(after.keys() - before.keys()))
    return new, tuple(sorted(before.keys() - after.keys()))
