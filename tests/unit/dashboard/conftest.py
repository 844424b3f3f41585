"""The front door over a temporary account file, with the registry and dead-letter figures, the processors'
personal-data views and the access logs faked at the sources' boundary, and one account (with a token) of
every role.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.dashboard.accounts import Passwords, Role
from services.dashboard.app import create_app
from services.dashboard.live import attach
from services.dashboard.personal import AccessEntry, Asker, Refused
from services.dashboard.settings import DashboardSettings
from services.dashboard.sources import RegistryFigures, SourceUnavailable
from services.dashboard.users import UserStore

from .live_samples import sample_board

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


# The personal data the fakes hold: a citizen and a case of OFFICE, one of OTHER_OFFICE each, a passport
# application. None of it may appear in a refused answer or in any log.
NIK = "3174055705900001"
OTHER_NIK = "3174055705900002"
PASSPORT = "B1234567"
CITIZEN = "cit-0123456789abcdef0123"
OTHER_CITIZEN = "cit-00000000000000000bad"
CASE = "CASE-1"
OTHER_CASE = "CASE-2"
APPLICATION = "APP-1"
BIRTH_DATE = "1990-05-17"
NAME = "Siti Nurhaliza"
OTHER_NAME = "Budi Santoso"
PERSONAL_MARKS = (NIK, OTHER_NIK, PASSPORT, NAME, OTHER_NAME, BIRTH_DATE, "At the shelter")


def citizen_record(citizen_id: str, name: str, office: str) -> dict[str, Any]:
    """A ``CitizenRecord`` as the registry answers it (abridged), with a personal part."""
    return {
        "citizen_id": citizen_id,
        "status": "ABROAD",
        "residence": {"country": "JP" if office == OFFICE else "MY", "city": None, "office": office},
        "personal": {"full_name": name, "nik": NIK if citizen_id == CITIZEN else OTHER_NIK},
        "offices": [office],
    }


def case_record(case_id: str, office: str) -> dict[str, Any]:
    """A ``ProtectionCase`` as the case view answers it (abridged), held and opened by ``office``."""
    return {
        "case_id": case_id,
        "status": "OPEN",
        "office": office,
        "opened_by": office,
        "handovers": [],
        "citizen_id": CITIZEN,
        "personal": {"subject": {"full_name": NAME}, "notes": [{"text": "At the shelter."}]},
    }


@dataclass
class FakeProcessors:
    """The processors' personal-data views: each lookup asked is kept (who asks, as the front door said),
    and, like the real views, a record outside the asker's scope is refused 403 (unless ``check_scope`` is
    off: then only the front door's own check stands between the record and the account).
    """

    asked: list[tuple[str, dict[str, str], Asker]] = field(default_factory=list)
    check_scope: bool = True
    down: bool = False

    def _available(self) -> None:
        if self.down:
            raise SourceUnavailable("the registry is not reachable (URLError)")

    def citizen(self, query: dict[str, str], asker: Asker) -> dict[str, Any]:
        self._available()
        self.asked.append(("citizen", query, asker))
        records = {
            ("nik", NIK): citizen_record(CITIZEN, NAME, OFFICE),
            ("passport_number", PASSPORT): citizen_record(CITIZEN, NAME, OFFICE),
            ("citizen_id", CITIZEN): citizen_record(CITIZEN, NAME, OFFICE),
            ("nik", OTHER_NIK): citizen_record(OTHER_CITIZEN, OTHER_NAME, OTHER_OFFICE),
            ("citizen_id", OTHER_CITIZEN): citizen_record(OTHER_CITIZEN, OTHER_NAME, OTHER_OFFICE),
        }
        (key,) = query.items()
        record = records.get(key)
        if record is None:
            raise Refused(404, "no such citizen")
        if self.check_scope and asker.scope is not None and asker.scope not in record["offices"]:
            raise Refused(403, "the citizen is not within the office the account is limited to")
        return record

    def case(self, case_id: str, asker: Asker) -> dict[str, Any]:
        self._available()
        self.asked.append(("case", {"case_id": case_id}, asker))
        cases = {CASE: case_record(CASE, OFFICE), OTHER_CASE: case_record(OTHER_CASE, OTHER_OFFICE)}
        case = cases.get(case_id)
        if case is None:
            raise Refused(404, f"no case {case_id}")
        if self.check_scope and asker.scope is not None and asker.scope != case["office"]:
            raise Refused(403, "the case is not within the office the account is limited to")
        return case

    def passport_status(self, application_id: str, birth_date: str) -> dict[str, Any]:
        self._available()
        if (application_id, birth_date) != (APPLICATION, BIRTH_DATE):
            raise Refused(404, "no application with this id and birth date")
        return {
            "application_id": APPLICATION,
            "status": "READY_FOR_PICKUP",
            "office": OFFICE,
            "office_name": "KBRI Tokyo",
            "ready_from": "2026-12-01",
            "expected": False,
            "text_id": "Paspor Anda siap diambil.",
            "text_en": "Your passport is ready for pickup.",
            "bring_id": ["bukti pembayaran"],
            "bring_en": ["proof of payment"],
            "action": None,
            "booking_code": None,
            "booked_day": None,
            "queue_number": None,
            "booking_refusal": None,
        }


@dataclass
class FakeAccessLog:
    """Recorded lookups on both access topics."""

    entries_held: list[AccessEntry] = field(
        default_factory=lambda: [
            AccessEntry(
                log="registry.access",
                access_id="a1",
                requested_by="officer/OFFICE_OFFICER",
                office=OFFICE,
                accessed_at=datetime(2026, 12, 1, 10, tzinfo=UTC),
                purpose="CONSULAR_SERVICE",
                found=True,
                citizen_id=CITIZEN,
                case_id=None,
                lookup="NIK",
            ),
            AccessEntry(
                log="protection.access",
                access_id="a2",
                requested_by="desk/CENTRAL_DESK",
                office="kemlu-pusat",
                accessed_at=datetime(2026, 12, 1, 11, tzinfo=UTC),
                purpose="CITIZEN_PROTECTION",
                found=True,
                citizen_id=CITIZEN,
                case_id=CASE,
                lookup=None,
            ),
        ]
    )

    def entries(self) -> list[AccessEntry]:
        return list(self.entries_held)


@dataclass
class FrontDoor:
    """The app under test, its store, its fakes, and a bearer token per account."""

    app: FastAPI
    settings: DashboardSettings
    store: UserStore
    registry: FakeRegistry
    deadletters: FakeDeadLetters
    tokens: dict[str, str]
    personal: FakeProcessors = field(default_factory=FakeProcessors)
    access_log: FakeAccessLog = field(default_factory=FakeAccessLog)

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
    attach(app, sample_board())  # the page's figures, as the live reader would hold them
    door = FrontDoor(app, settings, store, registry, deadletters, tokens)
    app.state.personal, app.state.access_log = door.personal, door.access_log
    return door


@pytest.fixture
def door(tmp_path: Path) -> FrontDoor:
    return make_front_door(make_settings(tmp_path))
