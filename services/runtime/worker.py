"""A processor worker: the view runtime on a faust App, its intake process beside it, run until stopped.

One process per worker runs faust (agents, web server) and the view's core; the intake, when the view
has one, runs in a spawned process of its own (it stops by itself if the worker dies, even SIGKILLed) and
is restarted by the worker if it dies. A processor module only builds its projection and its HTTP views.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
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
    runtime: ViewRuntime[Any, Any]
    health: Health
    intake: IntakeProcess | None

    def run(self) -> None:
        """Check the store against its topic, start the intake and the faust worker; on the way out stop
        the intake, close the store.
        """
        tune_collector()
        self.runtime.check_store()
        if self.intake is not None:
            self.intake.start()
        try:
            _QuietWorker(
                self.app, loglevel="WARNING", quiet=True, redirect_stdouts=False
            ).execute_from_commandline()
        finally:
            if self.intake is not None:
                self.intake.stop()
            self.runtime.publisher.close()
            self.runtime.store.close()


def build_worker(
    settings: BusSettings,
    config: ProcessorSettings,
    projection: Projection[Any, Any],
    *,
    topics: tuple[TopicSpec, ...],
    summary: Callable[[ViewRuntime[Any, Any]], str],
    intake: IntakeSpec | None = None,
) -> Worker:
    """The worker of ``projection``: topics declared, store opened, agent, shell and intake wired."""
    create_topics(settings, topics)
    app = make_app(projection.name, settings, config)
    runtime: ViewRuntime[Any, Any] = ViewRuntime(
        settings=settings,
        projection=projection,
        store=Store.on_disk(config.datadir / "state.rocksdb"),
        publisher=ViewPublisher(settings, AvroCodec(load_registry(settings.schemas_dir)), config.source),
        batch_size=config.batch_size,
    )
    attach(app, runtime, config)
    counters = IntakeCounters() if intake is not None else None
    process = (
        IntakeProcess(settings, intake, counters) if intake is not None and counters is not None else None
    )
    health = Health(runtime, config, counters)
    register_shell(app, health, lambda: summary(runtime))
    if process is not None:

        async def watch_intake() -> None:
            process.watch()

        app.timer(interval=WATCH_INTERVAL)(watch_intake)
    return Worker(app=app, runtime=runtime, health=health, intake=process)
