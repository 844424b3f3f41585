"""A small HTTP client of the registry's views, for the CLI and tests (standard library only)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

from services.cli.view_client import ViewClient
from services.registry.settings import RegistrySettings


@dataclass(frozen=True)
class RegistryClient(ViewClient):
    """Calls the registry worker's HTTP views at ``base_url``; failures raise LookupError."""

    name: str = "registry"

    @classmethod
    def from_env(cls) -> RegistryClient:
        """A client of the local registry worker, on the web port its settings give."""
        return cls(f"http://127.0.0.1:{RegistrySettings().web_port}")

    def lookup(self, query: dict[str, str], *, requested_by: str, office: str, purpose: str) -> Any:
        """Look a citizen up, saying who asks, from which office and why (a POST: no NIK in the URL)."""
        body = {**query, "requested_by": requested_by, "office": office, "purpose": purpose}
        request = urllib.request.Request(  # noqa: S310
            self.base_url + "/registry/lookup",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self.call(request)
