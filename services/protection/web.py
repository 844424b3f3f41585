"""HTTP views of the protection-case view, served by every worker (faust's aiohttp web server, 127.0.0.1).

A worker holds only the partitions of ``protection.items`` its consumer group gave it, yet an officer asks
about a case or an office, not a partition: every worker answers for every case and every office.

- **One case** (``GET /protection/cases/{case_id}``): the worker holding the case's partition answers it
  from its state; any other worker forwards the request there once and relays the answer (faust's
  partition assignor tells every member which worker holds which partition after each rebalance). While
  the partition is being handed over, the answer is 503 and names the partition.
- **Lists and figures** (an office's called and open cases, overdue cases, the figures): the worker asks
  every worker holding partitions for what it holds (``GET /protection/held``, its own partitions only) and
  answers only when every partition of ``protection.items`` was answered for by a worker caught up on it.
  Otherwise 503, naming the partitions missing: an overdue list that silently left out a partition's
  cases would be worse than none.

Each answer reads the state the worker's core stores with its progress, so it is never behind what that
worker has published on ``protection.cases``. A case's answer shows personal data (the subject, notes), so
the lookup, found or not, is recorded on ``protection.access`` (who, from which office, why, which case,
the citizen it named; ``CaseAccessed``) and acknowledged before the answer is sent. Errors never echo a
value from the request but the case id and office code asked for (neither is personal data).

A case's answer is given only to a request carrying the service credential (the front door's, or another
worker's forwarding it: ``services.runtime.credential``); without it, 401. The front door names the office
an office-scoped account is limited to in ``X-Bus-Scope``: a case that office neither holds, opened nor
handed over is refused 403, and the lookup recorded as not shown. Lists and figures hold summaries only
(no personal data) and stay open on loopback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from faust.web import View
from pydantic import ValidationError

from services.bus.logs import get_logger
from services.contracts.base import format_validation_error
from services.contracts.protection_views import CaseAccessedModel, ProtectionCaseModel
from services.protection.case import fold
from services.protection.figures import desk_figures
from services.protection.projection import ProtectionPartition
from services.protection.scopes import case_within
from services.protection.service_levels import ServiceLevels
from services.protection.topics import ACCESS
from services.protection.views import case_view, listing_order
from services.reference.offices import is_known_office
from services.runtime.core import PartitionCore, ViewRuntime
from services.runtime.credential import ServiceCredential, credential_refusal
from services.runtime.peers import FORWARDED, SERVICE_UNAVAILABLE, PeerDesk

__all__ = ["FORWARDED", "HELD", "SCOPE", "ProtectionDesk", "register"]

log = get_logger("protection.web")
HELD = "/protection/held"
SCOPE = "X-Bus-Scope"
"""The one office the asking account is limited to (set by the front door; absent: every office)."""
OUT_OF_SCOPE = "the case is not within the office the account is limited to"
NOT_READY = "the case view is catching up or being handed over; try again shortly"
WHO_ASKS = (
    "say who asks, from which office and why: X-Requested-By (your staff id, at most 64 characters), "
    "X-Office (a known office code), X-Purpose (CONSULAR_SERVICE, CITIZEN_PROTECTION, PASSPORT_SERVICE, "
    "AUDIT or OTHER)"
)


class ProtectionDesk(PeerDesk):
    """What the HTTP views need of the worker: its partitions' state, its peers, the access log."""

    def __init__(
        self,
        runtime: ViewRuntime[ProtectionPartition, Any],
        app: Any,
        levels: ServiceLevels,
        peers: list[str],
        credential: ServiceCredential,
    ) -> None:
        super().__init__(runtime, app, peers, NOT_READY, credential)
        self.levels = levels

    def case(self, core: PartitionCore[ProtectionPartition, Any], case_id: str) -> ProtectionCaseModel | None:
        """The case as its partition holds it now (the ``ProtectionCase`` it last published), or None."""
        record = core.state.columns.cases.get(case_id)
        if record is None:
            return None
        return case_view(fold(case_id, record.events.values()), record, self.levels)

    def held(self) -> dict[str, Any]:
        """What this worker answers for: per partition it holds, whether it is caught up and, if so, its
        clock, its called and open cases (summaries, no personal data) and its figures.
        """
        partitions: dict[str, Any] = {}
        for core in self.runtime.owned:
            entry: dict[str, Any] = {"ready": core.ready}
            if core.ready:
                state = core.state
                listed = state.columns.open
                entry["clock"] = None if state.clock is None else state.clock.isoformat()
                entry["cases"] = [listed[case_id] for case_id in listed]
                entry["figures"] = dict(state.columns.figures.items())
            partitions[str(core.partition)] = entry
        return {"worker": self.url, "partitions": partitions}

    async def gather(self) -> tuple[dict[int, dict[str, Any]], list[int]]:
        """Every partition's cases, figures and clock, from whichever worker is caught up on it; and the
        partitions nobody answered for.
        """
        count = await self.partition_count()
        answers = [self.held()]
        for status, answer in await asyncio.gather(*(self.ask(url, HELD, {}) for url in self.peers)):
            if status == 200:
                answers.append(answer)
        found: dict[int, dict[str, Any]] = {}
        for answer in answers:
            for partition, entry in answer["partitions"].items():
                if entry["ready"]:
                    found.setdefault(int(partition), entry)
        return found, [p for p in range(count) if p not in found]

    async def record(self, access: CaseAccessedModel) -> None:
        """Publish who looked the case up, and wait for the acknowledgement, before any answer is sent
        (its ``ce_id`` is the access id).
        """
        publisher = self.runtime.publisher
        await publisher.wait([publisher.send(ACCESS, access.case_id, access, event_id=access.access_id)])


def who_asks(headers: Any, case_id: str) -> CaseAccessedModel:
    """The access record of a lookup of ``case_id`` (not yet found): who asks, from where and why, checked
    by the contract itself; ValueError naming what is missing, never a value.
    """
    try:
        return CaseAccessedModel.model_validate(
            {
                "access_id": str(uuid.uuid4()),
                "requested_by": (headers.get("X-Requested-By") or "").strip(),
                "office": (headers.get("X-Office") or "").strip(),
                "accessed_at": datetime.now(UTC),
                "case_id": case_id,
                "purpose": (headers.get("X-Purpose") or "").strip(),
                "found": False,
            }
        )
    except ValidationError as exc:
        raise ValueError(f"{WHO_ASKS} ({format_validation_error(exc)})") from None


async def show(desk: ProtectionDesk, web: Any, request: Any, case_id: str) -> Any:
    """One case, recorded on ``protection.access`` before it is answered; relayed from its holder if the
    case's partition is another worker's (the caller checked the service credential).
    """
    try:
        access = who_asks(request.headers, case_id)
    except ValueError as exc:
        return web.json({"error": str(exc)}, status=400)
    scope = (request.headers.get(SCOPE) or "").strip() or None
    partition = await desk.partition_of(case_id)
    core = desk.owned(partition)
    if core is None:
        asked = {name: request.headers[name] for name in ("X-Requested-By", "X-Office", "X-Purpose")}
        return await desk.forward(web, request, partition, {**asked, **({SCOPE: scope} if scope else {})})
    if not core.ready:
        return web.json({"error": NOT_READY, "partition": partition}, status=SERVICE_UNAVAILABLE)
    view = desk.case(core, case_id)
    answer = None if view is None else view.model_dump(mode="json")
    shown = answer is not None and (scope is None or case_within(answer, scope))
    citizen_id = view.citizen_id if shown and view is not None else None
    update = {"found": shown, "citizen_id": citizen_id, "accessed_at": datetime.now(UTC)}
    await desk.record(access.model_copy(update=update))
    if view is None:
        return web.json({"error": f"no case {case_id}"}, status=404)
    if not shown:
        log.warning("refused", status=403, case_id=case_id, scope=scope, reason="out of scope")
        return web.json({"error": OUT_OF_SCOPE}, status=403)
    return web.json(answer)


async def gathered(desk: ProtectionDesk, web: Any) -> tuple[list[dict[str, Any]], Any]:
    """Every partition's entry (``ProtectionDesk.held``), or the 503 naming the partitions nobody answered
    for (then the entries are empty).
    """
    found, missing = await desk.gather()
    if not missing:
        return list(found.values()), None
    error = f"partitions {missing} of protection.items: {NOT_READY}"
    return [], web.json({"error": error, "missing_partitions": missing}, status=SERVICE_UNAVAILABLE)


async def office_cases(desk: ProtectionDesk, web: Any, office: str) -> Any:
    """An office's called and open cases, overdue first, then by deadline."""
    if not is_known_office(office):
        return web.json({"error": "office must be a known office code"}, status=400)
    entries, refusal = await gathered(desk, web)
    if refusal is not None:
        return refusal
    cases = [case for entry in entries for case in entry["cases"] if case["office"] == office]
    return web.json({"office": office, "cases": sorted(cases, key=listing_order)})


async def overdue_cases(desk: ProtectionDesk, web: Any) -> Any:
    """Every overdue case of every office, the longest overdue first."""
    entries, refusal = await gathered(desk, web)
    if refusal is not None:
        return refusal
    cases = [case for entry in entries for case in entry["cases"] if case["overdue"]]
    return web.json({"cases": sorted(cases, key=listing_order)})


async def figures(desk: ProtectionDesk, web: Any) -> Any:
    """The figures across every partition, "today" and "the last 24 hours" by the latest partition clock."""
    entries, refusal = await gathered(desk, web)
    if refusal is not None:
        return refusal
    totals: Counter[str] = Counter()
    for entry in entries:
        totals.update(entry["figures"])
    clocks = [datetime.fromisoformat(entry["clock"]) for entry in entries if entry["clock"]]
    return web.json(desk_figures({g: n for g, n in totals.items() if n}, max(clocks, default=None)))


def register(app: Any, desk: ProtectionDesk) -> None:
    """Every HTTP view of the worker on faust's web server: a case (recorded), lists, figures, holdings."""

    class Case(View):
        """GET /protection/cases/{case_id}, with X-Requested-By, X-Office and X-Purpose headers."""

        async def get(self, request: Any, case_id: str) -> Any:
            refusal = credential_refusal(desk.credential, self, request)
            if refusal is not None:
                return refusal
            return await show(desk, self, request, case_id)

    class OfficeCases(View):
        """GET /protection/offices/{office}/cases."""

        async def get(self, _request: Any, office: str) -> Any:
            return await office_cases(desk, self, office)

    async def overdue(web: Any, _request: Any) -> Any:
        return await overdue_cases(desk, web)

    async def combined(web: Any, _request: Any) -> Any:
        return await figures(desk, web)

    async def held(web: Any, _request: Any) -> Any:
        return web.json(desk.held())

    app.page("/protection/cases/{case_id}")(Case)
    app.page("/protection/offices/{office}/cases")(OfficeCases)
    app.page("/protection/overdue")(overdue)
    app.page("/protection/figures")(combined)
    app.page(HELD)(held)
