"""The registry's topics: names and catalogue entries (created by the worker, idempotently)."""

from __future__ import annotations

from services.bus.catalogue import TopicSpec

OBSERVATIONS = "registry.observations"
CITIZENS = "registry.citizens"
COUNTS = "registry.counts"
ACCESS = "registry.access"
DECISIONS = "registry.decisions"

REGISTRY_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        OBSERVATIONS,
        "event id",
        "id.go.kemlu.bus.registry.v1.ResolverItem: the observation of one event, or an officer decision",
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
