"""The dashboard page and its figures: ``/`` (the page), ``/static/<file>`` (its script and style, served
from this package: no CDN, nothing fetched from elsewhere), ``/api/figures`` (the figures as JSON) and
``/api/live`` (the same figures as server-sent events, sent again whenever they change).

The page and its files hold no data and answer without a login (the page shows its login form); the
figures require a session or a token like every ``/api/`` endpoint. Each answer holds the panels the
principal's role may see, within its scope (``services.dashboard.panels``); an office-scoped account that
asks for another office is refused (403, logged).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict

from services.bus.logs import get_logger
from services.dashboard.accounts import Permission, Principal
from services.dashboard.auth import Authenticator, Require
from services.dashboard.live import FigureBoard, board_of
from services.dashboard.panels import LiveFigures, figures_for
from services.reference.offices import is_known_office

log = get_logger("dashboard.page")

STATIC: dict[str, str] = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
"""The files the page may load, and their types: nothing else under ``/static/`` answers."""
PAGE_PATHS = frozenset({"/", "/static/{name}"})
"""The page's own paths: public, no data in them."""
STREAM_SECONDS = 300.0
"""A stream ends after this long; the browser's EventSource reconnects (and is authenticated again)."""
RECHECK_SECONDS = 10.0
"""How often a stream checks that its session or token still holds (logout, disabled account)."""
KEEPALIVE_SECONDS = 15.0
LIVE_STREAMS = Gauge("dashboard_live_streams", "Pages following the live figures now (open event streams)")
OFFICE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


class Problem(BaseModel):
    """Why the figures were refused (401, 403, 503) or the office not known (404)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detail: str


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": description}
    for code, description in (
        (status.HTTP_404_NOT_FOUND, "no such office"),
        (status.HTTP_401_UNAUTHORIZED, "no session or token, or an ended one"),
        (status.HTTP_403_FORBIDDEN, "another office than the account's own, or another origin"),
        (status.HTTP_503_SERVICE_UNAVAILABLE, "the figures are not read yet"),
    )
}
STREAM_ANSWER: dict[int | str, dict[str, Any]] = {
    status.HTTP_200_OK: {
        "description": "``event: figures`` with a ``LiveFigures`` as JSON in ``data``, again whenever the "
        "figures change; comments as keep-alives",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"type": "string", "enum": ["figures"]},
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"$ref": "#/components/schemas/LiveFigures"},
                        },
                    },
                }
            }
        },
    },
}


class EventStream(StreamingResponse):
    """A server-sent event stream."""

    media_type = "text/event-stream"


def static_file(name: str) -> bytes:
    """The bytes of one of the page's files (``STATIC``), from this package."""
    return resources.files(__package__ or "services.dashboard").joinpath("static", name).read_bytes()


def scoped_office(request: Request, principal: Principal, office: str | None) -> str | None:
    """The office the answer is narrowed to: 404 for an unknown one, 403 (logged) for one outside the
    principal's scope.
    """
    if office is None:
        return principal.office
    if not is_known_office(office):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such office")
    if not principal.sees_office(office):
        auth: Authenticator = request.app.state.auth
        raise auth.refuse(
            request,
            status.HTTP_403_FORBIDDEN,
            "this account sees its own office only",
            principal=principal,
            fields={"office": office},
        )
    return office


def ready_board(request: Request) -> FigureBoard:
    """The app's figure board, or 503 while it has not read the figure topics yet."""
    board = board_of(request.app)
    if board is None or not board.ready:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="the figures are not read yet")
    return board


def current(board: FigureBoard, principal: Principal, office: str | None) -> tuple[int, LiveFigures]:
    """The board's version and the figures ``principal`` sees now."""
    version, latest = board.latest()
    return version, figures_for(latest, principal, office, datetime.now(UTC))


async def still_allowed(request: Request) -> bool:
    """Whether the stream's session or token still holds (a logout or a disabled account ends it)."""
    auth: Authenticator = request.app.state.auth
    try:
        principal = await asyncio.to_thread(auth.authenticate, request)
    except HTTPException:
        return False
    return principal.may(Permission.OWN_ACCOUNT)


async def events(
    request: Request, board: FigureBoard, principal: Principal, office: str | None
) -> AsyncIterator[str]:
    """The stream: the figures now, then again whenever the board moves or a minute passes (the traffic
    window moves with the clock), until the client leaves, the credentials end or ``STREAM_SECONDS`` pass.
    """
    LIVE_STREAMS.inc()
    try:
        async for event in _events(request, board, principal, office):
            yield event
    finally:
        LIVE_STREAMS.dec()


async def _events(
    request: Request, board: FigureBoard, principal: Principal, office: str | None
) -> AsyncIterator[str]:
    began = checked = spoke = time.monotonic()
    sent: tuple[int, int] | None = None
    retry = "retry: 3000\n"  # with the first event: how soon the browser comes back after the stream ends
    while True:
        moment = (board.version, int(time.time() // 60))
        if moment != sent:
            version, figures = current(board, principal, office)
            sent = (version, moment[1])
            spoke = time.monotonic()
            yield f"{retry}event: figures\nid: {version}\ndata: {figures.model_dump_json()}\n\n"
            retry = ""
        if not board.live:
            return
        await asyncio.sleep(1.0)
        now = time.monotonic()
        if now - began > STREAM_SECONDS or await request.is_disconnected():
            return
        if now - checked > RECHECK_SECONDS:
            checked = now
            if not await still_allowed(request):
                return  # the browser comes back, is refused (401) and shows its login form
        if now - spoke > KEEPALIVE_SECONDS:
            spoke = now
            yield ": keep-alive\n\n"


def add_routes(app: FastAPI, credentials: list[Any]) -> None:
    """The page, its files and the figure endpoints, added to ``app`` itself (an included router would hide
    them from ``app.routes``, where the tests find every route); ``credentials``: the app's declared ones.
    """

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        """The dashboard page (its login form until a session exists)."""
        return HTMLResponse(static_file("index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        """One of the page's own files; 404 for anything else."""
        kind = STATIC.get(name)
        if kind is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such file")
        return Response(static_file(name), media_type=kind, headers={"Cache-Control": "no-cache"})

    @app.get("/api/figures", tags=["figures"], dependencies=credentials, responses=PROBLEMS)
    def figures(
        request: Request,
        principal: Annotated[Principal, Depends(Require(Permission.OWN_ACCOUNT))],
        office: Annotated[str | None, Query(pattern=OFFICE_PATTERN)] = None,
    ) -> LiveFigures:
        """Every figure of the dashboard the principal may see, within its scope (one office's when
        ``office`` is given): citizens abroad, traffic, dead letters, consumer lag, protection, passport.
        """
        narrowed = scoped_office(request, principal, office)
        return current(ready_board(request), principal, narrowed)[1]

    @app.get(
        "/api/live",
        tags=["figures"],
        dependencies=credentials,
        responses={**STREAM_ANSWER, **PROBLEMS},
        response_model=None,  # the stream is its own response; refusals stay JSON (``Problem``)
    )
    def live(
        request: Request,
        principal: Annotated[Principal, Depends(Require(Permission.OWN_ACCOUNT))],
        office: Annotated[str | None, Query(pattern=OFFICE_PATTERN)] = None,
    ) -> EventStream:
        """The figures of ``/api/figures`` as server-sent events (``event: figures``), sent again whenever
        they change; the stream ends after a few minutes (the browser reconnects) or when the session ends.
        """
        narrowed = scoped_office(request, principal, office)
        board = ready_board(request)
        return EventStream(
            events(request, board, principal, narrowed),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
