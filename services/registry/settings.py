"""Registry processor settings (prefix ``REGISTRY_``): the runtime's, with the registry's defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.bus.settings import REPO_ROOT
from services.runtime.settings import ProcessorSettings


class RegistrySettings(ProcessorSettings):
    """Where the worker keeps its state, where its HTTP views listen, how it batches and caches."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    datadir: Path = REPO_ROOT / "var" / "registry"
    web_port: int = 6066
    record_cache: int = Field(default=20_000, ge=0)
