"""HTTP view of the passport service: "is my passport ready?", served by every worker (127.0.0.1 only).

``GET /passport/applications/{application_id}/status`` with the applicant's birth date in the
``X-Birth-Date`` header (``YYYY-MM-DD``; a header, so it is in no URL, access log or proxy log) answers the
status, the office, when the passport is or will be ready and what to bring, in Indonesian and English
(``services.passport.answer``). The worker holding the application's partition of ``passport.status``
answers from its stored state; any other worker relays it there (``services.runtime.peers``).

The id alone opens nothing: an unknown id, an application without a birth date yet and a wrong birth date
all get the same 404, and after ``GUESSES`` wrong birth dates for one application within ``GUESS_WINDOW``
seconds every further try is refused 429 until the window has passed, so a birth date cannot be found by
trying each day of a century. Errors never echo the birth date.

The answer is about one person's application, so this worker port gives it only to a request carrying
the service credential (``services.runtime.credential``): citizens ask the front door, which relays it
(401 otherwise).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict
from datetime import date
from typing import Any

from faust.web import View

from services.passport.answer import StatusAnswer, status_answer
from services.passport.status_projection import StatusProjection
from services.runtime.core import ViewRuntime
from services.runtime.credential import ServiceCredential, credential_refusal
from services.runtime.peers import SERVICE_UNAVAILABLE, PeerDesk

__all__ = ["BIRTH_DATE", "GUESSES", "StatusDesk", "answer_json", "register"]

BIRTH_DATE = "X-Birth-Date"
GUESSES = 5
GUESS_WINDOW = 15 * 60.0
NOT_READY = "the status view is catching up or being handed over; try again shortly"
NOT_FOUND = "no application with this id and birth date"
TOO_MANY = "too many wrong birth dates for this application; try again later"


class StatusDesk(PeerDesk):
    """What the status view needs of the worker: the status stage's partitions, its peers, the guesses."""

    def __init__(
        self,
        runtime: ViewRuntime[Any, Any],
        app: Any,
        projection: StatusProjection,
        hasher: Any,
        peers: list[str],
        *,
        credential: ServiceCredential,
    ) -> None:
        super().__init__(runtime, app, peers, NOT_READY, credential)
        self.projection = projection
        self.hasher = hasher
        self.misses: dict[str, deque[float]] = {}

    def locked(self, application_id: str, now: float) -> bool:
        """Whether too many wrong birth dates were given for the application lately."""
        misses = self.misses.get(application_id)
        while misses and misses[0] <= now - GUESS_WINDOW:
            misses.popleft()
        if misses is not None and not misses:
            del self.misses[application_id]
            return False
        return misses is not None and len(misses) >= GUESSES

    def missed(self, application_id: str, now: float) -> None:
        """Note one wrong (or unknown) lookup of the application."""
        self.misses.setdefault(application_id, deque()).append(now)


def answer_json(answer: StatusAnswer) -> dict[str, Any]:
    """The answer as JSON: dates as ISO days, both languages side by side."""
    body = asdict(answer)
    body["status"] = str(answer.status)
    for day in ("ready_from", "booked_day"):
        value = getattr(answer, day)
        body[day] = None if value is None else value.isoformat()
    body["bring_id"], body["bring_en"] = list(answer.bring_id), list(answer.bring_en)
    return body


async def status(desk: StatusDesk, web: Any, request: Any, application_id: str) -> Any:
    """The application's status for whoever knows its id and the applicant's birth date (relayed by the
    front door: the service credential is required).
    """
    raw = (request.headers.get(BIRTH_DATE) or "").strip()
    try:
        birth_date = date.fromisoformat(raw)
    except ValueError:
        error = f"give the applicant's birth date in the {BIRTH_DATE} header as YYYY-MM-DD"
        return web.json({"error": error}, status=400)
    partition = await desk.partition_of(application_id)
    core = desk.owned(partition)
    if core is None:
        return await desk.forward(web, request, partition, {BIRTH_DATE: raw})
    if not core.ready:
        return web.json({"error": NOT_READY, "partition": partition}, status=SERVICE_UNAVAILABLE)
    now = time.monotonic()
    if desk.locked(application_id, now):
        return web.json({"error": TOO_MANY}, status=429)
    application = desk.projection.application(core.state, application_id)
    answer = status_answer(application, birth_date, desk.hasher)
    if answer is None:
        desk.missed(application_id, now)
        return web.json({"error": NOT_FOUND}, status=404)
    return web.json(answer_json(answer))


def register(app: Any, desk: StatusDesk) -> None:
    """The status view on faust's web server."""

    class Status(View):
        """GET /passport/applications/{application_id}/status, with X-Birth-Date."""

        async def get(self, request: Any, application_id: str) -> Any:
            refusal = credential_refusal(desk.credential, self, request)
            if refusal is not None:
                return refusal
            return await status(desk, self, request, application_id)

    app.page("/passport/applications/{application_id}/status")(Status)
