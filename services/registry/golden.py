"""``golden(record)``: the published view of a citizen record, as plain values (dates and UTC datetimes).

Every single-valued field carries its provenance (source, office, event id, time), because an officer
looking at a merged record must be able to tell which mission said what, and when.
The view holds personal data: it is for authorised lookups, never for logs or metric labels.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.registry.facts import RESIDENCE_FIELDS, CaseStatus, Observation
from services.registry.record import CitizenRecord

__all__ = ["golden"]


def _provenance(obs: Observation, made: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The provenance of what ``obs`` won: one dict per observation and golden record (most fields of a
    record are won by a few events; the view's writer encodes a shared dict once).
    """
    known = made.get(obs.event_id)
    if known is None:
        known = made[obs.event_id] = {
            "source": obs.source,
            "office": obs.office,
            "event_id": obs.event_id,
            "time": obs.time,
        }
    return known


def golden(record: CitizenRecord) -> dict[str, Any]:
    """The golden record: status, residence, personal fields (each with provenance) and collections."""
    personal: dict[str, Any] = {}
    residence: dict[str, str | None] = dict.fromkeys(RESIDENCE_FIELDS)
    provenance: dict[str, dict[str, Any]] = {}
    status: str | None = None
    stays: list[dict[str, Any]] = []
    passports: list[dict[str, Any]] = []
    cases: dict[str, dict[str, str | None]] = {}
    offices: list[str] = []
    made: dict[str, dict[str, Any]] = {}
    for slot, event_id in sorted(record.winners.items()):
        obs = record.observations[event_id]
        what, _, which = slot.partition(":")
        if what == "personal":
            personal[which] = obs.personal[which]
            provenance[f"personal.{which}"] = _provenance(obs, made)
        elif what == "residence":
            residence[which] = obs.residence[which]
            provenance[f"residence.{which}"] = _provenance(obs, made)
        elif what == "status" and obs.status is not None:
            status = obs.status.value
            provenance["status"] = _provenance(obs, made)
        elif what == "stay" and obs.stay is not None:
            stay = obs.stay
            stays.append(
                {
                    "office": stay.office,
                    "country": stay.country,
                    "city": stay.city,
                    "arrival_date": stay.arrival_date,
                    "office_record_ref": stay.office_record_ref,
                    "event_id": obs.event_id,
                }
            )
        elif what == "passport" and obs.passport is not None:
            held = obs.passport
            passports.append(
                {
                    "number": held.number,
                    "issuing_office": held.issuing_office,
                    "issue_date": held.issue_date,
                    "expiry_date": held.expiry_date,
                    "event_id": obs.event_id,
                }
            )
        elif what in ("case-status", "case-office") and obs.case is not None:
            entry = cases.setdefault(which, {"status": None, "office": None})
            if what == "case-status" and obs.case.status is not None:
                entry["status"] = obs.case.status.value
            else:
                entry["office"] = obs.case.office
        elif what == "office":
            offices.append(which)
    times = [obs.time for obs in record.observations.values()]
    return {
        "citizen_id": record.citizen_id,
        "status": status,
        "residence": residence,
        "personal": personal,
        "provenance": provenance,
        "stays": sorted(stays, key=lambda s: (s["arrival_date"], s["office"], s["office_record_ref"])),
        "passports": sorted(passports, key=lambda p: (p["issue_date"] or date.min, p["number"])),
        "cases": cases,
        "open_cases": sorted(case for case, entry in cases.items() if entry["status"] == CaseStatus.OPEN),
        "offices": offices,
        "first_seen": min(times),
        "last_seen": max(times),
        "events": len(times),
    }
