"""Which registry citizen a case is about: identifiers claimed by citizens, and the cases naming them.

Every partition of ``protection.items`` gets every citizen link (the intake broadcasts them), so each keeps
its own maps: citizen -> identifiers it holds, identifier -> citizens claiming it, identifier -> cases
naming it. A link replaces what its citizen held (a merged-away id holds nothing), so the maps are a
function of the latest link per citizen, which ``registry.citizens`` (compacted, keyed by citizen id)
gives in order. Between two links of a merge or a split, an identifier may be claimed by two citizens for a
moment; the case then goes to the smallest citizen id until the second link lands, the same in every
partition and every replay.

Identifiers are the registry's (``services.registry.identifiers``, which this layer may not import, so the
two spellings are kept equal by ``tests/unit/protection/test_links.py``): ``nik:`` + HMAC of the NIK,
``passport:`` + HMAC of the number without spaces, in upper case. A case's are those of the subject in its
applied events (``case.CaseFold.identifiers``); among them a NIK outranks a passport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping

__all__ = ["Links", "nik_identifier", "passport_identifier", "subject_identifiers"]

Hasher = Callable[[str], str]


def nik_identifier(nik: str, hasher: Hasher) -> str:
    """``nik:`` and the keyed hash of the NIK."""
    return f"nik:{hasher(nik)}"


def passport_identifier(number: str, hasher: Hasher) -> str:
    """``passport:`` and the keyed hash of the number, spaces removed and in upper case (as typed varies)."""
    return f"passport:{hasher(''.join(number.split()).upper())}"


def subject_identifiers(nik: str | None, passports: Iterable[str], hasher: Hasher) -> frozenset[str]:
    """The identifiers of a person known by ``nik`` (if any) and passport numbers ``passports``."""
    found = {passport_identifier(number, hasher) for number in passports if number.strip()}
    if nik:
        found.add(nik_identifier(nik, hasher))
    return frozenset(found)


def _rank(identifier: str) -> tuple[int, str]:
    """NIK before passport, then by text: the same choice everywhere."""
    return (0 if identifier.startswith("nik:") else 1, identifier)


class Links:
    """The three maps of one partition, over any mutable mappings (the store's columns, or dicts)."""

    def __init__(
        self,
        held: MutableMapping[str, list[str]],
        claims: MutableMapping[str, list[str]],
        cases: MutableMapping[str, list[str]],
    ) -> None:
        self.held = held
        """citizen id -> identifiers it holds (sorted)."""
        self.claims = claims
        """identifier -> citizen ids holding it (sorted; one but for a moment)."""
        self.cases = cases
        """identifier -> case ids naming it (sorted)."""

    def hold(self, citizen_id: str, identifiers: frozenset[str]) -> set[str]:
        """Citizen ``citizen_id`` now holds exactly ``identifiers``; returns the identifiers whose claims
        changed.
        """
        before = set(self.held.get(citizen_id, ()))
        for identifier in before - identifiers:
            _remove(self.claims, identifier, citizen_id)
        for identifier in identifiers - before:
            _add(self.claims, identifier, citizen_id)
        if identifiers:
            self.held[citizen_id] = sorted(identifiers)
        elif citizen_id in self.held:
            del self.held[citizen_id]
        return before ^ identifiers

    def citizen_of(self, identifiers: Iterable[str]) -> str | None:
        """The citizen a case naming ``identifiers`` is about: the best identifier anyone claims decides."""
        for identifier in sorted(identifiers, key=_rank):
            claimers = self.claims.get(identifier)
            if claimers:
                return claimers[0]
        return None

    def index(self, case_id: str, before: Iterable[str], after: Iterable[str]) -> None:
        """Case ``case_id`` named ``before`` and now names ``after``."""
        old, new = set(before), set(after)
        for identifier in old - new:
            _remove(self.cases, identifier, case_id)
        for identifier in new - old:
            _add(self.cases, identifier, case_id)

    def cases_naming(self, identifiers: Iterable[str]) -> set[str]:
        """Every case naming one of ``identifiers``."""
        found: set[str] = set()
        for identifier in identifiers:
            found.update(self.cases.get(identifier, ()))
        return found


def _add(index: MutableMapping[str, list[str]], key: str, value: str) -> None:
    values = set(index.get(key, ()))
    if value not in values:
        index[key] = sorted(values | {value})


def _remove(index: MutableMapping[str, list[str]], key: str, value: str) -> None:
    values = set(index.get(key, ()))
    values.discard(value)
    if values:
        index[key] = sorted(values)
    elif key in index:
        del index[key]
