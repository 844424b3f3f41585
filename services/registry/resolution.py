"""What the identity resolver tells its caller: where an observation goes and which citizens changed.

All plain frozen data holding hashed identifiers and surrogate ids only, so a Resolution can be logged,
published to an officer's queue or compared in a replay without exposing anyone's personal data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["Candidate", "Merge", "Rename", "Resolution", "SplitMove", "short_hash"]


def short_hash(prefix: str, *parts: str) -> str:
    """A deterministic id for a pair, a merge or a decision: the same inputs give the same id everywhere."""
    return prefix + hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Candidate:
    """Two citizens sharing a weak key (name, birth date and place): maybe one person, an officer decides.

    ``anchors`` are the two citizens' best identifiers when the pair was found; decisions refer to them
    because identifiers, unlike citizen ids, never change when a better identifier joins a citizen.
    """

    candidate_id: str
    citizens: tuple[str, str]
    anchors: tuple[str, str]
    weak_keys: frozenset[str]

    @property
    def holds_two_niks(self) -> bool:
        """Both citizens hold a NIK (two different ones): an officer checks for one person with two NIKs."""
        return all(anchor.startswith("nik:") for anchor in self.anchors)

    @classmethod
    def of(cls, pair: tuple[tuple[str, str], tuple[str, str]], weak_keys: frozenset[str]) -> Candidate:
        """Build from two (citizen id, anchor) pairs in any order: the id depends only on the pair."""
        first, second = sorted(pair)
        return cls(
            candidate_id=short_hash("cand-", first[0], second[0]),
            citizens=(first[0], second[0]),
            anchors=(first[1], second[1]),
            weak_keys=weak_keys,
        )


@dataclass(frozen=True, slots=True)
class Merge:
    """``absorbed`` now is ``surviving``: tied by an identifier of ``kind`` in event ``source_id``, or by
    an officer's confirm decision (``kind == "confirm"``, ``source_id`` the decision id).

    The identifier sets are a snapshot at merge time: ``decisions.split_merge`` turns them into a Split.
    """

    merge_id: str
    absorbed: str
    surviving: str
    kind: str
    source_id: str
    absorbed_identifiers: frozenset[str]
    surviving_identifiers: frozenset[str]


@dataclass(frozen=True, slots=True)
class Rename:
    """A better-ranked identifier joined a citizen, so its derived id changed; nothing was merged."""

    old: str
    new: str
    source_id: str


@dataclass(frozen=True, slots=True)
class SplitMove:
    """After officer decision ``decision_id``, the ``links`` of ``from_citizen`` belong to ``to_citizen``,
    whose identifiers are now ``identifiers`` (a record moves the observations routed by one of them).
    """

    from_citizen: str
    to_citizen: str
    identifiers: frozenset[str]
    links: frozenset[str]
    decision_id: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of one observation or decision; tuples are sorted so equal histories compare equal.

    ``citizen_id`` is where the observation goes (None for decisions); ``duplicate`` means nothing changed
    because that event or decision id was already applied.
    """

    citizen_id: str | None
    duplicate: bool = False
    merges: tuple[Merge, ...] = ()
    renames: tuple[Rename, ...] = ()
    splits: tuple[SplitMove, ...] = ()
    new_candidates: tuple[Candidate, ...] = ()
    dropped_candidates: tuple[str, ...] = ()
