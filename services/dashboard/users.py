"""The front door's accounts, API tokens and sessions in one small SQLite file (WAL).

Secrets are never stored: passwords as argon2id hashes, API tokens and session ids as SHA-256 digests
(random 256-bit values need no slow hash). Every check reads the account's ``disabled`` flag, so a disabled
account's sessions and tokens stop working with its next request; disabling also deletes its sessions.
One connection per operation: requests run on several threads, and SQLite in WAL mode serves them.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.dashboard.accounts import (
    PASSWORD_ROLES,
    Account,
    AccountError,
    Passwords,
    Principal,
    Role,
    check_scope,
    check_username,
    digest,
    new_secret,
    new_token,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    office TEXT,
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions(account_id);
"""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed: never its secret."""

    token_id: str
    username: str
    label: str
    created_at: datetime
    revoked: bool


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who it proves, its CSRF token, when it ends."""

    principal: Principal
    csrf_token: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _account(row: sqlite3.Row) -> Account:
    return Account(
        account_id=row["account_id"],
        username=row["username"],
        role=Role(row["role"]),
        office=row["office"],
        disabled=bool(row["disabled"]),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


class UserStore:
    """Accounts, tokens and sessions in the SQLite file at ``path`` (created, with its folder, if absent)."""

    def __init__(self, path: Path, passwords: Passwords) -> None:
        self.path = path
        self.passwords = passwords
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation, committed if it succeeds, rolled back if not, then closed."""
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            with db:
                yield db

    # accounts

    def add(
        self, username: str, role: Role, *, office: str | None = None, password: str | None = None
    ) -> Account:
        """A new account; a person's needs a password, an API client's has none (it holds tokens)."""
        check_username(username)
        office = check_scope(role, office)
        if role in PASSWORD_ROLES and password is None:
            raise AccountError(f"a {role.value} account needs a password")
        if role not in PASSWORD_ROLES and password is not None:
            raise AccountError("an API client logs in with tokens only; give no password")
        password_hash = self.passwords.hash(password) if password is not None else None
        account = Account(str(uuid.uuid4()), username, role, office, disabled=False, created_at=_now())
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO accounts (account_id, username, role, office, password_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        account.account_id,
                        username,
                        role.value,
                        office,
                        password_hash,
                        account.created_at.isoformat(),
                    ),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"an account named {username!r} exists already") from None
        return account

    def get(self, username: str) -> Account | None:
        """The account named ``username``, or None."""
        with self._db() as db:
            row = db.execute(
                "SELECT account_id, username, role, office, disabled, created_at"
                " FROM accounts WHERE username = ?",
                (username,),
            ).fetchone()
        return _account(row) if row else None

    def accounts(self) -> list[Account]:
        """Every account, by username."""
        with self._db() as db:
            rows = db.execute(
                "SELECT account_id, username, role, office, disabled, created_at"
                " FROM accounts ORDER BY username"
            ).fetchall()
        return [_account(row) for row in rows]

    def disable(self, username: str) -> Account:
        """Disable the account: its sessions are deleted, its tokens refused from now on."""
        with self._db() as db:
            row = db.execute("SELECT account_id FROM accounts WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise AccountError(f"no account named {username!r}")
            db.execute(
                "UPDATE accounts SET disabled = 1, disabled_at = ? WHERE account_id = ?",
                (_now().isoformat(), row["account_id"]),
            )
            db.execute("DELETE FROM sessions WHERE account_id = ?", (row["account_id"],))
        account = self.get(username)
        if account is None:
            raise AccountError(f"no account named {username!r}")
        return account

    def set_password(self, username: str, password: str) -> None:
        """Replace a person's password; their sessions end."""
        account = self.get(username)
        if account is None or account.role not in PASSWORD_ROLES:
            raise AccountError(f"no person's account named {username!r}")
        password_hash = self.passwords.hash(password)
        with self._db() as db:
            db.execute(
                "UPDATE accounts SET password_hash = ? WHERE account_id = ?",
                (password_hash, account.account_id),
            )
            db.execute("DELETE FROM sessions WHERE account_id = ?", (account.account_id,))

    def check_password(self, username: str, password: str) -> Account | None:
        """The enabled account ``username`` if ``password`` is its password, else None. A dummy hash is
        checked when there is no account (or no password), so every refusal takes about as long.
        """
        with self._db() as db:
            row = db.execute(
                "SELECT account_id, username, role, office, disabled, created_at, password_hash"
                " FROM accounts WHERE username = ?",
                (username,),
            ).fetchone()
        stored: str | None = row["password_hash"] if row else None
        if not self.passwords.verify(stored, password) or row is None or stored is None or row["disabled"]:
            return None
        if self.passwords.needs_rehash(stored):
            with self._db() as db:
                db.execute(
                    "UPDATE accounts SET password_hash = ? WHERE account_id = ?",
                    (self.passwords.hash(password), row["account_id"]),
                )
        return _account(row)

    # tokens

    def issue_token(self, username: str, label: str = "") -> tuple[TokenInfo, str]:
        """A new API token of the enabled account ``username``: what lists show, and the secret (once)."""
        account = self.get(username)
        if account is None or account.disabled:
            raise AccountError(f"no enabled account named {username!r}")
        token_id, secret = new_token()
        info = TokenInfo(token_id, username, label, _now(), revoked=False)
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens (token_id, account_id, token_hash, label, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_id, account.account_id, digest(secret), label, info.created_at.isoformat()),
            )
        return info, secret

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke the token ``token_id``: refused from its next use on."""
        with self._db() as db:
            changed = db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (_now().isoformat(), token_id),
            ).rowcount
        found = [token for token in self.tokens() if token.token_id == token_id]
        if not found or (not changed and not found[0].revoked):
            raise AccountError(f"no token with id {token_id!r}")
        return found[0]

    def tokens(self, username: str | None = None) -> list[TokenInfo]:
        """Every token (of ``username`` if given), newest first; never their secrets."""
        query = (
            "SELECT t.token_id, a.username, t.label, t.created_at, t.revoked_at"
            " FROM tokens t JOIN accounts a USING (account_id)"
        )
        args: tuple[str, ...] = ()
        if username is not None:
            query += " WHERE a.username = ?"
            args = (username,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY t.created_at DESC", args).fetchall()
        return [
            TokenInfo(
                row["token_id"],
                row["username"],
                row["label"],
                datetime.fromisoformat(row["created_at"]),
                revoked=row["revoked_at"] is not None,
            )
            for row in rows
        ]

    def token_principal(self, secret: str) -> Principal | None:
        """Who the token ``secret`` proves: None if unknown, revoked, or its account disabled."""
        with self._db() as db:
            row = db.execute(
                "SELECT t.token_id, a.account_id, a.username, a.role, a.office, a.disabled, a.created_at"
                " FROM tokens t JOIN accounts a USING (account_id)"
                " WHERE t.token_hash = ? AND t.revoked_at IS NULL AND a.disabled = 0",
                (digest(secret),),
            ).fetchone()
        if row is None:
            return None
        return Principal(
            row["account_id"], row["username"], Role(row["role"]), row["office"], "token", row["token_id"]
        )

    # sessions

    def open_session(self, account: Account, *, lifetime: timedelta) -> tuple[str, Session]:
        """A new session of ``account``: its id (for the cookie; only its digest is stored) and itself."""
        session_id, csrf_token, now = new_secret(), new_secret(), _now()
        principal = Principal(account.account_id, account.username, account.role, account.office, "session")
        session = Session(principal, csrf_token, now + lifetime)
        with self._db() as db:
            db.execute(
                "INSERT INTO sessions"
                " (session_hash, account_id, csrf_token, created_at, expires_at, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    digest(session_id),
                    account.account_id,
                    csrf_token,
                    now.isoformat(),
                    session.expires_at.isoformat(),
                    now.isoformat(),
                ),
            )
        return session_id, session

    def session(self, session_id: str, *, idle: timedelta, now: datetime | None = None) -> Session | None:
        """The live session ``session_id``: None if unknown, past its end, idle too long or its account
        disabled (an ended session is deleted). Its last use is moved to ``now``.
        """
        now = now or _now()
        key = digest(session_id)
        with self._db() as db:
            row = db.execute(
                "SELECT s.csrf_token, s.expires_at, s.last_seen,"
                " a.account_id, a.username, a.role, a.office, a.disabled, a.created_at"
                " FROM sessions s JOIN accounts a USING (account_id) WHERE s.session_hash = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            expires_at = datetime.fromisoformat(row["expires_at"])
            ended = now >= expires_at or now - datetime.fromisoformat(row["last_seen"]) >= idle
            if ended or row["disabled"]:
                db.execute("DELETE FROM sessions WHERE session_hash = ?", (key,))
                return None
            db.execute("UPDATE sessions SET last_seen = ? WHERE session_hash = ?", (now.isoformat(), key))
        principal = Principal(row["account_id"], row["username"], Role(row["role"]), row["office"], "session")
        return Session(principal, row["csrf_token"], expires_at)

    def close_session(self, session_id: str) -> None:
        """End the session ``session_id`` (nothing happens if it has ended already)."""
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE session_hash = ?", (digest(session_id),))
