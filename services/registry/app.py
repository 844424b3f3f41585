"""The registry processor: one worker process (``bus registry worker``) with two stages.

Identity resolution must see every identifier in one place, hence two stages:

1. ``intake`` (``services.registry.intake``, scales with the domain topics' partitions): decode and validate
   each event (refusals go to ``bus.deadletter``), take the registry's observation from it and forward it
   to ``registry.observations``. Officer decisions from ``registry.decisions`` take the same path.
2. ``core``, a faust agent on ``registry.observations`` (ONE partition, so one writer): the resolver decides
   the citizen, the fold updates the record, every changed record goes to the compacted
   ``registry.citizens`` topic and every changed figure to ``registry.counts``; records, figures and the
   offset they hold up to are written to rocksdict in one atomic batch (``services.registry.store``).

The resolver's index is held in memory and rebuilt on start from ``registry.observations`` up to the
stored progress. Both stages call the same pure functions as the audit replay and the tests.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from dataclasses import dataclass, field
from typing import Any

import faust

from services.bus.catalogue import create_topics
from services.bus.codec import AvroCodec
from services.bus.contracts import load_registry
from services.bus.faustapp import make_app
from services.bus.keys import citizen_hasher
from services.bus.settings import BusSettings
from services.registry.intake import intake_main
from services.registry.pipeline import RegistryModel
from services.registry.publishing import ViewPublisher
from services.registry.settings import RegistrySettings
from services.registry.store import RegistryStore
from services.registry.topics import OBSERVATIONS, REGISTRY_TOPICS

INTAKE_STOP_SECONDS = 15.0


@dataclass
class RegistryService:
    """The App with its topics, its store and the in-process model the agent and the views share."""

    settings: BusSettings
    config: RegistrySettings
    app: Any
    model: RegistryModel
    store: RegistryStore
    publisher: ViewPublisher
    observations: Any
    """The faust topic the core reads: ``registry.observations``."""
    index_ready: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the core changes state: one batch, one catch-up or one restore at a time."""
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "observations": 0,
            "records_published": 0,
            "next_offset": 0,
            "gaps_filled": 0,
        }
    )

    def hasher(self, value: str) -> str:
        """The pseudonym of an identifier's value (NIK, passport number), as the intake makes it."""
        return self.model.hasher(value)


def create_service(settings: BusSettings, config: RegistrySettings) -> RegistryService:
    """Build the App, declare its topics, open the store and register the agent and the views."""
    from services.registry import agents, web

    create_topics(settings, REGISTRY_TOPICS)
    app = make_app("registry", settings, datadir=config.datadir, web_port=config.web_port, store="memory://")
    store = RegistryStore(config.datadir, cache_size=config.record_cache)
    service = RegistryService(
        settings=settings,
        config=config,
        app=app,
        model=RegistryModel(hasher=citizen_hasher(settings), records=store.records),
        store=store,
        publisher=ViewPublisher(settings, AvroCodec(load_registry(settings.schemas_dir)), config.source),
        observations=app.topic(settings.topic(OBSERVATIONS), key_serializer="raw", value_serializer="raw"),
    )
    agents.register(service)
    web.register(service)
    return service


def worker_main(settings: BusSettings, config: RegistrySettings) -> None:
    """Run the registry worker (the intake process and the faust core) until SIGINT/SIGTERM."""
    service = create_service(settings, config)
    intake = multiprocessing.get_context("spawn").Process(
        target=intake_main, args=(settings, config, os.getpid()), name="registry-intake"
    )
    intake.start()
    worker = faust.Worker(service.app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        intake.terminate()
        intake.join(INTAKE_STOP_SECONDS)
        if intake.is_alive():
            intake.kill()
        service.publisher.close()
        service.store.close()
