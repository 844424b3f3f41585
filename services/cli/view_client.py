"""A small HTTP client of a processor worker's views, for the CLI and tests (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from services.cli.jsonview import redacted


@dataclass(frozen=True)
class ViewClient:
    """Calls the HTTP views of the worker at ``base_url``; failures raise LookupError naming ``name``."""

    base_url: str
    name: str = "the worker"
    timeout: float = 10.0

    def call(self, request: urllib.request.Request) -> Any:
        """Send ``request`` and return its JSON answer; LookupError with the worker's error text."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own URL
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                message = exc.reason
            raise LookupError(f"{self.name} answered {exc.code}: {message}") from None
        except urllib.error.URLError as exc:
            raise LookupError(f"{self.name} not reachable at {self.base_url} ({exc.reason})") from None

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        """GET a view and return its JSON answer."""
        return self.call(urllib.request.Request(self.base_url + path, headers=headers or {}))  # noqa: S310

    @staticmethod
    def render(result: Any, *, show_personal: bool = True) -> str:
        """Indented JSON for the terminal; the personal part redacted unless ``show_personal``."""
        if not show_personal and isinstance(result, dict):
            result = redacted(result)
        return json.dumps(result, indent=2, ensure_ascii=False)


def client_call(call: Callable[[], Any]) -> Any:
    """``call()``; a LookupError (a view that did not answer, or refused) becomes its message and exit 1."""
    try:
        return call()
    except LookupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
