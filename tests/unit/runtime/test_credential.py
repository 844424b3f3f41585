"""The service credential: generated once into a 0600 file (two processes agree on it), or given by a
setting; a file others may read is refused; a request's header is compared with it. And the office scopes
the processors apply to the front door's office-limited accounts.
"""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.protection.scopes import case_within
from services.registry.scopes import record_within
from services.runtime.credential import ServiceCredential, ServiceCredentialSettings
from tests.unit.protection.builders import PWNI, SEOUL, TOKYO, T, Tick, ev, play


def settings(tmp_path: Path, token: str | None = None) -> ServiceCredentialSettings:
    return ServiceCredentialSettings(
        service_token=None if token is None else SecretStr(token),
        service_token_file=tmp_path / "var" / "token",
    )


class TestServiceCredential:
    def test_generated_once_readable_by_the_owner_only(self, tmp_path: Path) -> None:
        first = ServiceCredential.load(settings(tmp_path))
        path = tmp_path / "var" / "token"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(first.secret.get_secret_value()) >= 43  # 256 random bits, URL-safe
        assert ServiceCredential.load(settings(tmp_path)).secret == first.secret
        assert list(path.parent.iterdir()) == [path]  # no temporary file left behind

    def test_processes_starting_together_agree(self, tmp_path: Path) -> None:
        with ThreadPoolExecutor(8) as pool:
            secrets = {
                c.secret.get_secret_value()
                for c in pool.map(lambda _: ServiceCredential.load(settings(tmp_path)), range(16))
            }
        assert len(secrets) == 1

    def test_the_setting_wins(self, tmp_path: Path) -> None:
        credential = ServiceCredential.load(settings(tmp_path, "s3cret-from-the-setting"))
        assert credential.secret.get_secret_value() == "s3cret-from-the-setting"
        assert not (tmp_path / "var" / "token").exists()

    def test_a_file_others_may_read_is_refused(self, tmp_path: Path) -> None:
        ServiceCredential.load(settings(tmp_path))
        (tmp_path / "var" / "token").chmod(0o644)
        with pytest.raises(PermissionError, match="chmod 600"):
            ServiceCredential.load(settings(tmp_path))

    def test_admits_only_its_own_bearer_secret(self) -> None:
        credential = ServiceCredential(SecretStr("abc123"))
        assert credential.header() == {"Authorization": "Bearer abc123"}
        assert credential.admits("Bearer abc123")
        assert credential.admits("bearer abc123")
        for wrong in (None, "", "abc123", "Bearer abc1234", "Bearer abc12", "Basic abc123", "Bearer "):
            assert not credential.admits(wrong), wrong

    def test_never_shown(self) -> None:
        credential = ServiceCredential(SecretStr("abc123"))
        assert "abc123" not in repr(credential)
        assert "abc123" not in str(credential)


class TestScopes:
    def test_an_office_sees_the_cases_it_held_opened_or_handed_over(self) -> None:
        run = play(
            [
                ev(T.CASE_OPENED, "o", 0),
                ev(T.CASE_TRANSFERRED, "t", 30, office=TOKYO, to_office=SEOUL),
                Tick(60),
            ]
        )
        case = run.cases["CASE-1"].model_dump(mode="json")
        assert case["office"] == SEOUL
        assert case_within(case, SEOUL)
        assert case_within(case, TOKYO)
        assert not case_within(case, PWNI)

    def test_an_office_sees_the_citizens_it_saw_or_who_live_under_it(self) -> None:
        record = {"residence": {"country": "JP", "office": TOKYO}, "offices": [SEOUL]}
        assert record_within(record, TOKYO)
        assert record_within(record, SEOUL)
        assert not record_within(record, PWNI)
        assert not record_within({"residence": {}, "offices": []}, TOKYO)
