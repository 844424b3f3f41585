"""Every role against every endpoint, found on the app itself (a new endpoint is covered without a new
test): 401 without credentials, 403 for a role the matrix does not grant (nothing of the data in the
answer, the refusal logged), 200 for one it does; office-scoped accounts see their office only.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from services.dashboard.accounts import MATRIX, Permission, Role
from services.dashboard.app import PUBLIC
from services.dashboard.auth import Require
from services.dashboard.lookups import PASSPORT_STATUS
from services.dashboard.page import PAGE_PATHS

from .conftest import CASE, CLIENTS, NIK, OFFICE, OTHER_OFFICE, PEOPLE, PERSONAL_MARKS, FrontDoor

# What no refused answer may hold: the fakes' office codes, countries, figures and personal data.
DATA_MARKS = (OFFICE, OTHER_OFFICE, '"JP"', "MALFORMED_PAYLOAD", "registry-intake", *PERSONAL_MARKS)

# How to ask an endpoint that needs more than its path: a request an allowed role (of any scope) gets 200 for.
EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/registry/lookup"): {"json": {"nik": NIK, "purpose": "CONSULAR_SERVICE"}},
    ("GET", "/api/protection/cases/{case_id}"): {
        "url": f"/api/protection/cases/{CASE}",
        "params": {"purpose": "CITIZEN_PROTECTION"},
    },
}


def ask(client: TestClient, method: str, path: str, headers: dict[str, str]) -> httpx2.Response:
    """``method path`` as its example says (or bare)."""
    example = EXAMPLES.get((method, path), {})
    return client.request(
        method,
        example.get("url", path),
        headers=headers,
        json=example.get("json"),
        params=example.get("params"),
    )


def guarded(door: FrontDoor) -> list[tuple[str, str, Permission]]:
    """(method, path, permission) of every route that requires a permission."""
    found = []
    for route in door.app.routes:
        if not isinstance(route, APIRoute):
            continue
        needs = [d.call.permission for d in route.dependant.dependencies if isinstance(d.call, Require)]
        found += [
            (method, route.path, permission) for method in sorted(route.methods or ()) for permission in needs
        ]
    return found


def test_every_route_but_the_public_ones_requires_exactly_one_permission(door: FrontDoor) -> None:
    # an included router would hide its routes from app.routes, and so from these tests
    assert all(
        isinstance(r, APIRoute) or getattr(r, "path", None) == "/openapi.json" for r in door.app.routes
    )
    for route in door.app.routes:
        if not isinstance(route, APIRoute) or route.path in {*PUBLIC, *PAGE_PATHS, "/login"}:
            continue
        needs = [d.call for d in route.dependant.dependencies if isinstance(d.call, Require)]
        assert len(needs) == 1, route.path
    assert {path for _, path, _ in guarded(door)} >= {
        "/api/me",
        "/api/registry/counts",
        "/api/deadletters/figures",
    }


def test_no_credentials_get_401_from_every_data_endpoint(door: FrontDoor) -> None:
    client = door.client()
    with capture_logs() as logs:
        for method, path, _ in guarded(door):
            answer = client.request(method, path)
            assert answer.status_code == 401, (method, path)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            assert not any(mark in answer.text for mark in DATA_MARKS)
    assert len([e for e in logs if e["event"] == "refused" and e["status"] == 401]) == len(guarded(door))


def test_the_public_endpoints_hold_no_data(door: FrontDoor) -> None:
    # the passport status is the citizen's own answer behind its second factor (test_lookups)
    for path in PUBLIC - {PASSPORT_STATUS}:
        answer = door.client().get(path)
        assert answer.status_code == 200
        assert not any(mark in answer.text for mark in DATA_MARKS)


def credentials(door: FrontDoor, username: str, via: str) -> tuple[TestClient, dict[str, str]]:
    if via == "token":
        return door.bearer(username), {}
    client, csrf = door.session(username)
    return client, {"X-CSRF-Token": csrf}


@pytest.mark.parametrize(
    ("username", "via"),
    [(name, "session") for name in PEOPLE] + [(name, "token") for name in (*PEOPLE, *CLIENTS)],
)
def test_every_role_against_every_endpoint(door: FrontDoor, username: str, via: str) -> None:
    role = {**PEOPLE, **CLIENTS}[username][0]
    client, headers = credentials(door, username, via)
    # logout last: it ends the session the other requests use
    for method, path, permission in sorted(guarded(door), key=lambda r: r[1] == "/logout"):
        with capture_logs() as logs:
            answer = ask(client, method, path, headers)
        if role in MATRIX[permission]:
            assert answer.status_code == 200, (role, method, path, answer.text)
        else:
            assert answer.status_code == 403, (role, method, path)
            assert answer.json() == {"detail": f"the {role.value} role may not see this"}
            assert not any(mark in answer.text for mark in DATA_MARKS)
            (refusal,) = [e for e in logs if e["event"] == "refused"]
            assert (refusal["username"], refusal["role"]) == (username, role.value)
            assert refusal["permission"] == permission.value
            assert refusal["path"] == EXAMPLES.get((method, path), {}).get("url", path)


class TestScopes:
    @pytest.mark.parametrize("username", ["officer", "tokyo-system"])
    def test_an_office_account_sees_its_own_office_only(self, door: FrontDoor, username: str) -> None:
        answer = door.bearer(username).get("/api/registry/counts").json()
        assert answer == {"scope": OFFICE, "abroad": 40, "by_office": {OFFICE: 40}, "by_country": {}}
        assert OTHER_OFFICE not in json.dumps(answer)

    def test_an_office_without_citizens_yet(self, door: FrontDoor) -> None:
        door.registry.figures.by_office.pop(OFFICE)
        answer = door.bearer("officer").get("/api/registry/counts").json()
        assert answer == {"scope": OFFICE, "abroad": 0, "by_office": {}, "by_country": {}}

    @pytest.mark.parametrize("username", ["desk", "ministry"])
    def test_central_accounts_see_every_office(self, door: FrontDoor, username: str) -> None:
        answer = door.bearer(username).get("/api/registry/counts").json()
        assert answer["scope"] == "central"
        assert answer["abroad"] == 57
        assert answer["by_office"] == {OFFICE: 40, OTHER_OFFICE: 17}
        assert answer["by_country"] == {"JP": 40, "MY": 17}


class TestViews:
    def test_deadletter_figures(self, door: FrontDoor) -> None:
        answer = door.bearer("operator").get("/api/deadletters/figures").json()
        assert answer["total"] == 5
        assert answer["by_reason"] == {"MALFORMED_PAYLOAD": 3, "UNKNOWN_SOURCE": 2}
        assert answer["groups"][0] == {
            "reason": "MALFORMED_PAYLOAD",
            "component": "registry-intake",
            "source": OFFICE,
            "hour": "2026-12-01T10",
            "count": 3,
        }
        only = door.bearer("operator").get("/api/deadletters/figures", params={"reason": "UNKNOWN_SOURCE"})
        assert only.json()["total"] == 2
        bad = door.bearer("operator").get("/api/deadletters/figures", params={"reason": "x|y"})
        assert bad.status_code == 422

    def test_a_source_down_is_503(self, door: FrontDoor) -> None:
        door.registry.down = True
        answer = door.bearer("desk").get("/api/registry/counts")
        assert answer.status_code == 503
        assert answer.json() == {"detail": "the registry is not reachable (URLError)"}

    def test_me(self, door: FrontDoor) -> None:
        answer = door.bearer("tokyo-system").get("/api/me").json()
        assert answer["role"] == Role.API_CLIENT.value
        assert answer["scope"] == OFFICE
        assert answer["via"] == "token"
        assert answer["token_id"] == door.tokens["tokyo-system"].split("_")[1]
        assert answer["csrf_token"] is None
        assert "DEADLETTER_FIGURES" not in answer["permissions"]

    def test_answers_are_never_cached(self, door: FrontDoor) -> None:
        answer = door.bearer("desk").get("/api/registry/counts")
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Frame-Options"] == "DENY"


class TestOpenApi:
    def test_every_answer_declares_exactly_its_fields(self, door: FrontDoor) -> None:
        schemas = door.app.openapi()["components"]["schemas"]
        ours = {
            name: s for name, s in schemas.items() if name not in {"HTTPValidationError", "ValidationError"}
        }
        assert {"Me", "RegistryCounts", "DeadLetterFigures", "DeadLetterGroup", "Refusal", "Health"} <= set(
            ours
        )
        for name, schema in ours.items():
            if schema.get("type") == "object":
                assert schema.get("additionalProperties") is False, name

    def test_every_data_endpoint_declares_its_credentials_and_refusals(self, door: FrontDoor) -> None:
        paths = door.app.openapi()["paths"]
        for method, path, _ in guarded(door):
            operation = paths[path][method.lower()]
            assert {next(iter(s)) for s in operation["security"]} == {"token", "session"}, path
            assert {"401", "403"} <= set(operation["responses"]), path

    def test_no_browsable_docs_are_served(self, door: FrontDoor) -> None:
        assert door.client().get("/docs").status_code == 404
        assert door.client().get("/openapi.json").status_code == 200
