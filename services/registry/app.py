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

import multiprocessing
import os
from dataclasses import dataclass
from typing import Any

import faust

from services.bus.catalogue import create_topics
from services.bus.codec import AvroCodec
from services.bus.keys import citizen_hasher
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.registry import agents, web
from services.registry.core import RegistryCore
from services.registry.intake import intake_main
from services.registry.model import RegistryModel
from services.registry.settings import RegistrySettings
from services.registry.store import RegistryStore
from services.registry.topics import OBSERVATIONS, REGISTRY_TOPICS
from services.runtime.faustapp import make_app
from services.runtime.publishing import ViewPublisher

INTAKE_STOP_SECONDS = 15.0


@dataclass(frozen=True)
class RegistryService:
    """The faust App, the core it drives and the topic it reads."""

    app: Any
    core: RegistryCore


def create_service(settings: BusSettings, config: RegistrySettings) -> RegistryService:
    """Build the core and the App, declare the topics, register the agent and the HTTP views."""
    create_topics(settings, REGISTRY_TOPICS)
    app = make_app("registry", settings, datadir=config.datadir, web_port=config.web_port, store="memory://")
    store = RegistryStore(config.datadir, cache_size=config.record_cache)
    core = RegistryCore(
        settings=settings,
        config=config,
        model=RegistryModel(hasher=citizen_hasher(settings), records=store.records),
        store=store,
        publisher=ViewPublisher(settings, AvroCodec(load_registry(settings.schemas_dir)), config.source),
    )
    observations = app.topic(settings.topic(OBSERVATIONS), key_serializer="raw", value_serializer="raw")
    agents.register(app, observations, core)
    web.register(app, core)
    return RegistryService(app=app, core=core)


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
        service.core.publisher.close()
        service.core.store.close()
