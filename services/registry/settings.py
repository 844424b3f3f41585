"""Registry processor settings (prefix ``REGISTRY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.bus.settings import REPO_ROOT


class RegistrySettings(BaseSettings):
    """Where the worker keeps its tables, where its HTTP views listen, how it batches."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    datadir: Path = REPO_ROOT / "var" / "registry"
    web_port: int = 6066
    batch_size: int = Field(default=500, ge=1)
    batch_within: float = Field(default=0.05, gt=0)
    record_cache: int = Field(default=20_000, ge=0)
    source: str = "kemlu-pusat"
