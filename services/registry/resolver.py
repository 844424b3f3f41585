"""The identity resolver: ``resolve(state, obs)`` and ``decide(state, decision)``, single writer of the index.

Strong identifiers (nik, passport, ref, app, case) link exactly: all identifiers of one observation belong
to one citizen, so an observation whose identifiers belong to several citizens merges them. Weak keys only
propose candidates. Citizen ids are derived from the best identifier (``cit-`` + sha256, rank
nik < passport < ref < app < case), so the survivor of a merge is the citizen with the best identifier
and ids do not depend on arrival order; when a better identifier joins a citizen its id changes (a Rename).

Both functions MUTATE ``state`` and return it with the Resolution (see ``index.ResolverState``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from services.registry.candidates import refresh_candidates
from services.registry.decisions import Confirm, Decision, DecisionConflict, Reject, Split, split_sides
from services.registry.facts import Observation
from services.registry.identifiers import kind_of
from services.registry.index import Link, ResolverState
from services.registry.resolution import Candidate, Merge, Rename, Resolution, short_hash
from services.registry.separation import effective, regroup, separated

__all__ = ["ResolverState", "decide", "resolve", "split_citizen"]

_Reasons = dict[str, tuple[str, str]]
"""Citizen id -> (identifier kind or "confirm", event or decision id) that tied it in."""


def resolve(state: ResolverState, obs: Observation) -> tuple[ResolverState, Resolution]:
    """Route ``obs`` to its citizen, merging the citizens its identifiers tie together."""
    known = state.links.get(obs.event_id)
    if known is not None:
        return state, Resolution(citizen_id=state.owner[known.best], duplicate=True)
    link = Link(identifiers=obs.identifiers, weak_keys=obs.weak_keys, best=obs.best)
    state.add_link(obs.event_id, link)
    tied = effective(state, link)
    reasons: _Reasons = {}
    for identifier in tied:  # best first, so the reason names the best identifier shared
        citizen = state.owner.get(identifier)
        if citizen is not None and citizen not in reasons:
            reasons[citizen] = (kind_of(identifier), obs.event_id)
    new_nodes = [identifier for identifier in tied if identifier not in state.owner]
    for node in new_nodes:  # a confirmation may have been decided before this identifier was seen
        for other, decision_id in sorted(state.confirmed.get(node, {}).items()):
            citizen = state.owner.get(other)
            if citizen is not None and citizen not in reasons and not separated(state, node, other):
                reasons[citizen] = ("confirm", decision_id)
    return state, _unite(state, reasons, new_nodes, obs.event_id, link_id=obs.event_id)


def _unite(
    state: ResolverState, reasons: _Reasons, new_nodes: Iterable[str], source_id: str, *, link_id: str | None
) -> Resolution:
    olds = sorted(reasons)
    snapshot = {citizen: frozenset(state.identifiers[citizen]) for citizen in olds} if len(olds) > 1 else {}
    nodes = list(new_nodes)
    weak_before = len(state.weak_of[olds[0]]) if len(olds) == 1 else -1
    cid = state.join(olds, nodes, link_id)
    merges: list[Merge] = []
    renames: list[Rename] = []
    if len(olds) == 1 and olds[0] != cid:
        renames.append(Rename(old=olds[0], new=cid, source_id=source_id))
    elif len(olds) > 1:
        whole = frozenset(state.identifiers[cid])
        for citizen in olds:
            if citizen == cid:
                continue
            kind, source = reasons[citizen]
            merges.append(
                Merge(
                    merge_id=short_hash("mrg-", citizen, cid, source),
                    absorbed=citizen,
                    surviving=cid,
                    kind=kind,
                    source_id=source,
                    absorbed_identifiers=snapshot[citizen],
                    surviving_identifiers=whole - snapshot[citizen],
                )
            )
    if olds == [cid] and not nodes and len(state.weak_of[cid]) == weak_before:
        # one more event of a known citizen, nothing new to it: no pair of it can have changed (its weak
        # keys, identifiers and anchor are as they were, and only decisions change who is eligible)
        new: tuple[Candidate, ...] = ()
        dropped: tuple[str, ...] = ()
    else:
        new, dropped = refresh_candidates(state, [cid], gone=[c for c in olds if c != cid])
    return Resolution(
        citizen_id=cid,
        merges=tuple(merges),
        renames=tuple(renames),
        new_candidates=new,
        dropped_candidates=dropped,
    )


def decide(state: ResolverState, decision: Decision) -> tuple[ResolverState, Resolution]:
    """Apply an officer decision; decisions form a set, so a repeated decision id changes nothing.

    Raises DecisionConflict if the decision id was already used for a different decision.
    """
    existing = state.decisions.get(decision.decision_id)
    if existing is not None:
        if existing != decision:
            raise DecisionConflict(f"decision id {decision.decision_id} is already used for another decision")
        return state, Resolution(citizen_id=None, duplicate=True)
    state.decisions[decision.decision_id] = decision
    if isinstance(decision, Confirm):
        return state, _confirm(state, decision)
    if isinstance(decision, Reject):
        return state, _reject(state, decision)
    return state, _split(state, decision)


def _confirm(state: ResolverState, decision: Confirm) -> Resolution:
    first, second = decision.anchors
    for this, that in ((first, second), (second, first)):
        edges = state.confirmed.setdefault(this, {})
        edges[that] = min(edges.get(that, decision.decision_id), decision.decision_id)
    owners = [state.owner.get(first), state.owner.get(second)]
    if owners[0] is None or owners[1] is None or owners[0] == owners[1] or separated(state, first, second):
        return Resolution(citizen_id=None)  # takes effect when both are known, never across a split
    reasons = dict.fromkeys((owners[0], owners[1]), ("confirm", decision.decision_id))
    return replace(_unite(state, reasons, (), decision.decision_id, link_id=None), citizen_id=None)


def _reject(state: ResolverState, decision: Reject) -> Resolution:
    first, second = decision.anchors
    state.rejected.setdefault(first, set()).add(second)
    state.rejected.setdefault(second, set()).add(first)
    owners = [state.owner[anchor] for anchor in decision.anchors if anchor in state.owner]
    new, dropped = refresh_candidates(state, owners)
    return Resolution(citizen_id=None, new_candidates=new, dropped_candidates=dropped)


def _split(state: ResolverState, decision: Split) -> Resolution:
    moves, region, regrouped = regroup(state, decision)
    new, dropped = refresh_candidates(state, regrouped, gone=region - regrouped)
    return Resolution(citizen_id=None, splits=tuple(moves), new_candidates=new, dropped_candidates=dropped)


def split_citizen(
    state: ResolverState, citizen_id: str, identifiers: Iterable[str], *, decision_id: str | None = None
) -> Split:
    """The Split separating ``identifiers`` from the rest of ``citizen_id`` as it is now.

    Raises ValueError for an unknown citizen or a group that is not some-but-not-all of its identifiers.
    """
    current = state.identifiers.get(citizen_id)
    if current is None:
        raise ValueError(f"no citizen {citizen_id}")
    moved = frozenset(identifiers)
    if not moved or not moved < current:
        raise ValueError(f"the identifiers to split off must be some, not all, of {citizen_id}'s identifiers")
    return split_sides(citizen_id, moved, frozenset(current) - moved, decision_id=decision_id)
