"""The account store: accounts, tokens (issued, revoked), sessions (ended, idle), disabling, and no secret
ever written to the file.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from services.dashboard.accounts import AccountError, Passwords, Role
from services.dashboard.users import UserStore

from .conftest import CHEAP, OFFICE, PASSWORD

IDLE = timedelta(minutes=30)


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    return UserStore(tmp_path / "d" / "users.sqlite3", CHEAP)


class TestAccounts:
    def test_add_get_list(self, store: UserStore) -> None:
        officer = store.add("officer", Role.OFFICE_OFFICER, office=OFFICE, password=PASSWORD)
        store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        assert store.get("officer") == officer
        assert officer.scope == OFFICE
        assert [a.username for a in store.accounts()] == ["desk", "officer"]
        assert store.get("nobody") is None

    def test_a_username_is_taken_once(self, store: UserStore) -> None:
        store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        with pytest.raises(AccountError, match="exists already"):
            store.add("desk", Role.OPERATOR, password=PASSWORD)

    def test_people_need_a_password_and_api_clients_have_none(self, store: UserStore) -> None:
        with pytest.raises(AccountError, match="needs a password"):
            store.add("desk", Role.CENTRAL_DESK)
        with pytest.raises(AccountError, match="tokens only"):
            store.add("system", Role.API_CLIENT, password=PASSWORD)
        store.add("system", Role.API_CLIENT, office=OFFICE)
        assert store.check_password("system", "") is None

    def test_check_password(self, store: UserStore) -> None:
        store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        assert store.check_password("desk", PASSWORD) is not None
        assert store.check_password("desk", PASSWORD + "x") is None
        assert store.check_password("nobody", PASSWORD) is None
        store.disable("desk")
        assert store.check_password("desk", PASSWORD) is None

    def test_a_hash_is_upgraded_at_login_when_the_cost_changes(self, tmp_path: Path) -> None:
        path = tmp_path / "users.sqlite3"
        UserStore(path, CHEAP).add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        stronger = UserStore(path, Passwords(time_cost=2, memory_kib=16, parallelism=1))
        assert stronger.check_password("desk", PASSWORD) is not None
        with sqlite3.connect(path) as db:
            (stored,) = db.execute("SELECT password_hash FROM accounts").fetchone()
        assert "t=2" in stored

    def test_a_new_password_ends_the_sessions(self, store: UserStore) -> None:
        account = store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        session_id, _ = store.open_session(account, lifetime=timedelta(hours=1))
        store.set_password("desk", "another long password")
        assert store.session(session_id, idle=IDLE) is None
        assert store.check_password("desk", "another long password") is not None

    def test_the_file_is_in_wal_mode(self, store: UserStore) -> None:
        with sqlite3.connect(store.path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class TestTokens:
    def test_a_token_proves_its_account_until_revoked(self, store: UserStore) -> None:
        store.add("system", Role.API_CLIENT, office=OFFICE)
        info, secret = store.issue_token("system", "consular app")
        principal = store.token_principal(secret)
        assert principal is not None
        assert (principal.username, principal.role, principal.office) == ("system", Role.API_CLIENT, OFFICE)
        assert (principal.via, principal.token_id) == ("token", info.token_id)
        assert store.revoke_token(info.token_id).revoked
        assert store.token_principal(secret) is None
        with pytest.raises(AccountError):
            store.revoke_token("no-such-token")

    def test_unknown_tokens_prove_nothing(self, store: UserStore) -> None:
        assert store.token_principal("bus_0000_nothing") is None
        assert store.token_principal("") is None

    def test_tokens_are_listed_without_their_secrets(self, store: UserStore) -> None:
        store.add("system", Role.API_CLIENT)
        store.issue_token("system", "one")
        store.issue_token("system", "two")
        listed = store.tokens("system")
        assert {t.label for t in listed} == {"one", "two"}
        assert not any(t.revoked for t in listed)

    def test_a_disabled_account_gets_no_token(self, store: UserStore) -> None:
        store.add("system", Role.API_CLIENT)
        store.disable("system")
        with pytest.raises(AccountError, match="no enabled account"):
            store.issue_token("system")


class TestSessions:
    def test_a_session_proves_its_account(self, store: UserStore) -> None:
        account = store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        session_id, opened = store.open_session(account, lifetime=timedelta(hours=1))
        found = store.session(session_id, idle=IDLE)
        assert found is not None
        assert found.principal.username == "desk"
        assert found.principal.via == "session"
        assert found.csrf_token == opened.csrf_token
        store.close_session(session_id)
        assert store.session(session_id, idle=IDLE) is None

    def test_a_session_ends_at_its_end_and_when_idle(self, store: UserStore) -> None:
        account = store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        session_id, opened = store.open_session(account, lifetime=timedelta(hours=1))
        assert store.session(session_id, idle=IDLE, now=opened.expires_at) is None
        session_id, opened = store.open_session(account, lifetime=timedelta(hours=1))
        later = opened.expires_at - timedelta(minutes=59)
        assert store.session(session_id, idle=IDLE, now=later) is not None
        assert store.session(session_id, idle=IDLE, now=later + IDLE) is None

    def test_disabling_ends_sessions_and_refuses_tokens_at_once(self, store: UserStore) -> None:
        account = store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
        session_id, _ = store.open_session(account, lifetime=timedelta(hours=1))
        _, secret = store.issue_token("desk")
        assert store.disable("desk").disabled
        assert store.session(session_id, idle=IDLE) is None
        assert store.token_principal(secret) is None
        with pytest.raises(AccountError):
            store.disable("nobody")


def test_no_secret_is_written_to_the_file(store: UserStore) -> None:
    account = store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
    _, token = store.issue_token("desk")
    session_id, _ = store.open_session(account, lifetime=timedelta(hours=1))
    written = b"".join(p.read_bytes() for p in store.path.parent.iterdir())
    for secret in (PASSWORD, token, session_id):
        assert secret.encode() not in written
