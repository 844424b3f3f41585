"""Bus settings from the environment (prefix ``BUS_``) or a ``.env`` file, one place for all services."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class BusSettings(BaseSettings):
    """Everything a producer, processor or auditor needs to reach the bus."""

    model_config = SettingsConfigDict(env_prefix="BUS_", env_file=".env", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "mission-bus"
    schemas_dir: Path = REPO_ROOT / "schemas"
    # The HMAC key that turns a NIK into the pseudonymous citizen key; its id travels in `bus_keyid`
    # so the key can rotate. The default is for a developer's laptop only.
    citizen_key: SecretStr = SecretStr("dev-only-citizen-key-change-me")
    citizen_key_id: str = "dev-1"
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    max_future_skew_seconds: int = Field(default=300, ge=0)
    deadletter_topic: str = "bus.deadletter"
    topic_prefix: str = ""
    request_timeout_ms: int = 30_000
    linger_ms: int = 5
    batch_size: int = 256 * 1024
    metrics_port: int = 0

    @property
    def max_future_skew(self) -> timedelta:
        """How far ahead of the clock an event time may be before the event is refused."""
        return timedelta(seconds=self.max_future_skew_seconds)

    def topic(self, name: str) -> str:
        """The physical topic name: a prefix lets tests and tenants share one cluster."""
        return f"{self.topic_prefix}{name}"


@lru_cache(maxsize=1)
def get_settings() -> BusSettings:
    """Settings read once per process."""
    return BusSettings()
