"""Shared fixtures. The real broker is started once per session, on free ports in a temporary directory,
with the project's own launcher; integration tests fail (never skip) if it cannot start.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.kafka.launcher import KafkaCluster
from services.bus.settings import BusSettings


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """One KRaft broker for the whole run; its log tail is printed if it fails to start."""
    cluster = KafkaCluster.on_free_ports(tmp_path_factory.mktemp("kafka"), nodes=1)
    cluster.start(timeout=120)
    os.environ["BUS_TEST_BROKER_LOG"] = str(cluster.members[0].server_log)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def bus_settings(kafka: KafkaCluster) -> BusSettings:
    """Settings whose topics carry a fresh uuid prefix, so tests never see each other's data."""
    return BusSettings(
        bootstrap_servers=kafka.bootstrap_servers,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=3,
        linger_ms=1,
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
