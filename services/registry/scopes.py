"""Which citizens an office-scoped account may see (pure: the golden record as its JSON contract)."""

from __future__ import annotations

from typing import Any


def record_within(record: dict[str, Any], office: str) -> bool:
    """Whether ``office`` ever saw the citizen (an event of it is in the record) or the citizen lives
    under it: an office's officers serve the citizens it knows, not every citizen abroad.
    """
    residence = record.get("residence") or {}
    return office in (record.get("offices") or ()) or residence.get("office") == office
