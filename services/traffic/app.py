"""The traffic worker (``bus traffic worker``): the runtime with one ``TrafficProjection`` per domain topic.

It reads ``citizen``, ``passport`` and ``protection`` directly (no intake: every record counts, nothing to
decode or refuse), three agents of one App, so one consumer group spreads every domain topic's partitions
over as many workers as are started; a partition that moves is caught up from the new owner's store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic_settings import SettingsConfigDict

from services.bus.catalogue import COMPACTED, TopicSpec
from services.bus.settings import REPO_ROOT, BusSettings
from services.runtime.core import ViewRuntime
from services.runtime.settings import ProcessorSettings
from services.runtime.worker import Worker, build_worker
from services.traffic.projection import DOMAINS, FIGURES, TrafficProjection

NAME = "traffic"
"""The processor's name: its consumer group."""

TOPICS = (
    TopicSpec(
        FIGURES,
        "`<domain>|<office>|<partition>`",
        "id.go.kemlu.bus.traffic.v1.OfficeTraffic",
        COMPACTED,
        description="records per domain topic, office and minute, per partition",
    ),
)


class TrafficSettings(ProcessorSettings):
    """Settings of the traffic worker (prefix ``TRAFFIC_``)."""

    model_config = SettingsConfigDict(env_prefix="TRAFFIC_", env_file=".env", extra="ignore")

    datadir: Path = REPO_ROOT / "var" / "traffic"
    web_port: int = 6070


def summary(runtime: ViewRuntime[Any, Any]) -> str:
    """One line for people: the first domain topic's records counted here (``/stats`` has every stage)."""
    owned = sorted(core.partition for core in runtime.owned)
    topic = runtime.projection.input_topic
    return f"{runtime.stats['applied']} {topic} records counted here, partitions {owned}"


def create_worker(settings: BusSettings, config: TrafficSettings) -> Worker:
    """The worker, built: its topic declared, stores opened, agents and shell wired."""
    projections = [TrafficProjection(domain) for domain in DOMAINS]
    return build_worker(settings, config, projections, topics=TOPICS, summary=summary, name=NAME)


def worker_main(settings: BusSettings, config: TrafficSettings) -> None:
    """Run the traffic worker until SIGINT/SIGTERM."""
    create_worker(settings, config).run()
