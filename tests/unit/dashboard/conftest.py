"""The front door over a temporary account file, with the registry and dead-letter figures faked at the
sources' boundary, and one account (with a token) of every role.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.dashboard.accounts import Passwords, Role
from services.dashboard.app import create_app
from services.dashboard.settings import DashboardSettings
from services.dashboard.sources import RegistryFigures, SourceUnavailable
from services.dashboard.users import UserStore

BASE = "https://testserver"
PASSWORD = "correct horse battery staple"
OFFICE = "kbri-tokyo"
OTHER_OFFICE = "kbri-kuala-lumpur"
CHEAP = Passwords(time_cost=1, memory_kib=8, parallelism=1)

# username -> (role, office); one account per role and scope
PEOPLE = {
    "desk": (Role.CENTRAL_DESK, None),
    "officer": (Role.OFFICE_OFFICER, OFFICE),
    "auditor": (Role.AUDITOR, None),
    "operator": (Role.OPERATOR, None),
}
CLIENTS = {
    "ministry": (Role.API_CLIENT, None),
    "tokyo-system": (Role.API_CLIENT, OFFICE),
}


@dataclass
class FakeRegistry:
    """The registry's counts, or SourceUnavailable when ``down``."""

    figures: RegistryFigures = field(
        default_factory=lambda: RegistryFigures(
            abroad=57, by_office={OFFICE: 40, OTHER_OFFICE: 17}, by_country={"JP": 40, "MY": 17}
        )
    )
    down: bool = False

    def counts(self) -> RegistryFigures:
        if self.down:
            raise SourceUnavailable("the registry is not reachable (URLError)")
        return self.figures


@dataclass
class FakeDeadLetters:
    """Summed dead-letter figures."""

    groups: Counter[str] = field(
        default_factory=lambda: Counter(
            {
                f"MALFORMED_PAYLOAD|registry-intake|{OFFICE}|2026-12-01T10": 3,
                f"UNKNOWN_SOURCE|protection-intake|{OTHER_OFFICE}|2026-12-01T11": 2,
            }
        )
    )

    def figures(self) -> Counter[str]:
        return Counter(self.groups)


@dataclass
class FrontDoor:
    """The app under test, its store, its fakes, and a bearer token per account."""

    app: FastAPI
    settings: DashboardSettings
    store: UserStore
    registry: FakeRegistry
    deadletters: FakeDeadLetters
    tokens: dict[str, str]

    def client(self, **headers: str) -> TestClient:
        return TestClient(self.app, base_url=BASE, headers=headers)

    def bearer(self, username: str) -> TestClient:
        return self.client(Authorization=f"Bearer {self.tokens[username]}")

    def session(self, username: str) -> tuple[TestClient, str]:
        """A client logged in as ``username``, and its CSRF token."""
        client = self.client()
        answer = client.post("/login", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return client, answer.json()["csrf_token"]


def make_settings(tmp_path: Path, **overrides: Any) -> DashboardSettings:
    return DashboardSettings(
        datadir=tmp_path / "dashboard",
        login_failures_per_account=3,
        login_failures_per_address=5,
        **overrides,
    )


def make_front_door(settings: DashboardSettings) -> FrontDoor:
    store = UserStore(settings.users_db, CHEAP)
    tokens: dict[str, str] = {}
    for username, (role, office) in PEOPLE.items():
        store.add(username, role, office=office, password=PASSWORD)
    for username, (role, office) in CLIENTS.items():
        store.add(username, role, office=office)
    for username in (*PEOPLE, *CLIENTS):
        tokens[username] = store.issue_token(username, "tests")[1]
    registry, deadletters = FakeRegistry(), FakeDeadLetters()
    app = create_app(settings, store, registry=registry, deadletters=deadletters)
    return FrontDoor(app, settings, store, registry, deadletters, tokens)


@pytest.fixture
def door(tmp_path: Path) -> FrontDoor:
    return make_front_door(make_settings(tmp_path))
