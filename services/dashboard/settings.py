"""Front door settings (prefix ``DASHBOARD_``): where it listens, where its accounts live, how long a
session lasts, how many failed logins are tolerated, where the processors' HTTP views are.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.bus.settings import REPO_ROOT


class DashboardSettings(BaseSettings):
    """Everything the front door is configured with; the defaults suit a developer's laptop."""

    model_config = SettingsConfigDict(
        env_prefix="DASHBOARD_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    datadir: Path = REPO_ROOT / "var" / "dashboard"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_origin: str = ""
    """The origin browsers reach the front door at (``https://bus.kemlu.go.id``); empty: the origin the
    request was addressed to (its scheme and Host). State-changing requests from any other origin are
    refused."""
    secure_cookies: bool = True
    """Send the session cookie only over HTTPS; ``false`` only for local development over plain HTTP."""
    session_hours: float = Field(default=8.0, gt=0)
    """A session ends this long after its login, however active."""
    session_idle_minutes: float = Field(default=30.0, gt=0)
    """A session ends after this long without a request."""
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: float = Field(default=900.0, gt=0)
    """Failed logins counted over this window; past either limit, logins are refused until it passes."""
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    registry_url: str = "http://127.0.0.1:6066"
    protection_url: str = "http://127.0.0.1:6068"
    passport_url: str = "http://127.0.0.1:6069"
    central_office: str = "kemlu-pusat"
    """The office code a personal-data lookup by an account that sees every office is recorded under."""
    access_log_cache_seconds: float = Field(default=5.0, ge=0)
    """The access-log topics are read at most this often."""
    view_timeout: float = Field(default=5.0, gt=0)
    figures_cache_seconds: float = Field(default=5.0, ge=0)
    """Dead-letter figures are read from their compacted topic at most this often."""
    processors: str = (
        "registry=http://127.0.0.1:6066,deadletters=http://127.0.0.1:6067,protection=http://127.0.0.1:6068,"
        "passport=http://127.0.0.1:6069,traffic=http://127.0.0.1:6070"
    )
    """Each processor's name and its worker's web address (loopback): the page's consumer lag is what their
    ``/stats`` say of each partition's stored progress and end offset."""

    @property
    def users_db(self) -> Path:
        """The SQLite file of accounts, tokens and sessions."""
        return self.datadir / "users.sqlite3"
