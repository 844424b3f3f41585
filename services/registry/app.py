"""The registry processor: a faust App of its own, run as its own worker (``bus registry worker``).

Two stages, for one reason: identity resolution must see every identifier in one place.

1. ``intake`` (scales with the domain topics' partitions): decode and validate each event (refusals go to
   ``bus.deadletter``), take the registry's observation from it, forward it to ``registry.observations``.
   Officer decisions from ``registry.decisions`` take the same path.
2. ``core`` on ``registry.observations`` (ONE partition, so one writer): the resolver decides the citizen,
   the fold updates the record in a rocksdict table, and every changed record goes to the compacted
   ``registry.citizens`` topic, every changed figure to ``registry.counts``.

The resolver's index is held in memory and rebuilt on start from ``registry.observations`` up to the
committed offset; records are on disk. Both stages call the same pure functions as the audit replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from services.bus.catalogue import TopicSpec, create_topics
from services.bus.codec import AvroCodec
from services.bus.contracts import load_registry
from services.bus.faustapp import make_app
from services.bus.keys import citizen_key
from services.bus.settings import BusSettings
from services.registry.pipeline import RegistryModel
from services.registry.settings import RegistrySettings
from services.registry.store import StoredRecords

OBSERVATIONS = "registry.observations"
CITIZENS = "registry.citizens"
COUNTS = "registry.counts"
ACCESS = "registry.access"
DECISIONS = "registry.decisions"

REGISTRY_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        OBSERVATIONS,
        "event id",
        "JSON: the registry's observation of one event, or an officer decision (internal)",
        {"retention.ms": "-1", "retention.bytes": "-1"},
        partitions=1,
        description="single-partition input of the identity resolver: its total order",
    ),
    TopicSpec(
        CITIZENS,
        "citizen id",
        "id.go.kemlu.bus.registry.v1.CitizenRecord",
        {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
        description="the golden record of every citizen, latest per citizen id",
    ),
    TopicSpec(
        COUNTS,
        "`abroad`, `office:<code>` or `country:<ISO>`",
        "id.go.kemlu.bus.registry.v1.OfficeCount",
        {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
        partitions=1,
        description="absolute figures of citizens abroad per office and per country",
    ),
    TopicSpec(
        ACCESS,
        "citizen id (or the access id when nothing was found)",
        "id.go.kemlu.bus.registry.v1.RecordAccessed",
        {"retention.ms": "-1", "retention.bytes": "-1"},
        description="every lookup of a person: who asked, when, which record, for what purpose",
    ),
    TopicSpec(
        DECISIONS,
        "candidate id or citizen id",
        "id.go.kemlu.bus.registry.v1.MatchConfirmed | MatchRejected | RecordSplit",
        {"retention.ms": "-1", "retention.bytes": "-1"},
        description="officers' identity decisions",
    ),
)


@dataclass
class RegistryService:
    """The App with its topics, tables and the in-process model the agents and views share."""

    settings: BusSettings
    config: RegistrySettings
    app: Any
    model: RegistryModel
    codec: AvroCodec
    topics: dict[str, Any]
    placed: Any
    counts: Any
    index_ready: bool = False
    stats: dict[str, int] = field(
        default_factory=lambda: {"observations": 0, "records_published": 0, "next_offset": 0}
    )

    def hasher(self, value: str) -> str:
        return citizen_key(value, self.settings.citizen_key.get_secret_value().encode())


def create_service(settings: BusSettings, config: RegistrySettings) -> RegistryService:
    """Build the App, declare topics and tables, and register agents and views."""
    from services.registry import agents, web

    create_topics(settings, REGISTRY_TOPICS)
    app = make_app("registry", settings, datadir=config.datadir, web_port=config.web_port)
    rocks = {"block_cache_size": 64 * 1024 * 1024, "block_cache_compressed_size": 16 * 1024 * 1024}

    def table(name: str) -> Any:
        return app.Table(name, partitions=1, options=dict(rocks))

    records = table("registry-records")
    secret = settings.citizen_key.get_secret_value().encode()
    service = RegistryService(
        settings=settings,
        config=config,
        app=app,
        model=RegistryModel(
            hasher=lambda value: citizen_key(value, secret),
            records=StoredRecords(records, cache_size=config.record_cache),
        ),
        codec=AvroCodec(load_registry(settings.schemas_dir)),
        topics={
            name: app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw")
            for name in (OBSERVATIONS, CITIZENS, COUNTS, ACCESS)
        },
        placed=table("registry-placed"),
        counts=table("registry-counts"),
    )
    agents.register(service)
    web.register(service)
    return service


def worker_main(settings: BusSettings, config: RegistrySettings) -> None:
    """Run the registry worker until SIGINT/SIGTERM."""
    service = create_service(settings, config)
    worker = faust.Worker(service.app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
