"""Citizens abroad per office, per country and in total, computed from raw citizen events by the README's
rules alone (not by the registry's code): the oracle the registry's figures are checked against.

Rules (README, "The golden record" and "OfficeCount"): per field, the latest event wins, ordered by (event
time, source, event id). A stay report says ABROAD in its country at its office; a details change with a
new country or city says ABROAD at the office that took it (and the country, if given); a departure to
another country says ABROAD in that country at no office (a desk planning an evacuation needs them), a
departure to Indonesia or a return home says RETURNED. Only citizens whose status is ABROAD count: in the
total, under their country if known, under their office if known. Valid for a stream where every citizen
event names a NIK (one citizen per NIK, no identity resolution needed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

HOME = "ID"


def _facts(event: Any) -> dict[str, str | None]:
    """What one citizen event says about status, country and office (only the fields it sets)."""
    kind = type(event).__name__
    if kind == "StayReported":
        return {"status": "ABROAD", "country": event.country, "office": event.office}
    if kind == "DetailsChanged":
        facts: dict[str, str | None] = {"status": "ABROAD"}
        if event.country is not None or event.city is not None:
            facts["office"] = event.office
            if event.country is not None:
                facts["country"] = event.country
        return facts
    if kind == "Departed":
        home = event.destination_country == HOME
        return {
            "status": "RETURNED" if home else "ABROAD",
            "country": event.destination_country,
            "office": None,
        }
    if kind == "ReturnedHome":
        return {"status": "RETURNED", "country": HOME, "office": None}
    return {}


def figures(events: Iterable[tuple[Any, str, datetime, str]]) -> dict[str, int]:
    """``abroad``, ``office:<code>`` and ``country:<ISO>`` -> citizens, non-zero only, from (payload,
    source, time, event id) of citizen events that each carry a NIK.
    """
    latest: dict[str, dict[str, tuple[tuple[datetime, str, str], str | None]]] = {}
    for payload, source, time, event_id in events:
        nik = payload.personal.nik
        order = (time, source, event_id)
        slots = latest.setdefault(nik, {})
        for field, value in _facts(payload).items():
            if field not in slots or order > slots[field][0]:
                slots[field] = (order, value)
    counted: Counter[str] = Counter()
    for slots in latest.values():
        if slots.get("status", (None, None))[1] != "ABROAD":
            continue
        counted["abroad"] += 1
        country = slots.get("country", (None, None))[1]
        office = slots.get("office", (None, None))[1]
        if country:
            counted[f"country:{country}"] += 1
        if office:
            counted[f"office:{office}"] += 1
    return dict(counted)
