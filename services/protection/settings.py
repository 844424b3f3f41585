"""Protection view settings (prefix ``PROTECTION_``): the runtime's, the desk's code, the service levels."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.bus.settings import REPO_ROOT
from services.contracts.protection import Urgency
from services.protection.service_levels import ServiceLevels
from services.runtime.settings import ProcessorSettings

DESK = "kemlu-pwni"
"""The protection desk's system code (``offices.csv``): the ``ce_source`` of every record the view publishes,
its breaches included."""


class ProtectionSettings(ProcessorSettings):
    """Where the worker keeps its state and listens, who it publishes as, how long each urgency may wait."""

    model_config = SettingsConfigDict(env_prefix="PROTECTION_", env_file=".env", extra="ignore")

    datadir: Path = REPO_ROOT / "var" / "protection"
    web_port: int = 6068
    source: str = DESK
    case_cache: int = Field(default=10_000, ge=0)
    sla_critical_minutes: int = Field(default=2 * 60, ge=1)
    sla_high_minutes: int = Field(default=8 * 60, ge=1)
    sla_medium_minutes: int = Field(default=24 * 60, ge=1)
    sla_low_minutes: int = Field(default=72 * 60, ge=1)

    def service_levels(self) -> ServiceLevels:
        """How long a case of each urgency may go without action."""
        return ServiceLevels(
            {
                Urgency.CRITICAL: timedelta(minutes=self.sla_critical_minutes),
                Urgency.HIGH: timedelta(minutes=self.sla_high_minutes),
                Urgency.MEDIUM: timedelta(minutes=self.sla_medium_minutes),
                Urgency.LOW: timedelta(minutes=self.sla_low_minutes),
            }
        )
