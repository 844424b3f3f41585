"""Bus settings from the environment (prefix ``BUS_``) or a ``.env`` file, one place for all services."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class BusSettings(BaseSettings):
    """Everything a producer, processor or auditor needs to reach the bus."""

    # hide_input_in_errors: a malformed setting's error would otherwise quote it, secrets included.
    model_config = SettingsConfigDict(
        env_prefix="BUS_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "mission-bus"
    schemas_dir: Path = REPO_ROOT / "schemas"
    # The HMAC key that turns a NIK into the pseudonymous citizen key; its id travels in `bus_keyid`
    # so the key can rotate. The default is for a developer's laptop only.
    citizen_key: SecretStr = SecretStr("dev-only-citizen-key-change-me")
    citizen_key_id: str = Field(default="dev-1", min_length=1)
    # Further keys consumers accept (JSON `{"<key id>": "<secret>"}` in BUS_CITIZEN_KEYS), so a key can
    # rotate: producers move to the new key one by one while consumers accept both.
    citizen_keys: dict[str, SecretStr] = Field(default_factory=dict)
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    max_future_skew_seconds: int = Field(default=300, ge=0)
    deadletter_topic: str = "bus.deadletter"
    topic_prefix: str = ""
    request_timeout_ms: int = 30_000
    linger_ms: int = 5
    batch_size: int = 256 * 1024
    metrics_port: int = 0

    @model_validator(mode="after")
    def _one_secret_per_key_id(self) -> Self:
        """Refuse a key id given two secrets, or an empty secret: either would make every consumer refuse
        (or accept) keys by accident. The error names the key id only.
        """
        for key_id, secret in self.citizen_keyring().items():
            if not key_id or not secret.get_secret_value():
                raise ValueError("a citizen key id and its secret must not be empty")
        same = self.citizen_keys.get(self.citizen_key_id, self.citizen_key)
        if same.get_secret_value() != self.citizen_key.get_secret_value():
            raise ValueError(
                f"BUS_CITIZEN_KEYS gives key id {self.citizen_key_id} another secret than BUS_CITIZEN_KEY"
            )
        return self

    def citizen_keyring(self) -> dict[str, SecretStr]:
        """Every citizen key a consumer accepts, by key id: BUS_CITIZEN_KEYS and the key this process
        publishes with (BUS_CITIZEN_KEY under BUS_CITIZEN_KEY_ID).
        """
        return {**self.citizen_keys, self.citizen_key_id: self.citizen_key}

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
