"""Absolute figures per office and per country, kept incrementally and idempotently.

Each citizen's last counted residence is remembered, so re-applying a citizen's change (a redelivery, a
replay) moves nothing: the figures are a function of the records, never a sum of increments.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from services.contracts.registry import TOTAL_KEY, CountDimension, figure_key
from services.registry.facts import Status
from services.registry.record import CitizenRecord, residence

TOTAL = TOTAL_KEY


def residence_of(record: CitizenRecord | None) -> str | None:
    """``country|office`` of a citizen abroad (either part may be empty), None when not counted."""
    if record is None:
        return None
    status, country, office = residence(record)
    if status is not Status.ABROAD:
        return None
    return f"{country or ''}|{office or ''}"


def count_keys(place: str | None) -> list[str]:
    """The figures one counted residence contributes to."""
    if place is None:
        return []
    country, office = place.split("|", 1)
    keys = [TOTAL]
    if country:
        keys.append(figure_key(CountDimension.COUNTRY, country))
    if office:
        keys.append(figure_key(CountDimension.OFFICE, office))
    return keys


def recount(
    citizen_id: str,
    record: CitizenRecord | None,
    placed: MutableMapping[str, str],
    counts: MutableMapping[str, int],
) -> set[str]:
    """Move one citizen to where its record says; return the figure keys that changed."""
    new = residence_of(record)
    old = placed.get(citizen_id)
    if new == old:
        return set()
    for key in count_keys(old):
        counts[key] = counts.get(key, 0) - 1
    for key in count_keys(new):
        counts[key] = counts.get(key, 0) + 1
    if new is None:
        placed.pop(citizen_id, None)
    else:
        placed[citizen_id] = new
    return set(count_keys(old)) ^ set(count_keys(new))
