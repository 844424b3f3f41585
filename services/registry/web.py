"""HTTP views of the registry, served by the worker (faust's aiohttp web server, on 127.0.0.1).

A person is looked up by citizen id, or by NIK / passport number sent in a POST body (never in a URL,
which access logs keep), hashed on the way in and never logged. Every lookup of a person is recorded on
``registry.access``: who asked, from which office, when, which record, for what purpose.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from faust.web import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.contracts.registry import (
    AccessPurpose,
    CountDimension,
    LookupKind,
    RecordAccessedModel,
    parse_figure_key,
)
from services.reference.offices import is_known_office
from services.registry.core import RegistryCore
from services.registry.counting import TOTAL
from services.registry.identifiers import nik_identifier, passport_identifier
from services.registry.mapping import citizen_record_view
from services.registry.topics import ACCESS

STAFF_ID_MAX = 64
SAMPLE_MAX = 100
NOT_READY = "the registry is rebuilding its index; try again shortly"
SAMPLE_SCAN = 100_000


class AccessError(ValueError):
    """The request does not say who asks and why: refused before any record is read."""


def who_asks(data: dict[str, Any]) -> tuple[str, str, AccessPurpose]:
    """Staff id, office and purpose of the request; AccessError if any is missing or unknown."""
    requested_by = str(data.get("requested_by") or "").strip()
    office = str(data.get("office") or "").strip()
    if not requested_by or len(requested_by) > STAFF_ID_MAX:
        raise AccessError("requested_by (the staff id of who asks) is required")
    if not is_known_office(office):
        raise AccessError("office must be a known office code")
    try:
        purpose = AccessPurpose(str(data.get("purpose") or ""))
    except ValueError:
        raise AccessError(f"purpose must be one of {', '.join(p.value for p in AccessPurpose)}") from None
    return requested_by, office, purpose


def figures(service: RegistryCore) -> dict[str, Any]:
    """Citizens abroad in total, per office and per country, as stored with the last batch."""
    by_office: dict[str, int] = {}
    by_country: dict[str, int] = {}
    for key, value in service.store.counts.items():
        dimension, code = parse_figure_key(key)
        if value and dimension is CountDimension.OFFICE:
            by_office[code] = value
        elif value and dimension is CountDimension.COUNTRY:
            by_country[code] = value
    return {
        "abroad": service.store.counts.get(TOTAL, 0),
        "by_office": dict(sorted(by_office.items())),
        "by_country": dict(sorted(by_country.items())),
    }


def multi_office(service: RegistryCore, offices: int, limit: int) -> list[str]:
    """Up to ``limit`` citizen ids whose golden record takes its fields from ``offices`` offices or more
    (a bounded scan, for operators and demonstrations).
    """
    found: list[str] = []
    for scanned, cid in enumerate(service.store.records.scan()):
        if len(found) >= limit or scanned >= SAMPLE_SCAN:
            break
        record = service.model.records.get(cid)
        if record is None or len({o.office for o in record.observations.values()}) < offices:
            continue
        provenance = citizen_record_view(cid, record).provenance.values()
        if len({seen.office for seen in provenance}) >= offices:
            found.append(cid)
    return found


def register(app: Any, service: RegistryCore) -> None:
    """Every HTTP view of the worker on faust's web server: person lookups (recorded), figures, health."""
    register_lookups(app, service)
    register_figures(app, service)


async def record_access(
    service: RegistryCore,
    who: tuple[str, str, AccessPurpose],
    lookup: LookupKind,
    citizen_id: str | None,
) -> None:
    """Publish who looked up whom, and wait for the acknowledgement, before any answer is sent."""
    requested_by, office, purpose = who
    access = RecordAccessedModel(
        access_id=str(uuid.uuid4()),
        requested_by=requested_by,
        office=office,
        accessed_at=datetime.now(UTC),
        citizen_id=citizen_id,
        lookup=lookup,
        purpose=purpose,
        found=citizen_id is not None,
    )
    await service.publisher.wait([service.publisher.send(ACCESS, citizen_id or access.access_id, access)])


def current(service: RegistryCore, citizen_id: str) -> dict[str, Any] | None:
    """The golden record of ``citizen_id`` as JSON, or None."""
    record = service.model.records.get(citizen_id)
    if record is None:
        return None
    return citizen_record_view(citizen_id, record).model_dump(mode="json")


def looked_up(service: RegistryCore, data: dict[str, Any]) -> tuple[LookupKind, str] | None:
    """What the request looks up and the citizen id it leads to ("" when unknown); None if it names none.

    A NIK or passport number is hashed here and goes no further.
    """
    owner = service.model.state.owner
    if data.get("citizen_id"):
        return LookupKind.CITIZEN_ID, str(data["citizen_id"])
    if data.get("nik"):
        return LookupKind.NIK, owner.get(nik_identifier(str(data["nik"]), service.hasher), "")
    if data.get("passport_number"):
        number = str(data["passport_number"])
        return LookupKind.PASSPORT_NUMBER, owner.get(passport_identifier(number, service.hasher), "")
    return None


def register_lookups(app: Any, service: RegistryCore) -> None:
    """``POST /registry/lookup`` and ``GET /registry/citizens/{id}``: each answer recorded first."""

    async def lookup(web: Any, data: dict[str, Any]) -> Any:
        if not service.index_ready:
            return web.json({"error": NOT_READY}, status=503)
        try:
            who = who_asks(data)
        except AccessError as exc:
            return web.json({"error": str(exc)}, status=400)
        target = looked_up(service, data)
        if target is None:
            return web.json({"error": "give one of citizen_id, nik, passport_number"}, status=400)
        kind, citizen_id = target
        found = current(service, citizen_id) if citizen_id else None
        await record_access(service, who, kind, citizen_id if found else None)
        if found is None:
            return web.json({"error": "no such citizen"}, status=404)
        return web.json(found)

    class Lookup(View):
        """POST /registry/lookup {nik | passport_number | citizen_id, requested_by, office, purpose}."""

        async def post(self, request: Any) -> Any:
            try:
                data = await request.json()
            except ValueError:
                return self.json({"error": "body must be JSON"}, status=400)
            if not isinstance(data, dict):
                return self.json({"error": "body must be a JSON object"}, status=400)
            return await lookup(self, data)

    class Citizen(View):
        """GET /registry/citizens/{citizen_id}, with X-Requested-By, X-Office and X-Purpose headers."""

        async def get(self, request: Any, citizen_id: str) -> Any:
            headers = request.headers
            data = {
                "citizen_id": citizen_id,
                "requested_by": headers.get("X-Requested-By"),
                "office": headers.get("X-Office"),
                "purpose": headers.get("X-Purpose"),
            }
            return await lookup(self, data)

    app.page("/registry/lookup")(Lookup)
    app.page("/registry/citizens/{citizen_id}")(Citizen)


def register_figures(app: Any, service: RegistryCore) -> None:
    """Figures, candidates, health and metrics: no personal data in any of them."""

    async def candidates(web: Any, _request: Any) -> Any:
        """Candidate matches waiting for an officer: pseudonymous identifiers only."""
        if not service.index_ready:
            return web.json({"error": NOT_READY}, status=503)
        owner = service.model.state.owner
        items = [
            {
                "candidate_id": cand.candidate_id,
                "anchors": list(cand.anchors),
                "citizen_ids": [owner.get(anchor) for anchor in cand.anchors],
            }
            for cand in sorted(service.model.candidates.values(), key=lambda c: c.candidate_id)
        ]
        return web.json({"candidates": items})

    async def counts(web: Any, _request: Any) -> Any:
        return web.json(figures(service))

    async def sample(web: Any, request: Any) -> Any:
        """Citizen ids (no personal data) whose record has events from at least ``offices`` offices."""
        try:
            want = int(request.query.get("offices", "2"))
            limit = min(int(request.query.get("max", "10")), SAMPLE_MAX)
        except ValueError:
            return web.json({"error": "offices and max must be whole numbers"}, status=400)
        return web.json({"citizen_ids": multi_office(service, want, limit)})

    async def stats(web: Any, _request: Any) -> Any:
        return web.json(
            {**service.stats, "citizens": service.store.record_count, "ready": service.index_ready}
        )

    async def processor_stats(web: Any, _request: Any) -> Any:
        """The generic ``/stats`` every processor answers (``bus run`` shows ``summary``)."""
        applied = service.stats["next_offset"]
        return web.json(
            {
                "processor": "registry",
                "ready": service.index_ready,
                "summary": f"{service.store.record_count} citizens, {applied} items applied",
            }
        )

    app.page("/stats")(processor_stats)
    app.page("/registry/candidates")(candidates)
    app.page("/registry/counts")(counts)
    app.page("/registry/stats")(stats)
    app.page("/registry/sample")(sample)

    async def prometheus(web: Any, _request: Any) -> Any:
        """Prometheus text exposition of the worker's metrics (no personal data in any label)."""
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    app.page("/metrics")(prometheus)
