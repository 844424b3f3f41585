"""Every test in this folder runs against the real broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.bus.catalogue import create_topics
from services.bus.settings import BusSettings
from tests.integration.registry_harness import RegistryWorker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def worker(bus_settings: BusSettings, tmp_path: Path) -> Iterator[RegistryWorker]:
    """A live registry worker on the test's own topics, stopped at the end."""
    create_topics(bus_settings)
    w = RegistryWorker.create(bus_settings, tmp_path)
    w.start()
    yield w
    w.stop()
