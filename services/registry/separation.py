"""What officer splits do to the link graph: which identifiers a link may still tie, and the recompute.

A Split says "``moved`` and ``kept`` are different people". A link (an observation) that carries
identifiers of both sides keeps only what is compatible with its best identifier, taken greedily in rank
order, so the observation stays with the citizen of its best identifier and ties nothing across the cut.
Applying a Split recomputes the components of the affected citizens from their links.
"""

from __future__ import annotations

from services.registry.decisions import Split
from services.registry.identifiers import rank_key
from services.registry.index import Link, ResolverState
from services.registry.resolution import SplitMove

__all__ = ["effective", "regroup", "separated", "separated_citizens"]


def separated(state: ResolverState, first: str, second: str) -> bool:
    """True when some split put these two identifiers on opposite sides."""
    sides_first = state.sides.get(first)
    sides_second = state.sides.get(second)
    if not sides_first or not sides_second:
        return False
    return any((split_id, not moved) in sides_second for split_id, moved in sides_first)


def separated_citizens(state: ResolverState, first: str, second: str) -> bool:
    """True when a split separates an identifier of one citizen from one of the other."""
    wanted = {
        (split_id, not moved)
        for identifier in state.identifiers[first]
        for split_id, moved in state.sides.get(identifier, ())
    }
    if not wanted:
        return False
    return any(state.sides.get(identifier, set()) & wanted for identifier in state.identifiers[second])


def effective(state: ResolverState, link: Link) -> list[str]:
    """The identifiers this link ties together, best first; without splits involved, all of them."""
    ordered = sorted(link.identifiers, key=rank_key)
    if not any(identifier in state.sides for identifier in ordered):
        return ordered
    tied = [ordered[0]]
    for identifier in ordered[1:]:
        if not any(separated(state, identifier, other) for other in tied):
            tied.append(identifier)
    return tied


class _UnionFind:
    """Plain union-find keyed by identifier; roots carry no meaning (ids are derived afterwards)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def add(self, item: str) -> None:
        self.parent.setdefault(item, item)

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, first: str, second: str) -> None:
        self.add(first)
        self.add(second)
        self.parent[self.find(first)] = self.find(second)

    def groups(self) -> list[set[str]]:
        found: dict[str, set[str]] = {}
        for item in self.parent:
            found.setdefault(self.find(item), set()).add(item)
        return list(found.values())


def _region(state: ResolverState, split: Split) -> set[str]:
    """Citizens whose components may change: owners of the split's identifiers and of their links."""
    region: set[str] = set()
    for identifier in split.moved | split.kept:
        if identifier in state.owner:
            region.add(state.owner[identifier])
        for link_id in state.links_by_identifier.get(identifier, ()):
            region.update(state.owner[i] for i in state.links[link_id].identifiers if i in state.owner)
    return region


def _components(state: ResolverState, region: set[str]) -> tuple[set[str], list[set[str]]]:
    """Recompute the components of the region's links; grow the region if a confirmation reaches out."""
    while True:
        link_ids: set[str] = set().union(*(state.members[citizen] for citizen in region))
        found = _UnionFind()
        for link_id in link_ids:
            tied = effective(state, state.links[link_id])
            found.add(tied[0])
            for identifier in tied[1:]:
                found.union(tied[0], identifier)
        outside: set[str] = set()
        for node in list(found.parent):
            for other in state.confirmed.get(node, {}):
                if separated(state, node, other):
                    continue
                if other in found.parent:
                    found.union(node, other)
                elif other in state.owner and state.owner[other] not in region:
                    outside.add(state.owner[other])
        if not outside:
            return region, found.groups()
        region = region | outside


def regroup(state: ResolverState, split: Split) -> tuple[list[SplitMove], set[str], set[str]]:
    """Record the split's sides and recompute the affected citizens.

    Returns which links moved where, the citizens before and the citizens after the recompute.
    """
    for identifier in split.moved:
        state.sides.setdefault(identifier, set()).add((split.decision_id, True))
    for identifier in split.kept:
        state.sides.setdefault(identifier, set()).add((split.decision_id, False))
    region, groups = _components(state, _region(state, split))
    before = {citizen: set(state.members[citizen]) for citizen in region}
    old_nodes: set[str] = set()
    for citizen in region:
        identifiers, _, _ = state.pop_citizen(citizen)
        old_nodes |= identifiers
    group_of = {node: index for index, group in enumerate(groups) for node in group}
    members: list[set[str]] = [set() for _ in groups]
    for link_id in set().union(*before.values()):
        members[group_of[state.links[link_id].best]].add(link_id)
    regrouped = {state.install(group, links) for group, links in zip(groups, members, strict=True)}
    for identifier in old_nodes - group_of.keys():
        del state.owner[identifier]  # only tied in by links that the split cut: no longer a node
    moves: dict[tuple[str, str], set[str]] = {}
    for citizen, links_before in before.items():
        for link_id in links_before:
            target = state.owner[state.links[link_id].best]
            if target != citizen:
                moves.setdefault((citizen, target), set()).add(link_id)
    return (
        [
            SplitMove(
                from_citizen=source,
                to_citizen=target,
                identifiers=frozenset(state.identifiers[target]),
                links=frozenset(links),
                decision_id=split.decision_id,
            )
            for (source, target), links in sorted(moves.items())
        ],
        region,
        regrouped,
    )
