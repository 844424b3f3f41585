"""What every faust processor shares: the App configuration.

At-least-once processing: every update is made idempotent by event id in the pure fold, not by faust; a
processor that must not lose records decodes domain topics with ``BusConsumer`` and commits explicitly
(faust commits past messages it skips after a rebalance: see ``services.runtime.intake``).
"""

from __future__ import annotations

import faust

from services.bus.settings import BusSettings
from services.runtime.settings import ProcessorSettings


def broker_urls(settings: BusSettings) -> list[str]:
    """The bootstrap servers as the ``kafka://`` URLs faust wants."""
    return [f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")]


def make_app(name: str, settings: BusSettings, config: ProcessorSettings) -> faust.App:
    """One faust App per processor, so registry, protection and passport scale and fail independently.

    faust runs the agents, the worker and its web server; it keeps no state of ours (the store is
    ``memory://`` with no tables) and its commits are not trusted (``services.runtime.core``). Static
    group membership (``consumer_group_instance_id``) lets a restarted worker take its partitions back
    at once instead of after the dead member's session timed out.
    """
    return faust.App(
        f"{settings.topic_prefix}{settings.client_id}-{name}",
        broker=broker_urls(settings),
        store="memory://",
        datadir=str(config.datadir / "faust"),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        # Batches, not a produce request per message: a view-publishing core spent a quarter of its time
        # in socket writes at faust's default of no linger.
        producer_linger=settings.linger_ms / 1000,
        producer_max_batch_size=settings.batch_size,
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=config.member_id("core"),
        broker_session_timeout=config.session_timeout,
        broker_heartbeat_interval=config.session_timeout / 4,
        broker_commit_every=1000,
        broker_commit_interval=0.5,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=config.web_port > 0,
        web_port=config.web_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        table_standby_replicas=0,
        table_cleanup_interval=3600.0,
        loghandlers=[],
    )
