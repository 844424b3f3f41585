"""``bus run``'s front door: a first central-desk account with a random password on a fresh account file,
once; the front door's line in the live summary.
"""

from __future__ import annotations

from pathlib import Path

from services.cli.run import first_user, front_door_line
from services.dashboard.accounts import Passwords, Role
from services.dashboard.settings import DashboardSettings
from services.dashboard.users import UserStore

CHEAP = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


def test_a_first_run_creates_one_central_desk_account_with_a_random_password(tmp_path: Path) -> None:
    settings = DashboardSettings(datadir=tmp_path / "dashboard", secure_cookies=False, **CHEAP)
    created = first_user(settings)
    assert created is not None
    username, password = created
    assert len(password) >= 12
    store = UserStore(settings.users_db, Passwords(time_cost=1, memory_kib=8, parallelism=1))
    account = store.check_password(username, password)
    assert account is not None
    assert (account.role, account.office) == (Role.CENTRAL_DESK, None)
    assert password.encode() not in settings.users_db.read_bytes()
    assert first_user(settings) is None  # shown once: a second run creates nothing and prints no password
    other = first_user(DashboardSettings(datadir=tmp_path / "other", **CHEAP))
    assert other is not None
    assert other[1] != password


def test_the_front_door_line_says_whether_it_answers() -> None:
    assert front_door_line("http://127.0.0.1:9") == "http://127.0.0.1:9 (starting or not answering)"
