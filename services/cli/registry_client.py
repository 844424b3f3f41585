"""A small HTTP client of the registry's views, for the CLI and tests (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from services.cli.jsonview import redacted
from services.registry.settings import RegistrySettings


@dataclass(frozen=True)
class RegistryClient:
    """Calls the registry worker's HTTP views at ``base_url``; failures raise LookupError."""

    base_url: str
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> RegistryClient:
        """A client of the local registry worker, on the web port its settings give."""
        return cls(f"http://127.0.0.1:{RegistrySettings().web_port}")

    def _call(self, request: urllib.request.Request) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own URL
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                message = exc.reason
            raise LookupError(f"registry answered {exc.code}: {message}") from None
        except urllib.error.URLError as exc:
            raise LookupError(f"registry not reachable at {self.base_url} ({exc.reason})") from None

    def get(self, path: str) -> Any:
        """GET a registry view and return its JSON answer."""
        return self._call(urllib.request.Request(self.base_url + path))  # noqa: S310

    def lookup(self, query: dict[str, str], *, requested_by: str, office: str, purpose: str) -> Any:
        """Look a citizen up, saying who asks, from which office and why (a POST: no NIK in the URL)."""
        body = {**query, "requested_by": requested_by, "office": office, "purpose": purpose}
        request = urllib.request.Request(  # noqa: S310
            self.base_url + "/registry/lookup",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self._call(request)

    @staticmethod
    def render(result: Any, *, show_personal: bool = True) -> str:
        """Indented JSON for the terminal; the personal part redacted unless ``show_personal``."""
        if not show_personal and isinstance(result, dict):
            result = redacted(result)
        return json.dumps(result, indent=2, ensure_ascii=False)
