"""The protection-case view's topics: names and catalogue entries (created by the worker, idempotently)."""

from __future__ import annotations

from services.bus.catalogue import COMPACTED, FOREVER, TopicSpec
from services.contracts.protection_items import ITEMS_TOPIC
from services.contracts.protection_views import ACCESS_TOPIC, CASES_TOPIC, OVERDUE_TOPIC, STATS_TOPIC

ITEMS = ITEMS_TOPIC
CASES = CASES_TOPIC
OVERDUE = OVERDUE_TOPIC
STATS = STATS_TOPIC
ACCESS = ACCESS_TOPIC
CITIZENS = "registry.citizens"
"""The registry's golden records: read by the intake for citizen links (declared by the registry)."""

PROTECTION_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        ITEMS,
        "case id (a case event); citizen id (a citizen link, sent to every partition)",
        "id.go.kemlu.bus.protection.v1.ProtectionItem: one protection event, or one citizen link",
        FOREVER,
        description="the case view's input, one case per partition key; each partition is folded on its own",
    ),
    TopicSpec(
        CASES,
        "case id",
        "id.go.kemlu.bus.protection.v1.ProtectionCase",
        COMPACTED,
        description="every protection case as it stands, with its history and what was not applied",
    ),
    TopicSpec(
        OVERDUE,
        "case id",
        "id.go.kemlu.bus.protection.v1.CaseOverdue | CaseOverdueCleared",
        FOREVER,
        description="service-level breaches of cases and their ends, one derived id each",
    ),
    TopicSpec(
        STATS,
        "`<figure>|<dimensions>|<partition>`",
        "id.go.kemlu.bus.protection.v1.ProtectionStats",
        COMPACTED,
        description="absolute figures per partition of protection.items; readers sum over partitions",
    ),
    TopicSpec(
        ACCESS,
        "case id",
        "id.go.kemlu.bus.protection.v1.CaseAccessed",
        FOREVER,
        description="every lookup of a case that shows personal data: who asked, when, which case, why",
    ),
)
