"""Passport service settings (prefix ``PASSPORT_``): the runtime's, the service's code, the phone limit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.bus.settings import REPO_ROOT
from services.passport.phones import PhoneLimit
from services.runtime.settings import ProcessorSettings

SERVICE = "ditjen-imigrasi"
"""The passport service's system code (``offices.csv``): the ``ce_source`` of every decision, status view,
figure and notification it publishes."""


class PassportSettings(ProcessorSettings):
    """Where the worker keeps its state and listens, who it publishes as, what one phone may send."""

    model_config = SettingsConfigDict(env_prefix="PASSPORT_", env_file=".env", extra="ignore")

    datadir: Path = REPO_ROOT / "var" / "passport"
    web_port: int = 6069
    source: str = SERVICE
    phone_limit: int = Field(default=5, ge=1)
    """Requests one phone may have passed on within ``phone_window_hours`` (a family books for a few)."""
    phone_window_hours: float = Field(default=24.0, gt=0)

    def phone_rules(self) -> PhoneLimit:
        """The per-phone limit the phones stage applies."""
        return PhoneLimit(limit=self.phone_limit, window=timedelta(hours=self.phone_window_hours))
