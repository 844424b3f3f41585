"""Accounts, roles, scopes and the role matrix: who may see what (pure: no storage, no HTTP).

Five roles. The central desk sees every office; an office officer the citizens and cases of one office; an
auditor the access logs, read-only; an operator the bus's health and its dead letters. An API client is a
ministry system: it authenticates with tokens only (no password) and is scoped like a person, to every
office (central) or one office. What each role may do is written once, in ``MATRIX``.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.reference.offices import is_known_office

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,47}")
"""At most 48 characters: ``<username>/<ROLE>`` is who asks on an access record, at most 64 there."""
PASSWORD_MIN = 12
PASSWORD_MAX = 1024
TOKEN_PREFIX = "bus_"  # noqa: S105 - the visible prefix of every API token, not a secret
CENTRAL = "central"


class Role(enum.StrEnum):
    """What an account is for; it decides which endpoints answer it (``MATRIX``)."""

    CENTRAL_DESK = "CENTRAL_DESK"
    OFFICE_OFFICER = "OFFICE_OFFICER"
    AUDITOR = "AUDITOR"
    OPERATOR = "OPERATOR"
    API_CLIENT = "API_CLIENT"


class Permission(enum.StrEnum):
    """What an endpoint shows or does; each data endpoint requires exactly one."""

    OWN_ACCOUNT = "OWN_ACCOUNT"
    """Who am I: every role."""
    DEADLETTER_FIGURES = "DEADLETTER_FIGURES"
    """Refused records per reason, component, source and hour."""
    BUS_HEALTH = "BUS_HEALTH"
    """The processors' progress, lag and readiness."""
    REGISTRY_COUNTS = "REGISTRY_COUNTS"
    """Citizens abroad per office (and per country, for the central scope)."""
    CITIZEN_LOOKUP = "CITIZEN_LOOKUP"
    """A citizen's golden record: personal data, with a stated purpose, recorded on ``registry.access``."""
    CASES = "CASES"
    """Protection cases (personal data), with a stated purpose."""
    ACCESS_LOG = "ACCESS_LOG"
    """Who looked up whom, when and why (``registry.access``, ``protection.access``), read-only."""


PEOPLE_DATA = frozenset({Role.CENTRAL_DESK, Role.OFFICE_OFFICER, Role.API_CLIENT})

MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.OWN_ACCOUNT: frozenset(Role),
    Permission.DEADLETTER_FIGURES: frozenset({Role.OPERATOR, Role.CENTRAL_DESK}),
    Permission.BUS_HEALTH: frozenset({Role.OPERATOR, Role.CENTRAL_DESK}),
    Permission.REGISTRY_COUNTS: PEOPLE_DATA,
    Permission.CITIZEN_LOOKUP: PEOPLE_DATA,
    Permission.CASES: PEOPLE_DATA,
    Permission.ACCESS_LOG: frozenset({Role.AUDITOR}),
}
"""The role matrix: the roles each permission is granted to. Office-scoped roles see their office only."""

PASSWORD_ROLES = frozenset(Role) - {Role.API_CLIENT}
"""Roles that log in with a password (people); an API client holds tokens only."""


class AccountError(ValueError):
    """An account, scope or password that breaks a rule; the message names the rule, never a secret."""


def check_username(username: str) -> str:
    """The username, if it is 2-48 lower-case letters, digits, dots, dashes or underscores."""
    if not USERNAME.fullmatch(username):
        raise AccountError("a username is 2-48 characters: lower-case letters, digits, '.', '-', '_'")
    return username


def check_scope(role: Role, office: str | None) -> str | None:
    """The office an account of ``role`` is limited to (None: every office), if that scope fits the role.

    An office officer needs a known office; an API client may have one (else it is central); the central
    desk, auditors and operators have none.
    """
    if office == CENTRAL:
        office = None
    if office is not None and not is_known_office(office):
        raise AccountError(f"unknown office code {office!r}")
    if role is Role.OFFICE_OFFICER and office is None:
        raise AccountError("an office officer needs the office code of their office")
    if role not in {Role.OFFICE_OFFICER, Role.API_CLIENT} and office is not None:
        raise AccountError(f"a {role.value} account sees every office; give no office")
    return office


def check_password(password: str) -> str:
    """The password, if it is long enough to keep (12-1024 characters)."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return password


@dataclass(frozen=True, slots=True)
class Account:
    """One account as stored (its password hash stays in storage)."""

    account_id: str
    username: str
    role: Role
    office: str | None
    disabled: bool
    created_at: datetime

    @property
    def scope(self) -> str:
        """``central`` or the one office code the account is limited to."""
        return self.office or CENTRAL


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request proved to be: the account, and how (a session, or the token with its id)."""

    account_id: str
    username: str
    role: Role
    office: str | None
    via: str
    token_id: str | None = None

    @property
    def scope(self) -> str:
        """``central`` or the one office code this principal sees."""
        return self.office or CENTRAL

    def may(self, permission: Permission) -> bool:
        """Whether the role matrix grants ``permission`` to this principal's role."""
        return self.role in MATRIX[permission]

    def sees_office(self, office: str) -> bool:
        """Whether data of ``office`` is within this principal's scope."""
        return self.office is None or self.office == office

    def permissions(self) -> list[Permission]:
        """Every permission granted to this principal's role, in the matrix's order."""
        return [permission for permission in MATRIX if self.may(permission)]


class Passwords:
    """argon2id hashing with the given cost (argon2-cffi); verification never raises on a wrong password."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65_536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (salted; the parameters are encoded in it)."""
        return self._hasher.hash(check_password(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``. Without a stored hash a dummy one is checked all the
        same, so that an unknown account takes as long to refuse as a wrong password.
        """
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was hashed with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(stored)


def new_secret(prefix: str = "") -> str:
    """A fresh random secret (256 bits, URL-safe), optionally prefixed."""
    return prefix + secrets.token_urlsafe(32)


def new_token() -> tuple[str, str]:
    """A fresh API token: its id (shown in lists, used to revoke it) and its secret (shown once)."""
    token_id = secrets.token_hex(6)
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    """The SHA-256 hex digest a token or session id is stored and looked up by (never the secret)."""
    return hashlib.sha256(secret.encode()).hexdigest()
