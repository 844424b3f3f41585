"""The registry worker (``bus registry worker``): the runtime with the registry's projection, intake, views.

Identity resolution must see every identifier in one place, hence two stages, both the runtime's:

1. the intake (``services.registry.intake``, scales with the domain topics' partitions): decode and
   validate each event (refusals go to ``bus.deadletter``), take the registry's item from it (an
   observation, or an officer decision from ``registry.decisions``) and forward it to
   ``registry.observations``;
2. the core on ``registry.observations`` (ONE partition, so one writer): the projection
   (``services.registry.projection``) resolves and folds, its changed records go to the compacted
   ``registry.citizens`` topic and its changed figures to ``registry.counts``; records, figures and the
   offset they hold up to are stored in one atomic batch.

The resolver's index is held in memory and rebuilt from ``registry.observations`` when the worker takes
the partition over. The HTTP views (``services.registry.web``) read the state and record every lookup.
"""

from __future__ import annotations

from services.bus.keys import citizen_hasher
from services.bus.settings import BusSettings
from services.registry import metrics, web
from services.registry.intake import intake_spec
from services.registry.projection import RegistryProjection
from services.registry.settings import RegistrySettings
from services.registry.topics import REGISTRY_TOPICS
from services.runtime.core import ViewRuntime
from services.runtime.credential import ServiceCredential
from services.runtime.worker import Worker, build_worker


def summary(runtime: ViewRuntime[object, object]) -> str:
    """One line for people: citizens and items applied."""
    core = runtime.core(0)
    return f"{core.store.count('records')} citizens, {core.progress} items applied"


def create_worker(settings: BusSettings, config: RegistrySettings) -> Worker:
    """The registry's worker, built: topics declared, store opened, views registered."""
    hasher = citizen_hasher(settings)
    worker = build_worker(
        settings,
        config,
        RegistryProjection(hasher, record_cache=config.record_cache),
        topics=REGISTRY_TOPICS,
        summary=summary,
        intake=intake_spec(config),
    )
    reader = web.RegistryReader(worker.runtime, hasher, ServiceCredential.load())
    metrics.CITIZENS.set_function(lambda: reader.state.columns.record_count)
    web.register(worker.app, reader)
    return worker


def worker_main(settings: BusSettings, config: RegistrySettings) -> None:
    """Run the registry worker (the intake process and the faust core) until SIGINT/SIGTERM."""
    create_worker(settings, config).run()
