"""A small HTTP client of the registry's open views (figures, candidates, samples: no personal data), for
the CLI and tests (standard library only). A person's record is asked of the front door
(``services.cli.front_door``): the registry's port gives it only to holders of the service credential.
"""

from __future__ import annotations

from dataclasses import dataclass

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
