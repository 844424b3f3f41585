"""The topic catalogue: every topic the bus owns, with its key, contents, partitions and retention.

Domain topics are the system of record: one per aggregate, holding all of its event types so that one
aggregate's events stay in order, and never expired. Their records carry the broker's clock
(``message.timestamp.type=LogAppendTime``): an auditor's "as of" is what the bus had appended by then,
which a producer's clock cannot move. View topics are compacted: the latest value per key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from services.bus.settings import BusSettings

FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
AUDIT_ANCHORS = "audit.anchors"
"""Not a domain topic although its values are bus contracts: it holds the archive's anchors, not events."""
COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000", "segment.ms": "3600000"}
APPENDED = {**FOREVER, "message.timestamp.type": "LogAppendTime"}
"""A record of history kept forever and stamped by the broker when appended (domain topics, dead letters)."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic: what its key is, what its values are, and how long Kafka keeps them."""

    name: str
    key: str
    value: str
    config: dict[str, str] = field(default_factory=dict)
    partitions: int | None = None  # None: the bus default (settings.partitions)
    description: str = ""


CATALOGUE: tuple[TopicSpec, ...] = (
    TopicSpec(
        "citizen",
        "HMAC-SHA256(citizen key, NIK) hex; without a NIK `ref:<office>:<office record ref>`",
        "id.go.kemlu.bus.citizen.v1.*",
        APPENDED,
        description="stay reports (Lapor Diri), details changed, departed, returned home",
    ),
    TopicSpec(
        "passport",
        "application id",
        "id.go.kemlu.bus.passport.v1.*",
        APPENDED,
        description="appointments and passport applications, booking to collection",
    ),
    TopicSpec(
        "passport.quotas",
        "office code",
        "id.go.kemlu.bus.passport.v1.QuotaSet",
        APPENDED,
        description="each office's daily capacity per passport service, from a given day on",
    ),
    TopicSpec(
        "protection",
        "case id",
        "id.go.kemlu.bus.protection.v1.*",
        APPENDED,
        description="hotline calls and protection cases, opening to closing",
    ),
    TopicSpec(
        "bus.deadletter",
        "the refused record's key",
        "the refused record's original bytes; dlq_* headers say why",
        APPENDED,
        partitions=3,
        description="everything a component refused, kept for inspection and re-publishing",
    ),
    TopicSpec(
        AUDIT_ANCHORS,
        "archive id",
        "id.go.kemlu.bus.audit.v1.ArchiveAnchor",
        FOREVER,
        partitions=1,
        description="each archive's manifest chain head, published by `bus archive`, checked by `bus verify`",
    ),
)


def spec(name: str) -> TopicSpec:
    """The catalogue entry of a topic by its logical name; KeyError for an unknown one."""
    for topic in CATALOGUE:
        if topic.name == name:
            return topic
    raise KeyError(name)


def domain_topics() -> tuple[str, ...]:
    """The domain topics (whose values are bus events): not the dead-letter topic, not the anchors."""
    return tuple(
        t.name for t in CATALOGUE if t.value.startswith("id.go.kemlu.bus.") and t.name != AUDIT_ANCHORS
    )


def create_topics(
    settings: BusSettings, specs: tuple[TopicSpec, ...] = CATALOGUE, admin: KafkaAdminClient | None = None
) -> list[str]:
    """Create the missing topics; existing ones are left as they are. Returns the names created."""
    own = admin is None
    client = admin or KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id=settings.client_id
    )
    try:
        existing = set(client.list_topics())
        wanted = [
            NewTopic(
                settings.topic(t.name),
                t.partitions or settings.partitions,
                settings.replication_factor,
                topic_configs=dict(t.config),
            )
            for t in specs
            if settings.topic(t.name) not in existing
        ]
        created: list[str] = []
        for topic in wanted:
            try:
                client.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                continue
        return created
    finally:
        if own:
            client.close()
