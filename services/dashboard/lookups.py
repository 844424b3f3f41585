"""Personal-data lookups through the front door, each with a stated purpose, and the access log for auditors.

- ``POST /api/registry/lookup`` (``CITIZEN_LOOKUP``): a citizen by NIK, passport number or citizen id, in
  a JSON body (a NIK or passport number is never in a URL), with a ``purpose``.
- ``GET /api/protection/cases/{case_id}?purpose=...`` (``CASES``): one case with its history.
- ``GET /api/access-log`` (``ACCESS_LOG``, auditors): who looked up whom, when and why, read-only.
- ``GET /api/passport/applications/{application_id}/status`` (public): the citizen's own "is my passport
  ready?", with the applicant's birth date in ``X-Birth-Date`` as the second factor. Citizens hold no
  accounts; the passport worker gives the same 404 for an unknown id and a wrong date and 429 after five
  wrong dates, so the id alone opens nothing.

Who asks is what the request proved (``Require``), never a declared header: the account name and role
(``<username>/<ROLE>``), its office (or ``central_office``) and the purpose go to the processor, which records
the lookup on ``registry.access`` / ``protection.access`` before it answers. An office-scoped account sees
only its office's citizens and cases: the processor refuses any other (recorded as not shown), the front
door checks the answer again, and the refusal (403) is logged with the account, role and permission, never
the value looked up.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.bus.logs import get_logger
from services.bus.settings import BusSettings
from services.contracts.registry import AccessPurpose
from services.dashboard.accounts import Permission, Principal
from services.dashboard.auth import Authenticator, Require
from services.dashboard.metrics import LOOKUP_SECONDS, LOOKUPS, METRICS_PATH, metrics
from services.dashboard.personal import (
    AccessLogSource,
    AccessLogTopics,
    Asker,
    PersonalSource,
    ProcessorViews,
    Refused,
)
from services.dashboard.settings import DashboardSettings
from services.dashboard.sources import SourceUnavailable
from services.protection.scopes import case_within
from services.registry.scopes import record_within
from services.runtime.credential import ServiceCredential

log = get_logger("dashboard.lookups")

PASSPORT_STATUS = "/api/passport/applications/{application_id}/status"
PUBLIC_PATHS = frozenset({PASSPORT_STATUS, METRICS_PATH})
"""Paths of these routes that answer without a session or token."""
BODY_MAX = 16 * 1024
ACCESS_LOG_MAX = 1000
CASE_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
APPLICATION_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
OUT_OF_SCOPE = "not within the office this account is limited to"
IDENTIFIERS = ("nik", "passport_number", "citizen_id")
BIRTH_DATE = "X-Birth-Date"
QUERY_RULE = (
    "give exactly one of nik (16 digits), passport_number or citizen_id, and a purpose "
    f"({', '.join(p.value for p in AccessPurpose)})"
)


class Answer(BaseModel):
    """A lookup answer: exactly the declared fields, nothing more."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LookupRefusal(Answer):
    """Why a lookup was refused or not answered; never the value looked up."""

    detail: str


class CitizenQuery(Answer):
    """Whom to look up (exactly one identifier) and why."""

    nik: Annotated[str | None, Field(pattern=r"^\d{16}$")] = None
    passport_number: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9 ]{1,20}$")] = None
    citizen_id: Annotated[str | None, Field(pattern=r"^cit-[0-9a-f]{20}$")] = None
    purpose: AccessPurpose

    @model_validator(mode="after")
    def _one_identifier(self) -> Self:
        """One identifier names one lookup (and one kind recorded on ``registry.access``)."""
        if sum(value is not None for value in (self.nik, self.passport_number, self.citizen_id)) != 1:
            raise ValueError(QUERY_RULE)
        return self

    @property
    def kind(self) -> str:
        """What the citizen is looked up by."""
        if self.nik is not None:
            return "nik"
        return "passport_number" if self.passport_number is not None else "citizen_id"

    def identifier(self) -> dict[str, str]:
        """The one identifier, as the registry's lookup body names it."""
        value = self.nik or self.passport_number or self.citizen_id or ""
        return {self.kind: value}


class CitizenAnswer(Answer):
    """A citizen's golden record (``CitizenRecord``, see ``schemas/registry/v1``), the lookup recorded."""

    citizen_id: str
    purpose: AccessPurpose
    scope: str
    record: dict[str, Any]


class CaseAnswer(Answer):
    """A protection case with its whole history (``ProtectionCase``, see ``schemas/protection/v1``)."""

    case_id: str
    purpose: AccessPurpose
    scope: str
    case: dict[str, Any]


class PassportStatus(Answer):
    """What the applicant is told: the status, the office, when it is ready, what to bring (id and en)."""

    application_id: str
    status: str
    office: str
    office_name: str
    ready_from: date | None
    expected: bool
    text_id: str
    text_en: str
    bring_id: list[str]
    bring_en: list[str]
    action: str | None
    booking_code: str | None
    booked_day: date | None
    queue_number: int | None
    booking_refusal: str | None


class AccessRecord(Answer):
    """One recorded lookup: who (``<username>/<ROLE>`` through the front door), from which office, when,
    why, what; no personal data.
    """

    log: Literal["registry.access", "protection.access"]
    access_id: str
    requested_by: str
    office: str
    accessed_at: datetime
    purpose: str
    found: bool
    citizen_id: str | None
    case_id: str | None
    lookup: str | None


class AccessLog(Answer):
    """The newest recorded lookups first; ``total`` counts every one that matched."""

    total: int
    entries: list[AccessRecord]


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of the given refusal codes."""
    described = {
        400: "the processor refused the request as malformed",
        401: "no session or token, or an ended one",
        403: "the role may not, another origin, or outside the account's office",
        404: "no such citizen, case or application (with this birth date)",
        413: "a body over 16 KiB",
        415: "the body is not JSON",
        422: "not exactly one identifier, or no purpose",
        429: "too many wrong birth dates for this application",
        503: "the processor did not answer",
    }
    return {code: {"model": LookupRefusal, "description": described[code]} for code in codes}


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` put in place of their references: a request body given to the OpenAPI
    document as it is cannot point into a ``$defs`` the document does not have.
    """
    defs: dict[str, Any] = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: walk(v) for k, v in node.items() if k != "$ref"}
                return {**walk(defs[ref.removeprefix("#/$defs/")]), **rest}
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    found: dict[str, Any] = walk(schema)
    return found


def one_identifier(schema: dict[str, Any]) -> dict[str, Any]:
    """The lookup body's schema as one of three shapes, one per identifier (each with the purpose and
    nothing else), so that the document says what the handler accepts: exactly one identifier.
    """
    properties: dict[str, Any] = schema["properties"]
    shapes = []
    for name in IDENTIFIERS:
        (kind,) = [choice for choice in properties[name]["anyOf"] if choice.get("type") != "null"]
        shapes.append(
            {
                "type": "object",
                "properties": {name: kind, "purpose": properties["purpose"]},
                "required": [name, "purpose"],
                "additionalProperties": False,
            }
        )
    return {"title": schema["title"], "description": schema["description"], "oneOf": shapes}


CITIZEN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": one_identifier(inlined(CitizenQuery.model_json_schema()))}
        },
    }
}
PASSPORT_HEADERS: dict[str, Any] = {
    "parameters": [
        {
            "name": BIRTH_DATE,
            "in": "header",
            "required": True,
            "description": "the applicant's birth date, YYYY-MM-DD (the second factor; never in the URL)",
            "schema": {"type": "string", "format": "date"},
        }
    ]
}


def personal_source(request: Request) -> PersonalSource:
    """The processors' views the app was given, or the real ones for its settings (built once)."""
    state = request.app.state
    source: PersonalSource | None = getattr(state, "personal", None)
    if source is None:
        settings: DashboardSettings = state.auth.settings
        try:
            credential = ServiceCredential.load()
        except OSError as exc:  # PermissionError: a file others may read, or none to be made
            raise SourceUnavailable(f"the service credential cannot be read ({type(exc).__name__})") from None
        source = ProcessorViews(
            settings.registry_url,
            settings.protection_url,
            settings.passport_url,
            credential,
            timeout=settings.view_timeout,
        )
        state.personal = source
    return source


def access_log_source(request: Request) -> AccessLogSource:
    """The access logs the app was given, or the access topics of the bus (read with a cache)."""
    state = request.app.state
    source: AccessLogSource | None = getattr(state, "access_log", None)
    if source is None:
        settings: DashboardSettings = state.auth.settings
        source = AccessLogTopics(BusSettings(), cache_seconds=settings.access_log_cache_seconds)
        state.access_log = source
    return source


def asker(request: Request, principal: Principal, purpose: AccessPurpose) -> Asker:
    """Who asks, as proven: the account and role, its office (the central one for every-office accounts)."""
    settings: DashboardSettings = request.app.state.auth.settings
    return Asker(
        requested_by=f"{principal.username}/{principal.role.value}",
        office=principal.office or settings.central_office,
        purpose=purpose.value,
        scope=principal.office,
    )


def out_of_scope(request: Request, principal: Principal, permission: Permission, kind: str) -> HTTPException:
    """The 403 of a lookup outside the account's office, logged (who, what kind; never the value)."""
    auth: Authenticator = request.app.state.auth
    return auth.refuse(
        request,
        status.HTTP_403_FORBIDDEN,
        OUT_OF_SCOPE,
        principal=principal,
        fields={"permission": permission.value, "lookup": kind},
    )


async def citizen_query(request: Request) -> CitizenQuery:
    """The lookup's JSON body (at most 16 KiB); 413, 415 or 422 otherwise, never repeating what was sent."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_MAX:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="the lookup is too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the lookup as JSON")
    try:
        return CitizenQuery.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=QUERY_RULE) from None


def refused(
    request: Request, principal: Principal, permission: Permission, kind: str, exc: Refused
) -> HTTPException:
    """A processor's refusal as the front door's answer: outside the account's office is a logged 403,
    anything else (400, 404, 429) the same status with the processor's reason.
    """
    if exc.status == status.HTTP_403_FORBIDDEN:
        return out_of_scope(request, principal, permission, kind)
    return HTTPException(exc.status, detail=exc.reason)


async def relayed(kind: str, call: Any, *args: Any) -> dict[str, Any]:
    """The processor's answer to ``call(*args)`` (in a thread: the client blocks), counted and timed;
    Refused or SourceUnavailable as the processor said.
    """
    started, code = time.perf_counter(), 200
    try:
        answer: dict[str, Any] = await run_in_threadpool(call, *args)
    except Refused as exc:
        code = exc.status
        raise
    except SourceUnavailable:
        code = 503
        raise
    finally:
        LOOKUPS.labels(kind, str(code)).inc()
        LOOKUP_SECONDS.labels(kind).observe(time.perf_counter() - started)
    return answer


def looked_up(principal: Principal, who: Asker, kind: str) -> None:
    """Log a lookup answered: who (the account, role, office), why, by what kind; never the value."""
    log.info(
        "lookup",
        account=principal.username,
        role=principal.role.value,
        office=who.office,
        purpose=who.purpose,
        lookup=kind,
    )


async def citizen_answer(request: Request, principal: Principal) -> CitizenAnswer:
    """The citizen lookup asked in ``request``'s body, by ``principal``, recorded by the registry."""
    query = await citizen_query(request)
    who = asker(request, principal, query.purpose)
    try:
        record = await relayed("citizen", personal_source(request).citizen, query.identifier(), who)
    except Refused as exc:
        raise refused(request, principal, Permission.CITIZEN_LOOKUP, query.kind, exc) from None
    if principal.office is not None and not record_within(record, principal.office):
        raise out_of_scope(request, principal, Permission.CITIZEN_LOOKUP, query.kind)
    looked_up(principal, who, query.kind)
    return CitizenAnswer(
        citizen_id=str(record.get("citizen_id")), purpose=query.purpose, scope=principal.scope, record=record
    )


async def case_answer(
    request: Request, principal: Principal, case_id: str, purpose: AccessPurpose
) -> CaseAnswer:
    """The case ``case_id`` for ``principal``, recorded by the case view."""
    who = asker(request, principal, purpose)
    try:
        case = await relayed("case", personal_source(request).case, case_id, who)
    except Refused as exc:
        raise refused(request, principal, Permission.CASES, "case", exc) from None
    if principal.office is not None and not case_within(case, principal.office):
        raise out_of_scope(request, principal, Permission.CASES, "case")
    looked_up(principal, who, "case")
    return CaseAnswer(case_id=case_id, purpose=purpose, scope=principal.scope, case=case)


async def passport_answer(request: Request, application_id: str) -> PassportStatus:
    """The status of ``application_id`` for whoever gives the applicant's birth date (read here, not by
    the framework: its validation error would quote the date back).
    """
    try:
        day = date.fromisoformat((request.headers.get(BIRTH_DATE) or "").strip())
    except ValueError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail="give the applicant's birth date in X-Birth-Date (YYYY-MM-DD)"
        ) from None
    try:
        answer = await relayed(
            "passport_status", personal_source(request).passport_status, application_id, day.isoformat()
        )
    except Refused as exc:
        raise HTTPException(exc.status, detail=exc.reason) from None
    try:
        return PassportStatus.model_validate(answer)
    except ValidationError:
        raise SourceUnavailable("the passport status view's answer was not understood") from None


def access_answer(request: Request, log_name: str | None, requested_by: str | None, limit: int) -> AccessLog:
    """The recorded lookups matching the filters, the newest first."""
    entries = [
        entry
        for entry in access_log_source(request).entries()
        if (log_name is None or entry.log == log_name)
        and (requested_by is None or entry.requested_by == requested_by)
    ]
    entries.sort(key=lambda entry: entry.accessed_at, reverse=True)
    return AccessLog(
        total=len(entries),
        entries=[
            AccessRecord(
                log="protection.access" if entry.log == "protection.access" else "registry.access",
                access_id=entry.access_id,
                requested_by=entry.requested_by,
                office=entry.office,
                accessed_at=entry.accessed_at,
                purpose=entry.purpose,
                found=entry.found,
                citizen_id=entry.citizen_id,
                case_id=entry.case_id,
                lookup=entry.lookup,
            )
            for entry in entries[:limit]
        ],
    )


def add_lookup_routes(app: FastAPI, authenticator: Authenticator) -> None:
    """The lookups, the access log and the front door's ``/metrics``, added to the app itself (an included
    router would keep them out of ``app.routes``, where the tests find every route and its permission).
    """
    credentials = [
        Depends(
            HTTPBearer(auto_error=False, scheme_name="token", description="an API token (bus users token)")
        ),
        Depends(APIKeyCookie(name=authenticator.cookies.session, auto_error=False, scheme_name="session")),
    ]

    @app.post(
        "/api/registry/lookup",
        tags=["registry"],
        dependencies=credentials,
        openapi_extra=CITIZEN_BODY,
        responses=refusals(400, 401, 403, 404, 413, 415, 422, 503),
    )
    async def citizen_lookup(
        request: Request,
        principal: Annotated[Principal, Depends(Require(Permission.CITIZEN_LOOKUP))],
    ) -> CitizenAnswer:
        """A citizen's golden record by NIK, passport number or citizen id (in the body), with a purpose;
        recorded on ``registry.access`` with the account, role and office; an office's account sees its own
        office's citizens only. State-changing in effect (it is recorded): a session needs its CSRF token.
        """
        return await citizen_answer(request, principal)

    @app.get(
        "/api/protection/cases/{case_id}",
        tags=["protection"],
        dependencies=credentials,
        responses=refusals(400, 401, 403, 404, 503),
    )
    async def case_lookup(
        request: Request,
        principal: Annotated[Principal, Depends(Require(Permission.CASES))],
        case_id: Annotated[str, Path(pattern=CASE_ID)],
        purpose: Annotated[AccessPurpose, Query(description="why you look (recorded)")],
    ) -> CaseAnswer:
        """One case with its hand-overs, history and personal part, with a purpose; recorded on
        ``protection.access`` with the account, role and office; an office's account sees the cases its
        office holds, opened or handed over only.
        """
        return await case_answer(request, principal, case_id, purpose)

    @app.get(
        PASSPORT_STATUS,
        tags=["passport"],
        openapi_extra=PASSPORT_HEADERS,
        responses=refusals(400, 404, 429, 503),
    )
    async def passport_status(
        request: Request, application_id: Annotated[str, Path(pattern=APPLICATION_ID)]
    ) -> PassportStatus:
        """Is my passport ready? For whoever knows the application id and the applicant's birth date (no
        account: it is the citizen's own answer; wrong dates are limited by the passport service).
        """
        return await passport_answer(request, application_id)

    @app.get("/api/access-log", tags=["audit"], dependencies=credentials, responses=refusals(401, 403, 503))
    def access_log(
        request: Request,
        _principal: Annotated[Principal, Depends(Require(Permission.ACCESS_LOG))],
        log_name: Annotated[
            Literal["registry.access", "protection.access"] | None, Query(alias="log")
        ] = None,
        requested_by: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=ACCESS_LOG_MAX)] = 100,
    ) -> AccessLog:
        """Who looked up which citizen or case, from which office, when and why: the newest first (auditors,
        read-only).
        """
        return access_answer(request, log_name, requested_by, limit)

    app.get(METRICS_PATH, include_in_schema=False)(metrics)
