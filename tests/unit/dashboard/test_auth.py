"""Logging in and out, session cookies, CSRF and origin checks, tokens revoked or disabled, failed-login
limits, and what the log keeps of all this (never a password, token or session id).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from services.dashboard.auth import LoginLimiter

from .conftest import BASE, OFFICE, PASSWORD, FrontDoor, make_front_door, make_settings

EVIL = "https://evil.example"


class TestLogin:
    def test_a_login_opens_a_session_with_strict_cookies(self, door: FrontDoor) -> None:
        client = door.client()
        answer = client.post("/login", json={"username": "officer", "password": PASSWORD})
        assert answer.status_code == 200
        body = answer.json()
        assert (body["username"], body["role"], body["scope"]) == ("officer", "OFFICE_OFFICER", OFFICE)
        cookies = {c.split("=", 1)[0]: c for c in answer.headers.get_list("set-cookie")}
        session, csrf = cookies["__Host-bus_session"], cookies["__Host-bus_csrf"]
        for cookie in (session, csrf):
            assert "Secure" in cookie
            assert "SameSite=strict" in cookie
            assert "Path=/" in cookie
            assert "Domain" not in cookie
        assert "HttpOnly" in session
        assert "HttpOnly" not in csrf
        assert body["csrf_token"] in csrf
        assert client.get("/api/me").json()["csrf_token"] == body["csrf_token"]

    def test_a_form_login_works_too(self, door: FrontDoor) -> None:
        answer = door.client().post("/login", data={"username": "desk", "password": PASSWORD})
        assert answer.status_code == 200
        assert answer.json()["role"] == "CENTRAL_DESK"

    def test_cookies_without_secure_for_local_http(self, tmp_path: Path) -> None:
        door = make_front_door(make_settings(tmp_path, secure_cookies=False))
        answer = door.client().post("/login", json={"username": "desk", "password": PASSWORD})
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("bus_session="))
        assert "Secure" not in cookie
        assert "HttpOnly" in cookie

    def test_each_login_is_a_new_session(self, door: FrontDoor) -> None:
        client = door.client()
        first = client.post("/login", json={"username": "desk", "password": PASSWORD})
        second = client.post("/login", json={"username": "desk", "password": PASSWORD})
        assert first.cookies["__Host-bus_session"] != second.cookies["__Host-bus_session"]

    @pytest.mark.parametrize(
        ("username", "password"),
        [("desk", "wrong password here"), ("nobody", PASSWORD), ("ministry", ""), ("ministry", PASSWORD)],
    )
    def test_one_answer_for_every_wrong_login(self, door: FrontDoor, username: str, password: str) -> None:
        answer = door.client().post("/login", json={"username": username, "password": password or "x"})
        assert answer.status_code == 401
        assert answer.json() == {"detail": "login failed"}
        assert "set-cookie" not in answer.headers

    def test_a_disabled_account_cannot_log_in(self, door: FrontDoor) -> None:
        door.store.disable("desk")
        assert (
            door.client().post("/login", json={"username": "desk", "password": PASSWORD}).status_code == 401
        )

    @pytest.mark.parametrize(
        ("body", "kind", "code"),
        [
            ("{}", "application/json", 422),
            ("not json", "application/json", 422),
            ('["desk"]', "application/json", 422),
            ('{"username": "desk", "password": "x", "extra": 1}', "application/json", 422),
            ("username=desk", "text/plain", 415),
            ("x" * 20_000, "application/json", 413),
        ],
    )
    def test_a_malformed_login_is_refused_without_echo(
        self, door: FrontDoor, body: str, kind: str, code: int
    ) -> None:
        answer = door.client().post("/login", content=body, headers={"Content-Type": kind})
        assert answer.status_code == code
        assert "desk" not in answer.text

    def test_a_login_from_another_origin_is_refused(self, door: FrontDoor) -> None:
        answer = door.client(Origin=EVIL).post("/login", json={"username": "desk", "password": PASSWORD})
        assert answer.status_code == 403
        assert "set-cookie" not in answer.headers


class TestLogout:
    def test_logout_ends_the_session(self, door: FrontDoor) -> None:
        client, csrf = door.session("desk")
        stolen = client.cookies["__Host-bus_session"]
        answer = client.post("/logout", headers={"X-CSRF-Token": csrf})
        assert answer.json() == {"ended": True}
        assert client.get("/api/me").status_code == 401
        replay = door.client()
        replay.cookies.set("__Host-bus_session", stolen)
        assert replay.get("/api/me").status_code == 401

    def test_logout_with_a_token_ends_nothing(self, door: FrontDoor) -> None:
        assert door.bearer("desk").post("/logout").json() == {"ended": False}


class TestCsrf:
    def test_a_state_change_needs_the_csrf_token(self, door: FrontDoor) -> None:
        client, csrf = door.session("desk")
        assert client.post("/logout").status_code == 403
        assert client.post("/logout", headers={"X-CSRF-Token": csrf + "x"}).status_code == 403
        assert client.get("/api/me").status_code == 200
        assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 200

    def test_a_stolen_cookie_is_refused_from_another_origin(self, door: FrontDoor) -> None:
        """Even with the right CSRF token, a session used from another origin gets nothing, not even a
        read (a browser sends Origin on cross-origin fetches and Sec-Fetch-Site on all).
        """
        client, csrf = door.session("desk")
        for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
            with capture_logs() as logs:
                assert client.post("/logout", headers={"X-CSRF-Token": csrf, **headers}).status_code == 403
                answer = client.get("/api/registry/counts", headers=headers)
            assert answer.status_code == 403
            assert "kbri" not in answer.text
            assert [e["status"] for e in logs if e["event"] == "refused"] == [403, 403]
        same = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
        assert client.get("/api/registry/counts", headers=same).status_code == 200

    def test_the_configured_public_origin_is_the_one_allowed(self, tmp_path: Path) -> None:
        door = make_front_door(make_settings(tmp_path, public_origin="https://bus.kemlu.go.id/"))
        client, _ = door.session("desk")
        assert client.get("/api/me", headers={"Origin": "https://bus.kemlu.go.id"}).status_code == 200
        assert client.get("/api/me", headers={"Origin": BASE}).status_code == 403

    def test_a_bearer_token_needs_no_csrf_token(self, door: FrontDoor) -> None:
        assert door.bearer("desk").post("/logout").status_code == 200


class TestTokens:
    def test_a_revoked_token_is_refused(self, door: FrontDoor) -> None:
        client = door.bearer("ministry")
        assert client.get("/api/me").json()["via"] == "token"
        token_id = door.tokens["ministry"].split("_")[1]
        door.store.revoke_token(token_id)
        answer = client.get("/api/me")
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")

    def test_a_disabled_account_is_refused_at_once(self, door: FrontDoor) -> None:
        client, _ = door.session("officer")
        token = door.bearer("officer")
        assert client.get("/api/me").status_code == 200
        door.store.disable("officer")
        assert client.get("/api/me").status_code == 401
        assert token.get("/api/me").status_code == 401

    @pytest.mark.parametrize(
        "header", ["Basic ZGVzazpwYXNz", "Bearer", "Bearer ", "bus_token", "Bearer bus_x_y"]
    )
    def test_malformed_or_unknown_authorization_is_refused(self, door: FrontDoor, header: str) -> None:
        assert door.client(Authorization=header).get("/api/me").status_code == 401

    def test_a_bearer_token_wins_over_a_cookie(self, door: FrontDoor) -> None:
        client, _ = door.session("desk")
        client.headers["Authorization"] = f"Bearer {door.tokens['operator']}"
        assert client.get("/api/me").json()["username"] == "operator"


class TestLimiter:
    def test_failures_per_account_and_per_address_within_the_window(self) -> None:
        now = [0.0]
        limiter = LoginLimiter(per_account=2, per_address=3, window=60, clock=lambda: now[0])
        assert limiter.retry_after("desk", "10.0.0.1") is None
        limiter.failed("desk", "10.0.0.1")
        limiter.failed("desk", "10.0.0.1")
        assert limiter.retry_after("desk", "10.0.0.2") == 60
        assert limiter.retry_after("auditor", "10.0.0.1") is None
        limiter.failed("auditor", "10.0.0.1")
        assert limiter.retry_after("operator", "10.0.0.1") == 60
        now[0] = 30.0
        assert limiter.retry_after("desk", "10.0.0.2") == 30
        now[0] = 60.0
        assert limiter.retry_after("desk", "10.0.0.1") is None

    def test_a_success_forgets_the_accounts_failures(self) -> None:
        limiter = LoginLimiter(per_account=2, per_address=10, window=60, clock=lambda: 0.0)
        limiter.failed("desk", "a")
        limiter.succeeded("desk")
        limiter.failed("desk", "a")
        assert limiter.retry_after("desk", "a") is None

    def test_too_many_failures_lock_the_account_even_with_the_right_password(self, door: FrontDoor) -> None:
        client = door.client()
        for _ in range(3):
            assert client.post("/login", json={"username": "desk", "password": "x"}).status_code == 401
        answer = client.post("/login", json={"username": "desk", "password": PASSWORD})
        assert answer.status_code == 429
        assert int(answer.headers["Retry-After"]) > 0
        assert "set-cookie" not in answer.headers

    def test_too_many_failures_from_one_address_lock_it(self, door: FrontDoor) -> None:
        client = door.client()
        for name in ("a1", "a2", "a3", "a4", "a5"):
            assert client.post("/login", json={"username": name, "password": "x"}).status_code == 401
        assert client.post("/login", json={"username": "desk", "password": PASSWORD}).status_code == 429


class TestLog:
    def test_failed_logins_are_logged_without_the_password(self, door: FrontDoor) -> None:
        secret = "hunter2-my-real-password"
        with capture_logs() as logs:
            door.client().post("/login", json={"username": "desk", "password": secret})
            door.client().post("/login", json={"username": secret, "password": secret})
            door.client().post("/login", json={"username": "desk", "password": PASSWORD})
            for _ in range(4):
                door.client().post("/login", json={"username": "desk", "password": secret})
        text = json.dumps(logs, default=str)
        for hidden in (secret, PASSWORD):
            assert hidden not in text
        refusals = [e for e in logs if e["event"] == "refused"]
        assert refusals[0]["account"] == "desk"
        assert refusals[0]["reason"] == "login failed"
        assert "unknown_account_sha256" in refusals[1]
        assert [e["status"] for e in refusals][-1] == 429
        assert any(e["event"] == "login" and e["account"] == "desk" for e in logs)

    def test_no_token_or_session_id_is_logged(self, door: FrontDoor) -> None:
        with capture_logs() as logs:
            client, csrf = door.session("desk")
            client.post("/logout")
            door.bearer("auditor").get("/api/registry/counts")
            door.client(Authorization="Bearer bus_abc_guessed").get("/api/me")
        text = json.dumps(logs, default=str)
        for secret in (door.tokens["auditor"], csrf, "bus_abc_guessed", *client.cookies.values()):
            assert secret not in text
        assert {e["status"] for e in logs if e["event"] == "refused"} == {401, 403}
