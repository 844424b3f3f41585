"""Every test in this folder drives the dashboard in a real browser: Debian's chromium (installed with
apt-get when missing; no browser is downloaded by Playwright), against the real broker.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The chromium executable, installed from Debian's archive if it is not there yet."""
    if not CHROMIUM.exists():
        apt = shutil.which("apt-get")
        assert apt is not None, "chromium is missing and there is no apt-get to install it"
        subprocess.run([apt, "update"], check=True, capture_output=True, timeout=600)
        subprocess.run(
            [apt, "install", "-y", "--no-install-recommends", "chromium"],
            check=True,
            capture_output=True,
            timeout=1200,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    assert CHROMIUM.exists()
    return CHROMIUM
