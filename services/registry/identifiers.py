"""Identifier strings of the registry: kinds, their fixed rank, citizen ids and the weak-key normalisation.

An identifier is ``<kind>:<value>`` where personal values (NIK, passport number, the weak name key) are
already hashed by the caller's keyed ``hasher``: identifiers end up in indexes, candidates and decisions,
so they must never carry a raw national id or passport number.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from functools import lru_cache
from typing import Final

__all__ = [
    "STRONG_KINDS",
    "Hasher",
    "app_identifier",
    "best_identifier",
    "case_identifier",
    "citizen_id_for",
    "kind_of",
    "nik_identifier",
    "normalise_passport",
    "normalise_text",
    "passport_identifier",
    "rank_key",
    "ref_identifier",
    "weak_key",
]

Hasher = Callable[[str], str]
"""Keyed one-way function (HMAC in production) applied to personal values before they become identifiers."""

#: Strong kinds best first: a NIK is the population registry's own id, a passport number is nearly as good,
#: an office's reference is local to that office, application and case ids only tie events together.
STRONG_KINDS: Final[tuple[str, ...]] = ("nik", "passport", "ref", "app", "case")
_RANK: Final[dict[str, int]] = {kind: rank for rank, kind in enumerate(STRONG_KINDS)}
_UNRANKED: Final = len(_RANK)
_CITIZEN_ID_HEX: Final = 20
_CITIZEN_IDS_KEPT: Final = 1 << 16
"""Citizen ids kept derived (a record's id is asked for several times per event it folds)."""


def kind_of(identifier: str) -> str:
    """The kind prefix of an identifier (``nik``, ``passport``, ... or ``weak``)."""
    return identifier.partition(":")[0]


def rank_key(identifier: str) -> tuple[int, str]:
    """Sort key: kind rank first, then the text, so "best" is the same everywhere and every time."""
    return (_RANK.get(identifier.partition(":")[0], _UNRANKED), identifier)  # kind_of, inlined: a hot path


def best_identifier(identifiers: Iterable[str]) -> str:
    """The best-ranked identifier; raises ValueError on an empty collection."""
    return min(identifiers, key=rank_key)


@lru_cache(maxsize=_CITIZEN_IDS_KEPT)
def citizen_id_for(identifier: str) -> str:
    """Surrogate id derived from the citizen's best identifier, so it does not depend on arrival order."""
    return "cit-" + hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:_CITIZEN_ID_HEX]


def normalise_text(text: str) -> str:
    """Casefold, strip accents, drop punctuation, collapse spaces: "Siti  Nurhaliza," -> "siti nurhaliza"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = (ch for ch in decomposed if not unicodedata.combining(ch) and (ch.isalnum() or ch.isspace()))
    return " ".join("".join(kept).split())


def normalise_passport(number: str) -> str:
    """Passport numbers are compared without spaces and in upper case (how officers type them varies)."""
    return "".join(number.split()).upper()


def nik_identifier(nik: str, hasher: Hasher) -> str:
    """The ``nik:`` identifier: the NIK hashed by ``hasher``."""
    return f"nik:{hasher(nik)}"


def passport_identifier(number: str, hasher: Hasher) -> str:
    """The ``passport:`` identifier: the normalised number hashed by ``hasher``."""
    return f"passport:{hasher(normalise_passport(number))}"


def ref_identifier(office: str, office_record_ref: str) -> str:
    """Same text as ``services.bus.keys.office_ref_key``: an office's own reference is not personal data."""
    return f"ref:{office}:{office_record_ref}"


def app_identifier(application_id: str) -> str:
    """The ``app:`` identifier that ties a passport application's events together."""
    return f"app:{application_id}"


def case_identifier(case_id: str) -> str:
    """The ``case:`` identifier that ties a protection case's events together."""
    return f"case:{case_id}"


def weak_key(full_name: str, date_of_birth: date, place_of_birth: str, hasher: Hasher) -> str | None:
    """Name + birth date + birth place, normalised and hashed; None when a part normalises to nothing."""
    name, place = normalise_text(full_name), normalise_text(place_of_birth)
    if not name or not place:
        return None
    return f"weak:{hasher(f'{name}|{date_of_birth.isoformat()}|{place}')}"
