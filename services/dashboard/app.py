"""The front door's web application: login and logout, who am I, and the JSON API of the views.

**Why FastAPI (on Starlette, served by uvicorn).** Every answer is a pydantic model, as every event on the
bus already is, and FastAPI generates the OpenAPI document from those very models (``extra="forbid"``: an
answer cannot carry a field the document does not declare), so the document cannot drift from the code and
a property-based test can check one against the other. Per-endpoint authorisation is a dependency
(``Require(permission)``) that the tests can find on every route. Starlette underneath is small and
asynchronous; uvicorn is its standard server. aiohttp (faust's web shell, behind the processors' loopback
ports) generates no schema, and a larger framework would bring an ORM and templates the front door does not
need.

Every ``/api/`` endpoint but ``/api/health`` requires a permission of the role matrix
(``accounts.MATRIX``): 401 without a session or token, 403 for a role without it; office-scoped accounts see
their own office's figures only. Processors' HTTP ports stay on loopback, behind this door.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyCookie, HTTPBearer
from fastapi.types import DecoratedCallable
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.bus.settings import BusSettings
from services.dashboard.accounts import PASSWORD_MAX, Passwords, Permission, Principal, Role
from services.dashboard.auth import Authenticator, Require
from services.dashboard.lookups import PUBLIC_PATHS, add_lookup_routes
from services.dashboard.page import add_routes as add_page_routes
from services.dashboard.settings import DashboardSettings
from services.dashboard.sources import (
    DeadLetterSource,
    DeadLetterTopic,
    RegistryFigures,
    RegistrySource,
    RegistryViews,
    SourceUnavailable,
)
from services.dashboard.users import UserStore

LOGIN_BODY_MAX = 16 * 1024
PUBLIC = frozenset({"/api/health", *PUBLIC_PATHS})
"""The only paths that answer without a session or token: no data, the metrics, and the citizen's own passport
status (its birth date the second factor; ``services.dashboard.lookups``)."""


class Answer(BaseModel):
    """An API answer: exactly the declared fields, nothing more."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Refusal(Answer):
    """Why a request was refused (401, 403, 429, 503)."""

    detail: str


class Health(Answer):
    """The front door answers."""

    status: Literal["ok"] = "ok"


class LoginForm(Answer):
    """A person's login: as JSON or as an HTML form (``application/x-www-form-urlencoded``)."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class SessionAnswer(Answer):
    """A session opened: who it is for, its CSRF token (echo it in ``X-CSRF-Token``), when it ends."""

    username: str
    role: Role
    scope: str
    csrf_token: str
    expires_at: datetime


class LogoutAnswer(Answer):
    """Whether a session was ended (a bearer token has none)."""

    ended: bool


class Me(Answer):
    """Who the request proves to be, how, and what the role matrix grants it."""

    username: str
    role: Role
    scope: str
    via: Literal["session", "token"]
    token_id: str | None
    csrf_token: str | None
    permissions: list[Permission]


class DeadLetterGroup(Answer):
    """Dead letters of one reason, component, source office and hour, summed over the partitions."""

    reason: str
    component: str
    source: str
    hour: str
    count: int


class DeadLetterFigures(Answer):
    """Every refused record counted: in total, per reason, and per group."""

    total: int
    by_reason: dict[str, int]
    groups: list[DeadLetterGroup]


class RegistryCounts(Answer):
    """Citizens abroad within the principal's scope: every office (``central``) or one office's own."""

    scope: str
    abroad: int
    by_office: dict[str, int]
    by_country: dict[str, int]


REFUSALS: dict[int | str, dict[str, Any]] = {
    status.HTTP_401_UNAUTHORIZED: {"model": Refusal, "description": "no session or token, or an ended one"},
    status.HTTP_403_FORBIDDEN: {"model": Refusal, "description": "the role may not, or another origin"},
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Refusal, "description": "the view did not answer"},
}
LOGIN_REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": Refusal, "description": description}
    for code, description in (
        (status.HTTP_401_UNAUTHORIZED, "wrong account or password"),
        (status.HTTP_403_FORBIDDEN, "from another origin"),
        (status.HTTP_413_CONTENT_TOO_LARGE, "a body over 16 KiB"),
        (status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "neither JSON nor a form"),
        (status.HTTP_422_UNPROCESSABLE_CONTENT, "no username or password"),
        (status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins"),
    )
}
LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginForm.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": LoginForm.model_json_schema()},
        },
    }
}


async def login_form(request: Request) -> LoginForm:
    """The login's username and password, from a JSON or URL-encoded body of at most 16 KiB; 413, 415 or
    422 otherwise (the answer never repeats what was sent).
    """
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > LOGIN_BODY_MAX:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="the login is too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            data: Any = json.loads(body)
        elif kind == "application/x-www-form-urlencoded":
            data = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        else:
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="send the login as JSON or as a form"
            )
        return LoginForm.model_validate(data)
    except (ValueError, ValidationError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="give a username and a password"
        ) from None


def security_headers(
    app: FastAPI,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """A middleware: no answer is cached, sniffed, framed or sends a Referer."""

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        return response

    return headers


def deadletter_answer(figures: Counter[str], reason: str | None = None) -> DeadLetterFigures:
    """The answer for the summed figures (``<reason>|<component>|<source>|<hour>`` -> count)."""
    groups: list[DeadLetterGroup] = []
    by_reason: dict[str, int] = {}
    for group, count in sorted(figures.items()):
        parts = group.split("|")
        if len(parts) != 4 or (reason is not None and parts[0] != reason):
            continue
        groups.append(
            DeadLetterGroup(reason=parts[0], component=parts[1], source=parts[2], hour=parts[3], count=count)
        )
        by_reason[parts[0]] = by_reason.get(parts[0], 0) + count
    return DeadLetterFigures(total=sum(by_reason.values()), by_reason=by_reason, groups=groups)


def counts_answer(figures: RegistryFigures, principal: Principal) -> RegistryCounts:
    """The registry's figures within ``principal``'s scope: all of them, or its own office's count only
    (country figures mix offices, so an office's account gets none).
    """
    if principal.office is None:
        return RegistryCounts(
            scope=principal.scope,
            abroad=figures.abroad,
            by_office=figures.by_office,
            by_country=figures.by_country,
        )
    own = figures.by_office.get(principal.office, 0)
    return RegistryCounts(
        scope=principal.scope, abroad=own, by_office={principal.office: own} if own else {}, by_country={}
    )


def create_app(
    settings: DashboardSettings,
    store: UserStore,
    *,
    registry: RegistrySource,
    deadletters: DeadLetterSource,
    auth: Authenticator | None = None,
) -> FastAPI:
    """The front door over ``store`` (accounts), reading the views through ``registry``, ``deadletters``."""
    app = FastAPI(
        title="Mission service bus",
        summary="The authenticated front door: the JSON API of the bus's views.",
        version="1",
        docs_url=None,
        redoc_url=None,
    )
    authenticator = auth or Authenticator(settings, store)
    app.state.auth = authenticator
    security_headers(app)

    @app.exception_handler(SourceUnavailable)
    async def unavailable(_request: Request, exc: SourceUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.get("/api/health", tags=["health"])
    def health() -> Health:
        """Whether the front door answers (no data, no login)."""
        return Health()

    # The credentials every data endpoint accepts, declared so that the OpenAPI document shows them; the
    # checking is Require's.
    credentials = [
        Depends(
            HTTPBearer(auto_error=False, scheme_name="token", description="an API token (bus users token)")
        ),
        Depends(APIKeyCookie(name=authenticator.cookies.session, auto_error=False, scheme_name="session")),
    ]
    add_session_routes(app, settings, authenticator, credentials)
    add_view_routes(app, credentials, registry=registry, deadletters=deadletters)
    add_lookup_routes(app, authenticator)
    add_page_routes(app, credentials)
    return app


def set_cookie(
    response: Response, name: str, value: str, *, settings: DashboardSettings, httponly: bool
) -> None:
    """Set a session-long, first-party-only cookie (Secure unless turned off for local development)."""
    response.set_cookie(
        name,
        value,
        max_age=int(settings.session_hours * 3600),
        path="/",
        secure=settings.secure_cookies,
        httponly=httponly,
        samesite="strict",
    )


def add_session_routes(
    app: FastAPI, settings: DashboardSettings, authenticator: Authenticator, credentials: list[Any]
) -> None:
    """``POST /login`` and ``POST /logout``."""

    @app.post(
        "/login",
        tags=["session"],
        openapi_extra=LOGIN_BODY,
        responses=LOGIN_REFUSALS,
    )
    async def login(request: Request, response: Response) -> SessionAnswer:
        """Log a person in: a session cookie (HttpOnly, SameSite=Strict) and a CSRF token."""
        form = await login_form(request)
        session_id, session = authenticator.login(request, form.username, form.password)
        set_cookie(response, authenticator.cookies.session, session_id, settings=settings, httponly=True)
        set_cookie(
            response, authenticator.cookies.csrf, session.csrf_token, settings=settings, httponly=False
        )
        principal = session.principal
        return SessionAnswer(
            username=principal.username,
            role=principal.role,
            scope=principal.scope,
            csrf_token=session.csrf_token,
            expires_at=session.expires_at,
        )

    @app.post("/logout", tags=["session"], dependencies=credentials, responses=REFUSALS)
    def logout(
        request: Request,
        response: Response,
        principal: Annotated[Principal, Depends(Require(Permission.OWN_ACCOUNT))],
    ) -> LogoutAnswer:
        """End the session (its cookies are cleared); state-changing: the CSRF token is required."""
        ended = authenticator.logout(request, principal)
        for name in (authenticator.cookies.session, authenticator.cookies.csrf):
            response.delete_cookie(name, path="/", secure=settings.secure_cookies, samesite="strict")
        return LogoutAnswer(ended=ended)


def add_view_routes(
    app: FastAPI, credentials: list[Any], *, registry: RegistrySource, deadletters: DeadLetterSource
) -> None:
    """The data endpoints, each behind its permission of the role matrix. They are added to the app itself
    (not through an included router), so that every one of them is in ``app.routes`` for the tests.
    """

    def api(
        path: str, tag: str, *, refusals: dict[int | str, dict[str, Any]] = REFUSALS
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return app.get(f"/api{path}", tags=[tag], dependencies=credentials, responses=refusals)

    @api("/me", "session")
    def me(request: Request, principal: Annotated[Principal, Depends(Require(Permission.OWN_ACCOUNT))]) -> Me:
        """Who you are, how you proved it, and what you may see."""
        session = getattr(request.state, "session", None)
        return Me(
            username=principal.username,
            role=principal.role,
            scope=principal.scope,
            via="token" if principal.via == "token" else "session",
            token_id=principal.token_id,
            csrf_token=session.csrf_token if session is not None else None,
            permissions=principal.permissions(),
        )

    @api("/deadletters/figures", "dead letters", refusals={**REFUSALS, **UNAVAILABLE})
    def deadletter_figures(
        _principal: Annotated[Principal, Depends(Require(Permission.DEADLETTER_FIGURES))],
        reason: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z_]{0,39}$")] = None,
    ) -> DeadLetterFigures:
        """Refused records per reason, component, source office and hour, summed over the partitions."""
        return deadletter_answer(deadletters.figures(), reason)

    @api("/registry/counts", "registry", refusals={**REFUSALS, **UNAVAILABLE})
    def registry_counts(
        principal: Annotated[Principal, Depends(Require(Permission.REGISTRY_COUNTS))],
    ) -> RegistryCounts:
        """Citizens abroad per office and per country; an office's account sees its own office's only."""
        return counts_answer(registry.counts(), principal)


def build_app(settings: DashboardSettings | None = None, bus: BusSettings | None = None) -> FastAPI:
    """The front door with its real account store and sources, as ``bus dashboard`` serves it."""
    settings = settings or DashboardSettings()
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    return create_app(
        settings,
        UserStore(settings.users_db, passwords),
        registry=RegistryViews(settings.registry_url, timeout=settings.view_timeout),
        deadletters=DeadLetterTopic(bus or BusSettings(), cache_seconds=settings.figures_cache_seconds),
    )
