"""A processor worker: the view runtime on a faust App, its intake process beside it, run until stopped.

One process per worker runs faust (agents, web server) and the view's core; the intake, when the view
has one, runs in a spawned process of its own (it stops by itself if the worker dies, even SIGKILLed) and
is restarted by the worker if it dies. A processor module only builds its projection and its HTTP views.
A processor whose view is a chain of stages, each a fold over a topic of its own (the passport service),
gives several projections: one runtime, store and agent each, in one App and one consumer group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from services.bus.catalogue import TopicSpec, create_topics
from services.bus.codec import AvroCodec
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.runtime.agents import attach
from services.runtime.collector import tune_collector
from services.runtime.core import ViewRuntime
from services.runtime.faustapp import make_app
from services.runtime.intake import IntakeCounters, IntakeProcess, IntakeSpec
from services.runtime.projection import Projection
from services.runtime.publishing import ViewPublisher
from services.runtime.settings import ProcessorSettings
from services.runtime.store import Store
from services.runtime.web import Health, register_shell

WATCH_INTERVAL = 1.0


class _QuietWorker(faust.Worker):
    """faust's worker without its terminal spinner, whose handler set the root logger to DEBUG: every
    library's debug line (kafka-python logs one per record sent) was then built and dropped, a tenth of
    the registry core's time.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """Keep the root logger at the worker's level, with no spinner handler."""
        self.spinner = None
        logger.setLevel(level)


@dataclass
class Worker:
    """Everything one worker runs, built but not started (tests drive ``runtime`` and ``app`` directly)."""

    app: Any
    runtimes: list[ViewRuntime[Any, Any]]
    health: Health
    intake: IntakeProcess | None

    @property
    def runtime(self) -> ViewRuntime[Any, Any]:
        """The first (for most processors the only) projection's runtime."""
        return self.runtimes[0]

    def run(self) -> None:
        """Check the store against its topic, start the intake and the faust worker; on the way out stop
        the intake, close the store.
        """
        tune_collector()
        for runtime in self.runtimes:
            runtime.check_store()
        if self.intake is not None:
            self.intake.start()
        try:
            _QuietWorker(
                self.app, loglevel="WARNING", quiet=True, redirect_stdouts=False
            ).execute_from_commandline()
        finally:
            if self.intake is not None:
                self.intake.stop()
            for runtime in self.runtimes:
                runtime.publisher.close()
                runtime.store.close()


def store_path(config: ProcessorSettings, index: int, projection: Projection[Any, Any]) -> Path:
    """Where a projection's store lives: ``state.rocksdb`` for a worker's first (or only) projection,
    ``state-<name>.rocksdb`` for each further stage.
    """
    return config.datadir / ("state.rocksdb" if index == 0 else f"state-{projection.name}.rocksdb")


def build_worker(
    settings: BusSettings,
    config: ProcessorSettings,
    projection: Projection[Any, Any] | Sequence[Projection[Any, Any]],
    *,
    topics: tuple[TopicSpec, ...],
    summary: Callable[[ViewRuntime[Any, Any]], str],
    intake: IntakeSpec | None = None,
    name: str | None = None,
) -> Worker:
    """The worker of ``projection`` (or of several, each on its own input topic): topics declared, stores
    opened, agents, shell and intake wired. ``name`` is the App's (consumer group's) name; the first
    projection's by default.
    """
    projections = list(projection) if isinstance(projection, Sequence) else [projection]
    create_topics(settings, topics)
    app = make_app(name or projections[0].name, settings, config)
    codec = AvroCodec(load_registry(settings.schemas_dir))
    runtimes: list[ViewRuntime[Any, Any]] = []
    for index, each in enumerate(projections):
        runtime: ViewRuntime[Any, Any] = ViewRuntime(
            settings=settings,
            projection=each,
            store=Store.on_disk(store_path(config, index, each)),
            publisher=ViewPublisher(settings, codec, config.source),
            batch_size=config.batch_size,
        )
        attach(app, runtime, config)
        runtimes.append(runtime)
    counters = IntakeCounters() if intake is not None else None
    process = (
        IntakeProcess(settings, intake, counters) if intake is not None and counters is not None else None
    )
    health = Health(runtimes, config, counters)
    register_shell(app, health, lambda: summary(runtimes[0]))
    if process is not None:

        async def watch_intake() -> None:
            process.watch()

        app.timer(interval=WATCH_INTERVAL)(watch_intake)
    return Worker(app=app, runtimes=runtimes, health=health, intake=process)
