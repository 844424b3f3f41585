"""The CLI's way to personal data: the front door, with the user's own API token.

The processors' ports answer personal data only to the front door, which proves who asks from the token
(``bus users token <you>``) and records every lookup under that account. A command that shows personal data
takes the token from ``--token`` or the ``BUS_TOKEN`` environment variable and refuses to start without one;
the front door is at ``BUS_FRONT_DOOR_URL`` (default: the address ``bus dashboard`` listens on).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from services.cli.view_client import ViewClient
from services.dashboard.settings import DashboardSettings

TOKEN_ENV = "BUS_TOKEN"  # noqa: S105 - the name of the variable, not a token
URL_ENV = "BUS_FRONT_DOOR_URL"
NO_TOKEN = (
    f"this shows personal data: give your API token with --token or {TOKEN_ENV} "
    "(an account's token: bus users token <account>)"
)


class TokenMissing(ValueError):
    """No token was given for a command that needs one."""


def front_door_url() -> str:
    """Where the front door answers: ``BUS_FRONT_DOOR_URL``, else its own settings' host and port."""
    given = os.environ.get(URL_ENV, "").strip()
    if given:
        return given.rstrip("/")
    settings = DashboardSettings()
    return f"http://{settings.host}:{settings.port}"


def user_token(given: str | None) -> str:
    """The token from ``--token``, else ``BUS_TOKEN``; TokenMissing if neither holds one."""
    token = (given or os.environ.get(TOKEN_ENV, "")).strip()
    if not token:
        raise TokenMissing(NO_TOKEN)
    return token


@dataclass(frozen=True)
class FrontDoorClient(ViewClient):
    """Calls the front door's API at ``base_url`` with a bearer token; failures raise LookupError."""

    name: str = "the front door"
    token: str = ""

    @classmethod
    def from_env(cls, token: str | None) -> FrontDoorClient:
        """A client of the front door with ``token`` (may be empty only for its public answers)."""
        return cls(front_door_url(), token=token or "")

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The request's headers: the token (if any) and ``extra``."""
        found = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**found, **(extra or {})}

    def call(self, request: urllib.request.Request) -> Any:
        """Send ``request``; its JSON answer, or LookupError with the front door's reason (``detail``)."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own URL
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", exc.reason)
            except (ValueError, AttributeError):
                detail = exc.reason
            if isinstance(detail, list):  # a validation error: name the fields, never their values
                detail = "; ".join(f"{'.'.join(map(str, d.get('loc', ())))}: {d.get('msg')}" for d in detail)
            raise LookupError(f"{self.name} answered {exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise LookupError(f"{self.name} not reachable at {self.base_url} ({exc.reason})") from None

    def citizen(self, query: dict[str, str], purpose: str) -> Any:
        """``POST /api/registry/lookup``: the NIK or passport number only in the body."""
        request = urllib.request.Request(  # noqa: S310 - our own configured URL
            self.base_url + "/api/registry/lookup",
            data=json.dumps({**query, "purpose": purpose}).encode(),
            headers=self.headers({"Content-Type": "application/json"}),
            method="POST",
        )
        return self.call(request)

    def case(self, case_id: str, purpose: str) -> Any:
        """``GET /api/protection/cases/{case_id}?purpose=...``."""
        path = f"/api/protection/cases/{urllib.parse.quote(case_id, safe='')}"
        query = urllib.parse.urlencode({"purpose": purpose})
        return self.get(f"{path}?{query}", self.headers())

    def passport_status(self, application_id: str, birth_date: str) -> Any:
        """``GET /api/passport/applications/{id}/status`` with the birth date in ``X-Birth-Date``."""
        path = f"/api/passport/applications/{urllib.parse.quote(application_id, safe='')}/status"
        return self.get(path, self.headers({"X-Birth-Date": birth_date}))
