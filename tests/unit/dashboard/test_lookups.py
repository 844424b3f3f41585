"""Personal-data lookups through the front door: who asks is the proven account (never a declared header),
every lookup states a purpose, office accounts see their office's citizens and cases only, refusals hold no
personal data and are logged; the auditors' access log; the citizen's public passport status; ``/metrics``.
"""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from services.dashboard.accounts import MATRIX, Permission, Role

from .conftest import (
    APPLICATION,
    BIRTH_DATE,
    CASE,
    CITIZEN,
    CLIENTS,
    NAME,
    NIK,
    OFFICE,
    OTHER_CASE,
    OTHER_NIK,
    PASSPORT,
    PEOPLE,
    PERSONAL_MARKS,
    FrontDoor,
)

LOOKUP = "/api/registry/lookup"
WHO_REFUSES = ["processor refuses", "front door refuses"]
ROLES = {**PEOPLE, **CLIENTS}


def clean(text: str) -> bool:
    """Whether ``text`` holds none of the fakes' personal data."""
    return not any(mark in text for mark in PERSONAL_MARKS)


class TestCitizenLookup:
    @pytest.mark.parametrize("username", [*PEOPLE, *CLIENTS])
    def test_every_role(self, door: FrontDoor, username: str) -> None:
        role, office = ROLES[username]
        with capture_logs() as logs:
            answer = door.bearer(username).post(LOOKUP, json={"nik": NIK, "purpose": "CONSULAR_SERVICE"})
        if role in MATRIX[Permission.CITIZEN_LOOKUP]:
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["citizen_id"] == CITIZEN
            assert body["record"]["personal"]["full_name"] == NAME
            assert body["purpose"] == "CONSULAR_SERVICE"
            assert body["scope"] == (office or "central")
            ((kind, query, asker),) = door.personal.asked
            assert (kind, query) == ("citizen", {"nik": NIK})
            assert asker.requested_by == f"{username}/{role.value}"
            assert asker.office == (office or "kemlu-pusat")
            assert (asker.purpose, asker.scope) == ("CONSULAR_SERVICE", office)
            (lookup,) = [e for e in logs if e["event"] == "lookup"]
            assert (lookup["account"], lookup["role"], lookup["lookup"]) == (username, role.value, "nik")
        else:
            assert answer.status_code == 403
            assert clean(answer.text)
            assert door.personal.asked == []
            (refusal,) = [e for e in logs if e["event"] == "refused"]
            assert (refusal["username"], refusal["permission"]) == (username, "CITIZEN_LOOKUP")
        assert clean(json.dumps(logs, default=str))

    @pytest.mark.parametrize(
        "query", [{"nik": NIK}, {"passport_number": PASSPORT}, {"citizen_id": CITIZEN}], ids=str
    )
    def test_by_each_identifier(self, door: FrontDoor, query: dict[str, str]) -> None:
        answer = door.bearer("desk").post(LOOKUP, json={**query, "purpose": "AUDIT"})
        assert answer.status_code == 200
        assert door.personal.asked[0][1] == query

    def test_identity_is_proven_never_declared(self, door: FrontDoor) -> None:
        """Headers and body fields naming someone else change nothing: the token's account is recorded."""
        answer = door.bearer("officer").post(
            LOOKUP,
            json={"nik": NIK, "purpose": "AUDIT"},
            headers={"X-Requested-By": "someone-else", "X-Office": "kemlu-pwni"},
        )
        assert answer.status_code == 200
        asker = door.personal.asked[0][2]
        assert (asker.requested_by, asker.office) == ("officer/OFFICE_OFFICER", OFFICE)
        spoofed = door.bearer("officer").post(
            LOOKUP, json={"nik": NIK, "purpose": "AUDIT", "requested_by": "someone-else"}
        )
        assert spoofed.status_code == 422

    @pytest.mark.parametrize(
        "body",
        [{"nik": NIK}, {"purpose": "AUDIT"}, {"nik": NIK, "citizen_id": CITIZEN, "purpose": "AUDIT"}],
        ids=["no purpose", "no identifier", "two identifiers"],
    )
    def test_a_purpose_and_one_identifier_are_required(self, door: FrontDoor, body: dict[str, str]) -> None:
        answer = door.bearer("desk").post(LOOKUP, json=body)
        assert answer.status_code == 422
        assert "purpose" in answer.json()["detail"]
        assert clean(answer.text)
        assert door.personal.asked == []

    def test_only_json(self, door: FrontDoor) -> None:
        answer = door.bearer("desk").post(LOOKUP, content=f"nik={NIK}&purpose=AUDIT")
        assert answer.status_code == 415
        assert clean(answer.text)

    def test_without_credentials_nothing_is_read(self, door: FrontDoor) -> None:
        answer = door.client().post(LOOKUP, json={"nik": NIK, "purpose": "AUDIT"})
        assert answer.status_code == 401
        assert clean(answer.text)
        assert door.personal.asked == []

    def test_a_session_needs_its_csrf_token(self, door: FrontDoor) -> None:
        client, csrf = door.session("desk")
        refused = client.post(LOOKUP, json={"nik": NIK, "purpose": "AUDIT"})
        assert refused.status_code == 403
        assert door.personal.asked == []
        answer = client.post(LOOKUP, json={"nik": NIK, "purpose": "AUDIT"}, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 200
        assert door.personal.asked[0][2].requested_by == "desk/CENTRAL_DESK"

    def test_not_found(self, door: FrontDoor) -> None:
        answer = door.bearer("desk").post(LOOKUP, json={"nik": "3174055705909999", "purpose": "AUDIT"})
        assert answer.status_code == 404
        assert answer.json() == {"detail": "no such citizen"}

    def test_a_registry_down_is_503(self, door: FrontDoor) -> None:
        door.personal.down = True
        answer = door.bearer("desk").post(LOOKUP, json={"nik": NIK, "purpose": "AUDIT"})
        assert answer.status_code == 503


class TestOfficeScope:
    @pytest.mark.parametrize("username", ["officer", "tokyo-system"])
    @pytest.mark.parametrize(
        "processor_checks", [True, False], ids=["processor refuses", "front door refuses"]
    )
    def test_another_offices_citizen_is_refused(
        self, door: FrontDoor, username: str, *, processor_checks: bool
    ) -> None:
        door.personal.check_scope = processor_checks
        with capture_logs() as logs:
            answer = door.bearer(username).post(LOOKUP, json={"nik": OTHER_NIK, "purpose": "AUDIT"})
        assert answer.status_code == 403
        assert "office" in answer.json()["detail"]
        assert clean(answer.text)
        assert door.personal.asked[0][2].scope == OFFICE
        (refusal,) = [e for e in logs if e["event"] == "refused"]
        assert (refusal["username"], refusal["permission"], refusal["status"]) == (
            username,
            "CITIZEN_LOOKUP",
            403,
        )
        assert clean(json.dumps(logs, default=str))

    @pytest.mark.parametrize(
        "processor_checks", [True, False], ids=["processor refuses", "front door refuses"]
    )
    def test_another_offices_case_is_refused(self, door: FrontDoor, *, processor_checks: bool) -> None:
        door.personal.check_scope = processor_checks
        with capture_logs() as logs:
            answer = door.bearer("officer").get(
                f"/api/protection/cases/{OTHER_CASE}", params={"purpose": "AUDIT"}
            )
        assert answer.status_code == 403
        assert clean(answer.text)
        (refusal,) = [e for e in logs if e["event"] == "refused"]
        assert (refusal["username"], refusal["permission"]) == ("officer", "CASES")

    @pytest.mark.parametrize("username", ["desk", "ministry"])
    def test_central_accounts_see_every_office(self, door: FrontDoor, username: str) -> None:
        answer = door.bearer(username).post(LOOKUP, json={"nik": OTHER_NIK, "purpose": "AUDIT"})
        assert answer.status_code == 200
        assert door.personal.asked[0][2].scope is None
        case = door.bearer(username).get(f"/api/protection/cases/{OTHER_CASE}", params={"purpose": "AUDIT"})
        assert case.status_code == 200


class TestCases:
    @pytest.mark.parametrize("username", [*PEOPLE, *CLIENTS])
    def test_every_role(self, door: FrontDoor, username: str) -> None:
        role, office = ROLES[username]
        with capture_logs() as logs:
            answer = door.bearer(username).get(
                f"/api/protection/cases/{CASE}", params={"purpose": "CITIZEN_PROTECTION"}
            )
        if role in MATRIX[Permission.CASES]:
            assert answer.status_code == 200
            body = answer.json()
            assert (body["case_id"], body["purpose"]) == (CASE, "CITIZEN_PROTECTION")
            assert body["case"]["personal"]["subject"]["full_name"] == NAME
            ((kind, _, asker),) = door.personal.asked
            assert kind == "case"
            assert asker.requested_by == f"{username}/{role.value}"
            assert asker.office == (office or "kemlu-pusat")
        else:
            assert answer.status_code == 403
            assert clean(answer.text)
            (refusal,) = [e for e in logs if e["event"] == "refused"]
            assert refusal["permission"] == "CASES"
        assert clean(json.dumps(logs, default=str))

    def test_a_purpose_is_required(self, door: FrontDoor) -> None:
        answer = door.bearer("desk").get(f"/api/protection/cases/{CASE}")
        assert answer.status_code == 422
        assert door.personal.asked == []
        unknown = door.bearer("desk").get(f"/api/protection/cases/{CASE}", params={"purpose": "CURIOSITY"})
        assert unknown.status_code == 422

    def test_no_such_case(self, door: FrontDoor) -> None:
        answer = door.bearer("desk").get("/api/protection/cases/CASE-404", params={"purpose": "AUDIT"})
        assert answer.status_code == 404


class TestAccessLog:
    @pytest.mark.parametrize("username", [*PEOPLE, *CLIENTS])
    def test_auditors_only(self, door: FrontDoor, username: str) -> None:
        answer = door.bearer(username).get("/api/access-log")
        if ROLES[username][0] is Role.AUDITOR:
            assert answer.status_code == 200
            body = answer.json()
            assert body["total"] == 2
            assert [e["access_id"] for e in body["entries"]] == ["a2", "a1"]  # the newest first
            assert body["entries"][1]["requested_by"] == "officer/OFFICE_OFFICER"
        else:
            assert answer.status_code == 403
            assert "officer/OFFICE_OFFICER" not in answer.text

    def test_filters(self, door: FrontDoor) -> None:
        client = door.bearer("auditor")
        only = client.get("/api/access-log", params={"log": "protection.access"}).json()
        assert [e["case_id"] for e in only["entries"]] == [CASE]
        who = client.get("/api/access-log", params={"requested_by": "officer/OFFICE_OFFICER"}).json()
        assert [e["access_id"] for e in who["entries"]] == ["a1"]
        assert client.get("/api/access-log", params={"limit": 1}).json()["total"] == 2
        assert client.get("/api/access-log", params={"limit": 0}).status_code == 422

    def test_read_only(self, door: FrontDoor) -> None:
        assert door.bearer("auditor").post("/api/access-log").status_code == 405


class TestPassportStatus:
    PATH = f"/api/passport/applications/{APPLICATION}/status"

    def test_the_citizen_needs_no_account(self, door: FrontDoor) -> None:
        answer = door.client().get(self.PATH, headers={"X-Birth-Date": BIRTH_DATE})
        assert answer.status_code == 200
        assert answer.json()["status"] == "READY_FOR_PICKUP"

    def test_a_wrong_or_missing_birth_date(self, door: FrontDoor) -> None:
        wrong = door.client().get(self.PATH, headers={"X-Birth-Date": "1990-05-18"})
        assert wrong.status_code == 404
        assert "READY" not in wrong.text
        assert "1990-05-18" not in wrong.text
        for headers in ({}, {"X-Birth-Date": "17/05/1990"}):
            answer = door.client().get(self.PATH, headers=headers)
            assert answer.status_code == 400
            assert "17/05/1990" not in answer.text


def test_the_front_door_counts_its_lookups(door: FrontDoor) -> None:
    door.bearer("desk").post(LOOKUP, json={"nik": NIK, "purpose": "AUDIT"})
    door.bearer("desk").post(LOOKUP, json={"nik": "3174055705909999", "purpose": "AUDIT"})
    text = door.client().get("/metrics").text
    assert 'dashboard_lookups_total{kind="citizen",status="200"}' in text
    assert 'dashboard_lookups_total{kind="citizen",status="404"}' in text
    assert "dashboard_lookup_seconds_bucket" in text
    assert "bus_events_published_total" not in text
    assert clean(text)
