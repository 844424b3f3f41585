"""HTTP views of the registry, served by the worker (faust's aiohttp web server, on 127.0.0.1).

A person is looked up by citizen id, or by NIK / passport number sent in a POST body (never in a URL,
which access logs keep), hashed on the way in and never logged. Every lookup of a person is recorded on
``registry.access``: who asked, from which office, when, which record, for what purpose.

A person's record is given only to a request carrying the service credential (the front door's, which
proved who asks: ``services.runtime.credential``); without it, 401. The front door names the office an
office-scoped account is limited to (``scope`` in the body, ``X-Bus-Scope`` on a GET): a citizen that
office has never seen, nor is resident under, is refused 403 and the lookup recorded as not shown. Figures,
candidates and samples hold no personal data (pseudonymous ids only) and stay open on loopback.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.web import View

from services.bus.logs import get_logger
from services.contracts.registry import (
    AccessPurpose,
    CountDimension,
    LookupKind,
    RecordAccessedModel,
    parse_figure_key,
)
from services.reference.offices import is_known_office
from services.registry.counting import TOTAL
from services.registry.identifiers import Hasher, nik_identifier, passport_identifier
from services.registry.mapping import citizen_record_view
from services.registry.projection import RegistryPartition
from services.registry.scopes import record_within
from services.registry.topics import ACCESS
from services.runtime.core import ViewRuntime
from services.runtime.credential import ServiceCredential, credential_refusal
from services.runtime.publishing import ViewPublisher

log = get_logger("registry.web")
STAFF_ID_MAX = 64
SAMPLE_MAX = 100
NOT_READY = "the registry is rebuilding its index; try again shortly"
SAMPLE_SCAN = 100_000
SCOPE = "X-Bus-Scope"
OUT_OF_SCOPE = "the citizen is not within the office the account is limited to"


@dataclass(frozen=True)
class RegistryReader:
    """What the HTTP views need of the worker: its one partition's state, readiness, the access log."""

    runtime: ViewRuntime[RegistryPartition, Any]
    hasher: Hasher
    credential: ServiceCredential

    @property
    def ready(self) -> bool:
        """Whether the index is restored and the state caught up (lookups answer 503 until then)."""
        return self.runtime.ready

    @property
    def state(self) -> RegistryPartition:
        """The registry's state (``registry.observations`` has one partition)."""
        return self.runtime.core(0).state

    @property
    def publisher(self) -> ViewPublisher:
        """Where access records are published."""
        return self.runtime.publisher

    def stats(self) -> dict[str, Any]:
        """The registry's own figures for ``/registry/stats``."""
        stats = self.runtime.stats
        return {
            "observations": stats["applied"],
            "records_published": stats["views_published"],
            "next_offset": self.runtime.core(0).progress,
            "gaps_filled": stats["gaps_filled"],
            "citizens": self.state.columns.record_count,
            "ready": self.ready,
        }


NOT_JSON_TYPE = "the body must be application/json"


async def json_object(request: Any) -> dict[str, Any] | str:
    """The request's JSON object body, or why there is none. Only ``application/json`` is read: a
    ``text/plain`` POST is what a foreign web page can send across origins without asking.
    """
    if request.content_type != "application/json":
        return NOT_JSON_TYPE
    try:
        data = await request.json()
    except ValueError:
        return "body must be JSON"
    if not isinstance(data, dict):
        return "body must be a JSON object"
    return data


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


def figures(service: RegistryReader) -> dict[str, Any]:
    """Citizens abroad in total, per office and per country, as stored with the last batch."""
    by_office: dict[str, int] = {}
    by_country: dict[str, int] = {}
    for key, value in service.state.columns.counts.items():
        dimension, code = parse_figure_key(key)
        if value and dimension is CountDimension.OFFICE:
            by_office[code] = value
        elif value and dimension is CountDimension.COUNTRY:
            by_country[code] = value
    return {
        "abroad": service.state.columns.counts.get(TOTAL, 0),
        "by_office": dict(sorted(by_office.items())),
        "by_country": dict(sorted(by_country.items())),
    }


def multi_office(service: RegistryReader, offices: int, limit: int) -> list[str]:
    """Up to ``limit`` citizen ids whose golden record takes its fields from ``offices`` offices or more
    (a bounded scan, for operators and demonstrations).
    """
    found: list[str] = []
    for scanned, cid in enumerate(service.state.columns.records.scan()):
        if len(found) >= limit or scanned >= SAMPLE_SCAN:
            break
        record = service.state.model.records.get(cid)
        if record is None or len({o.office for o in record.observations.values()}) < offices:
            continue
        provenance = citizen_record_view(cid, record).provenance.values()
        if len({seen.office for seen in provenance}) >= offices:
            found.append(cid)
    return found


def register(app: Any, service: RegistryReader) -> None:
    """Every HTTP view of the worker on faust's web server: person lookups (recorded), figures, health."""
    register_lookups(app, service)
    register_figures(app, service)


async def record_access(
    service: RegistryReader,
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


def current(service: RegistryReader, citizen_id: str) -> dict[str, Any] | None:
    """The golden record of ``citizen_id`` as JSON, or None."""
    record = service.state.model.records.get(citizen_id)
    if record is None:
        return None
    return citizen_record_view(citizen_id, record).model_dump(mode="json")


def looked_up(service: RegistryReader, data: dict[str, Any]) -> tuple[LookupKind, str] | None:
    """What the request looks up and the citizen id it leads to ("" when unknown); None if it names none.

    A NIK or passport number is hashed here and goes no further.
    """
    owner = service.state.model.state.owner
    if data.get("citizen_id"):
        return LookupKind.CITIZEN_ID, str(data["citizen_id"])
    if data.get("nik"):
        return LookupKind.NIK, owner.get(nik_identifier(str(data["nik"]), service.hasher), "")
    if data.get("passport_number"):
        number = str(data["passport_number"])
        return LookupKind.PASSPORT_NUMBER, owner.get(passport_identifier(number, service.hasher), "")
    return None


async def lookup(service: RegistryReader, web: Any, data: dict[str, Any]) -> Any:
    """A person's record, the lookup recorded first (the caller checked the service credential)."""
    if not service.ready:
        return web.json({"error": NOT_READY}, status=503)
    try:
        who = who_asks(data)
    except AccessError as exc:
        return web.json({"error": str(exc)}, status=400)
    target = looked_up(service, data)
    if target is None:
        return web.json({"error": "give one of citizen_id, nik, passport_number"}, status=400)
    kind, citizen_id = target
    scope = str(data.get("scope") or "").strip() or None
    found = current(service, citizen_id) if citizen_id else None
    shown = found is not None and (scope is None or record_within(found, scope))
    await record_access(service, who, kind, citizen_id if shown else None)
    if found is None:
        return web.json({"error": "no such citizen"}, status=404)
    if not shown:
        log.warning("refused", status=403, lookup=kind.value, scope=scope, reason="out of scope")
        return web.json({"error": OUT_OF_SCOPE}, status=403)
    return web.json(found)


def register_lookups(app: Any, service: RegistryReader) -> None:
    """``POST /registry/lookup`` and ``GET /registry/citizens/{id}``: each answer recorded first, each only
    to holders of the service credential.
    """

    class Lookup(View):
        """POST /registry/lookup {nik, passport_number or citizen_id; requested_by, office, purpose}."""

        async def post(self, request: Any) -> Any:
            refusal = credential_refusal(service.credential, self, request)
            if refusal is not None:
                return refusal
            data = await json_object(request)
            if isinstance(data, str):
                status = 415 if data == NOT_JSON_TYPE else 400
                return self.json({"error": data}, status=status)
            return await lookup(service, self, data)

    class Citizen(View):
        """GET /registry/citizens/{citizen_id}, with X-Requested-By, X-Office and X-Purpose headers."""

        async def get(self, request: Any, citizen_id: str) -> Any:
            refusal = credential_refusal(service.credential, self, request)
            if refusal is not None:
                return refusal
            headers = request.headers
            data = {
                "citizen_id": citizen_id,
                "requested_by": headers.get("X-Requested-By"),
                "office": headers.get("X-Office"),
                "purpose": headers.get("X-Purpose"),
                "scope": headers.get(SCOPE),
            }
            return await lookup(service, self, data)

    app.page("/registry/lookup")(Lookup)
    app.page("/registry/citizens/{citizen_id}")(Citizen)


def register_figures(app: Any, service: RegistryReader) -> None:
    """Figures, candidates, health and metrics: no personal data in any of them."""

    async def candidates(web: Any, _request: Any) -> Any:
        """Candidate matches waiting for an officer: pseudonymous identifiers only."""
        if not service.ready:
            return web.json({"error": NOT_READY}, status=503)
        owner = service.state.model.state.owner
        items = [
            {
                "candidate_id": cand.candidate_id,
                "anchors": list(cand.anchors),
                "citizen_ids": [owner.get(anchor) for anchor in cand.anchors],
                "holds_two_niks": cand.holds_two_niks,
            }
            for cand in sorted(service.state.model.candidates.values(), key=lambda c: c.candidate_id)
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
        return web.json(service.stats())

    app.page("/registry/candidates")(candidates)
    app.page("/registry/counts")(counts)
    app.page("/registry/stats")(stats)
    app.page("/registry/sample")(sample)
