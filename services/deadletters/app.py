"""The dead-letter figures worker (``bus deadletter worker``): the runtime with ``DeadLetterFigures``.

It reads ``bus.deadletter`` directly (no intake: every dead letter counts, nothing to decode or refuse),
on as many partitions as the topic has, and as many workers as you start: each takes its share of the
partitions, and a partition that moves to another worker is caught up there from that worker's store (or
folded from offset 0 if that worker never held it): ``bus.deadletter`` is kept forever.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from services.bus.catalogue import COMPACTED, TopicSpec
from services.bus.settings import REPO_ROOT, BusSettings
from services.deadletters.projection import FIGURES, DeadLetterFigures
from services.runtime.core import ViewRuntime
from services.runtime.settings import ProcessorSettings
from services.runtime.worker import Worker, build_worker

TOPICS = (
    TopicSpec(
        FIGURES,
        "`<reason>|<component>|<source>|<hour>|<partition>`",
        "id.go.kemlu.bus.deadletters.v1.DeadLetterCount",
        COMPACTED,
        description="refused records per reason, component, source office and hour, per partition",
    ),
)


class DeadLetterSettings(ProcessorSettings):
    """Settings of the dead-letter figures worker (prefix ``DEADLETTERS_``)."""

    model_config = SettingsConfigDict(env_prefix="DEADLETTERS_", env_file=".env", extra="ignore")

    datadir: Path = REPO_ROOT / "var" / "deadletters"
    web_port: int = 6067


def summary(runtime: ViewRuntime[object, object]) -> str:
    """One line for people: dead letters counted, on how many partitions."""
    owned = sorted(core.partition for core in runtime.owned)
    return f"{runtime.stats['applied']} dead letters counted here, partitions {owned}"


def create_worker(settings: BusSettings, config: DeadLetterSettings) -> Worker:
    """The worker, built: its topic declared, store opened, agent and shell wired."""
    return build_worker(settings, config, DeadLetterFigures(), topics=TOPICS, summary=summary)


def worker_main(settings: BusSettings, config: DeadLetterSettings) -> None:
    """Run the dead-letter figures worker until SIGINT/SIGTERM."""
    create_worker(settings, config).run()
