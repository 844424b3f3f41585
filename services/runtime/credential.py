"""The service credential: what a processor's HTTP view asks before it answers with personal data.

The processors' own HTTP ports are not the public interface: only the front door (which proved who asks)
and the workers forwarding to each other hold the service credential. It is one shared secret, given by
``BUS_SERVICE_TOKEN`` or else generated once into ``BUS_SERVICE_TOKEN_FILE`` (default
``var/service-token``, permissions 0600: readable only by the account running the bus). A request shows it
as ``Authorization: Bearer <secret>``; it is compared in constant time. A refusal is 401 with a JSON reason,
logged with the method and path only (paths hold case, application or citizen ids, never personal data).
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.bus.logs import get_logger
from services.bus.settings import REPO_ROOT

__all__ = ["SERVICE_HEADER", "ServiceCredential", "ServiceCredentialSettings", "credential_refusal"]

log = get_logger("runtime.credential")
SERVICE_HEADER = "Authorization"
UNAUTHORISED = 401
REFUSAL = "this answer holds personal data: ask the front door (the service credential is required)"


class ServiceCredentialSettings(BaseSettings):
    """Where the service credential comes from (prefix ``BUS_``, like the broker's settings)."""

    model_config = SettingsConfigDict(
        env_prefix="BUS_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    service_token: SecretStr | None = None
    """The shared secret itself; empty: read (or generate once) ``service_token_file``."""
    service_token_file: Path = REPO_ROOT / "var" / "service-token"


@dataclass(frozen=True)
class ServiceCredential:
    """The shared secret; ``header()`` to send it, ``admits()`` to check a request's header against it."""

    secret: SecretStr

    @classmethod
    def load(cls, settings: ServiceCredentialSettings | None = None) -> ServiceCredential:
        """The configured secret, or the one in the token file (written once, 0600, if there is none)."""
        settings = settings or ServiceCredentialSettings()
        if settings.service_token is not None and settings.service_token.get_secret_value():
            return cls(settings.service_token)
        return cls(SecretStr(read_or_create(settings.service_token_file)))

    def header(self) -> dict[str, str]:
        """The header that carries the credential."""
        return {SERVICE_HEADER: f"Bearer {self.secret.get_secret_value()}"}

    def admits(self, value: str | None) -> bool:
        """Whether an ``Authorization`` header value carries this credential (constant-time comparison)."""
        scheme, _, given = (value or "").partition(" ")
        expected = self.secret.get_secret_value().encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


def read_or_create(path: Path) -> str:
    """The secret in ``path``; created first if missing (atomically: a fresh 0600 file linked into place, so
    two processes starting together agree on one secret). A file others may read is refused.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(fresh, path)
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        message = f"the service credential file {path} may be read by others: chmod 600 it"
        raise PermissionError(message)
    secret = path.read_text().strip()
    if not secret:
        raise PermissionError(f"the service credential file {path} is empty")
    return secret


def credential_refusal(credential: ServiceCredential, web: Any, request: Any) -> Any:
    """The 401 answer (logged) for a request to a personal-data view without the service credential, or
    None when it carries it.
    """
    if credential.admits(request.headers.get(SERVICE_HEADER)):
        return None
    log.warning(
        "refused",
        status=UNAUTHORISED,
        method=request.method,
        path=request.path,
        reason="no service credential",
    )
    return web.json({"error": REFUSAL}, status=UNAUTHORISED)
