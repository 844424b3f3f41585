"""``bus users add|list|disable|token|tokens|revoke`` on a temporary account file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.cli.users import open_store

from .conftest import OFFICE, PASSWORD


@pytest.fixture(autouse=True)
def datadir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DASHBOARD_DATADIR", str(tmp_path))
    monkeypatch.setenv("DASHBOARD_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("DASHBOARD_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("DASHBOARD_ARGON2_PARALLELISM", "1")
    return tmp_path


def bus(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_add_a_person_with_a_password_from_stdin() -> None:
    code, out, _ = bus(
        "users",
        "add",
        "officer",
        "--role",
        "office-officer",
        "--office",
        OFFICE,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, out
    assert f"scope {OFFICE}" in out
    assert PASSWORD not in out
    assert open_store().check_password("officer", PASSWORD) is not None


def test_add_a_person_at_the_prompt_twice() -> None:
    code, out, _ = bus("users", "add", "desk", "--role", "central-desk", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, out
    assert PASSWORD not in out
    assert open_store().check_password("desk", PASSWORD) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "office-officer"], "needs the office code"),
        (["--role", "office-officer", "--office", "kbri-atlantis"], "unknown office"),
        (["--role", "auditor", "--office", OFFICE], "sees every office"),
        (["--role", "admin"], "--role must be one of"),
    ],
)
def test_add_refuses_a_wrong_role_or_scope(args: list[str], message: str) -> None:
    code, _, err = bus("users", "add", "someone", *args, "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2
    assert message in err


def test_a_short_password_is_refused_without_echo() -> None:
    code, out, err = bus(
        "users", "add", "desk", "--role", "central-desk", "--password-stdin", stdin="short\n"
    )
    assert code == 2
    assert "12 to 1024" in err
    assert "short" not in out + err.replace("12 to 1024", "")


def test_tokens_list_disable_and_revoke() -> None:
    assert bus("users", "add", "ministry", "--role", "api-client")[0] == 0
    code, token, err = bus("users", "token", "ministry", "--label", "consular app")
    assert code == 0
    secret = token.strip()
    assert secret.startswith("bus_")
    assert "shown only this once" in err
    store = open_store()
    assert store.token_principal(secret) is not None
    code, listed, _ = bus("users", "tokens")
    assert "consular app" in listed
    assert secret not in listed
    token_id = secret.split("_")[1]
    assert token_id in listed
    code, out, _ = bus("users", "list")
    assert "ministry" in out
    assert "API_CLIENT" in out
    assert "central" in out
    assert bus("users", "revoke", token_id)[0] == 0
    assert store.token_principal(secret) is None
    assert "revoked" in bus("users", "tokens", "ministry")[1]
    assert bus("users", "revoke", "nothing")[0] == 2
    assert bus("users", "disable", "ministry")[0] == 0
    assert "disabled" in bus("users", "list")[1]
    assert bus("users", "token", "ministry")[0] == 2
    assert bus("users", "disable", "nobody")[0] == 2
