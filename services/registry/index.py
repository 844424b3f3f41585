"""The identifier index: the resolver's state, which only ``resolver`` (through the helpers here) writes.

The state is a pure function of two sets, the links seen (one per observation: its identifiers) and the
officer decisions, whatever order they came in: citizens are the connected components of the links,
minus what splits cut, plus what confirmations join, each named after its best identifier.
It is mutable on purpose: copying an index of millions of identifiers per event would cost far more than
the fold it serves. Iteration never depends on set order, so two processes build equal states.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.registry.decisions import Decision
from services.registry.identifiers import best_identifier, citizen_id_for, kind_of
from services.registry.resolution import Candidate

__all__ = ["Link", "ResolverState"]


@dataclass(frozen=True, slots=True)
class Link:
    """The identifiers one observation ties together; ``best`` is what routes the observation."""

    identifiers: frozenset[str]
    weak_keys: frozenset[str]
    best: str


class ResolverState:
    """Identifier index, per-citizen links, weak keys, decisions and open candidates."""

    def __init__(self) -> None:
        self.links: dict[str, Link] = {}
        self.links_by_identifier: dict[str, set[str]] = {}
        #: identifier -> citizen id, for identifiers that some (uncut) link ties in: the nodes.
        self.owner: dict[str, str] = {}
        self.anchor: dict[str, str] = {}
        self.identifiers: dict[str, set[str]] = {}
        #: citizen id -> ids of the links (observations) routed to it: what a split recomputes from.
        self.members: dict[str, set[str]] = {}
        self.weak_of: dict[str, set[str]] = {}
        self.weak_index: dict[str, set[str]] = {}
        self.decisions: dict[str, Decision] = {}
        #: identifier -> {(split decision id, on the moved side?)}
        self.sides: dict[str, set[tuple[str, bool]]] = {}
        #: anchor -> {other anchor: smallest confirming decision id}
        self.confirmed: dict[str, dict[str, str]] = {}
        self.rejected: dict[str, set[str]] = {}
        self.candidates: dict[str, Candidate] = {}
        self.candidates_of: dict[str, set[str]] = {}

    def add_link(self, link_id: str, link: Link) -> None:
        """Keep an observation's link, indexed by each of its identifiers (owners are set by ``join``)."""
        self.links[link_id] = link
        for identifier in link.identifiers:
            self.links_by_identifier.setdefault(identifier, set()).add(link_id)

    def has_nik(self, citizen: str) -> bool:
        """A citizen with a NIK has a NIK as its best identifier (NIK ranks first)."""
        return kind_of(self.anchor[citizen]) == "nik"

    def pop_citizen(self, citizen: str) -> tuple[set[str], set[str], set[str]]:
        """Remove a citizen (not its owner entries: the caller re-owns or drops them)."""
        identifiers = self.identifiers.pop(citizen)
        members = self.members.pop(citizen)
        weak = self.weak_of.pop(citizen)
        del self.anchor[citizen]
        for key in weak:
            holders = self.weak_index[key]
            holders.discard(citizen)
            if not holders:
                del self.weak_index[key]
        return identifiers, members, weak

    def join(self, citizens: Iterable[str], new_nodes: Iterable[str], link_id: str | None) -> str:
        """Unite ``citizens``, the new nodes and the new link into one citizen; return its (derived) id.

        The citizen keeping its id keeps its sets, so the common case (one more event for a known citizen)
        costs the size of the event, not of the citizen.
        """
        olds = sorted(set(citizens))
        nodes = list(new_nodes)
        best = best_identifier([self.anchor[citizen] for citizen in olds] + nodes)
        cid = citizen_id_for(best)
        if cid not in self.identifiers:
            self.identifiers[cid], self.members[cid], self.weak_of[cid] = set(), set(), set()
        identifiers, members, weak = self.identifiers[cid], self.members[cid], self.weak_of[cid]
        joining: set[str] = set()  # weak keys new to cid: its own are indexed under it already
        for citizen in olds:
            if citizen == cid:
                continue
            their_identifiers, their_members, their_weak = self.pop_citizen(citizen)
            for identifier in their_identifiers:
                self.owner[identifier] = cid
            identifiers |= their_identifiers
            members |= their_members
            joining |= their_weak
        for identifier in nodes:
            self.owner[identifier] = cid
        identifiers.update(nodes)
        if link_id is not None:
            members.add(link_id)
            joining |= self.links[link_id].weak_keys
        joining -= weak
        weak |= joining
        for key in joining:
            self.weak_index.setdefault(key, set()).add(cid)
        self.anchor[cid] = best
        return cid

    def install(self, identifiers: set[str], members: set[str]) -> str:
        """Register a citizen recomputed by a split; return its derived id."""
        best = best_identifier(identifiers)
        cid = citizen_id_for(best)
        weak: set[str] = set()
        for link_id in members:
            weak |= self.links[link_id].weak_keys
        self.identifiers[cid], self.members[cid], self.weak_of[cid] = identifiers, members, weak
        self.anchor[cid] = best
        for identifier in identifiers:
            self.owner[identifier] = cid
        for key in weak:
            self.weak_index.setdefault(key, set()).add(cid)
        return cid

    def partition(self) -> dict[str, frozenset[str]]:
        """Citizen id -> identifiers: the comparable essence of the state (replays compare this)."""
        return {citizen: frozenset(ids) for citizen, ids in sorted(self.identifiers.items())}
