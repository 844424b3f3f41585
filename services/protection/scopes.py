"""Which cases an office-scoped account may see (pure: the case as its ``ProtectionCase`` JSON)."""

from __future__ import annotations

from typing import Any


def case_within(case: dict[str, Any], office: str) -> bool:
    """Whether ``office`` holds the case, opened it, or handed it over or received it: an office sees the
    cases it worked on, not every office's.
    """
    offices = {case.get("office"), case.get("opened_by")}
    for handover in case.get("handovers") or ():
        offices.update((handover.get("from_office"), handover.get("to_office")))
    return office in offices
