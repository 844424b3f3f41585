"""The registry's published views and its officer decisions, between the pure core and the Avro contracts.

``citizen_record_view`` turns ``golden(record)`` into the ``CitizenRecord`` contract, so the golden record
has one definition and the published view cannot drift from it; ``count_views`` / ``count_view`` do the
same for the figures, and ``decision_from_event`` / ``decision_event`` translate officer decisions between
``registry.decisions`` and ``services.registry.decisions``. Errors name ids and rules, never personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.contracts.base import EventModel
from services.contracts.registry import (
    TOTAL_KEY,
    CitizenRecordModel,
    CountDimension,
    MatchConfirmed,
    MatchRejected,
    OfficeCountModel,
    RecordSplit,
    figure_key,
    parse_figure_key,
)
from services.registry.decisions import Confirm, Decision, Reject, Split
from services.registry.golden import golden
from services.registry.model import ResidenceCounts
from services.registry.record import CitizenRecord

__all__ = [
    "DecisionPayload",
    "citizen_record_avro",
    "citizen_record_view",
    "count_view",
    "count_views",
    "decision_event",
    "decision_from_event",
]

DecisionPayload = MatchConfirmed | MatchRejected | RecordSplit
_MERGED_AVRO: dict[str, Any] = CitizenRecordModel.merged("cit-" + "0" * 20, "cit-" + "1" * 20).to_avro()
del _MERGED_AVRO["citizen_id"], _MERGED_AVRO["merged_into"]
"""Every field of a merged id's record but the two ids, as plain Avro data."""


def citizen_record_avro(
    citizen_id: str, record: CitizenRecord | None, *, merged_into: str | None = None
) -> dict[str, Any]:
    """The ``CitizenRecord`` published under ``citizen_id`` as plain Avro data: its golden record, or where
    it was merged to. The core publishes this without building the model (a third of its time went to
    validating and dumping it again); ``citizen_record_view`` validates the same data into the model.

    Exactly one of ``record`` and ``merged_into`` is given. A record stored under another id than its own
    is a routing bug (as in ``record.apply``): ValueError rather than a record published under a wrong key.
    """
    if record is None:
        if merged_into is None:
            raise ValueError(f"view of {citizen_id} needs its record or the id it was merged into")
        return {"citizen_id": citizen_id, "merged_into": merged_into, **_MERGED_AVRO}
    if merged_into is not None:
        raise ValueError(f"view of {citizen_id} has a record, so it was not merged into another id")
    if record.citizen_id != citizen_id:
        raise ValueError(f"record of {record.citizen_id} is stored under {citizen_id}")
    view = golden(record)
    personal: dict[str, Any] = {**view["personal"], "passports": view["passports"]}
    if (born := personal.get("date_of_birth")) is not None:
        personal["date_of_birth"] = date.fromisoformat(born)
    return {
        "citizen_id": citizen_id,
        "merged_into": None,
        "status": view["status"],
        "residence": view["residence"],
        "personal": personal,
        "provenance": view["provenance"],
        "stays": view["stays"],
        "cases": [{"case_id": case_id, **entry} for case_id, entry in sorted(view["cases"].items())],
        "open_cases": view["open_cases"],
        "offices": view["offices"],
        "first_seen": view["first_seen"],
        "updated_at": view["last_seen"],
        "observations": view["events"],
    }


def citizen_record_view(
    citizen_id: str, record: CitizenRecord | None, *, merged_into: str | None = None
) -> CitizenRecordModel:
    """``citizen_record_avro`` validated into the contract model (HTTP answers, tests, replays)."""
    return CitizenRecordModel.from_avro(citizen_record_avro(citizen_id, record, merged_into=merged_into))


def count_view(key: str, citizens: int, as_of: datetime) -> OfficeCountModel:
    """The figure published under record key ``key`` (``office:<code>``, ``country:<ISO>``, ``abroad``)."""
    dimension, code = parse_figure_key(key)
    return OfficeCountModel(dimension=dimension, key=code, citizens=citizens, as_of=as_of)


def count_views(counts: ResidenceCounts, as_of: datetime) -> list[OfficeCountModel]:
    """Every figure of ``counts``: the total first, then per office and per country, each sorted.

    Only figures above zero are in ``counts``: a publisher replacing a whole snapshot must also send 0
    for keys it published before and that are gone (``count_view(key, 0, as_of)``), or compaction keeps
    the last non-zero figure forever.
    """
    office, country = CountDimension.OFFICE, CountDimension.COUNTRY
    views = [count_view(TOTAL_KEY, counts.abroad, as_of)]
    views += [count_view(figure_key(office, code), n, as_of) for code, n in sorted(counts.by_office.items())]
    views += [
        count_view(figure_key(country, code), n, as_of) for code, n in sorted(counts.by_country.items())
    ]
    return views


def decision_from_event(payload: EventModel) -> Decision:
    """The ``services.registry.decisions`` value an officer's decision event stands for.

    Takes any payload so an intake can pass what it decoded; anything but a decision is a TypeError.
    """
    if isinstance(payload, MatchConfirmed):
        return Confirm(payload.decision_id, payload.candidate_id, payload.anchors)
    if isinstance(payload, MatchRejected):
        return Reject(payload.decision_id, payload.candidate_id, payload.anchors)
    if isinstance(payload, RecordSplit):
        return Split(
            payload.decision_id, payload.citizen_id, frozenset(payload.moved), frozenset(payload.kept)
        )
    raise TypeError(f"{payload.SCHEMA} is not an officer decision")


def decision_event(
    decision: Decision, *, office: str, officer_id: str, reason: str, merge_id: str | None = None
) -> DecisionPayload:
    """The event publishing ``decision``: who decided, where and why; ``merge_id`` only for a split."""
    if isinstance(decision, Split):
        return RecordSplit(
            decision_id=decision.decision_id,
            citizen_id=decision.citizen_id,
            merge_id=merge_id,
            moved=tuple(decision.moved),
            kept=tuple(decision.kept),
            office=office,
            reason=reason,
            officer_id=officer_id,
        )
    if merge_id is not None:
        raise ValueError("merge_id belongs to a split only")
    model = MatchConfirmed if isinstance(decision, Confirm) else MatchRejected
    return model(
        decision_id=decision.decision_id,
        candidate_id=decision.candidate_id,
        anchors=decision.anchors,
        office=office,
        reason=reason,
        officer_id=officer_id,
    )
