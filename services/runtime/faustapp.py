"""What every faust processor shares: the App configuration.

At-least-once processing: every update is made idempotent by event id in the pure fold, not by faust; a
processor that must not lose records decodes domain topics with ``BusConsumer`` and commits explicitly
(faust commits past messages it skips after a rebalance: see ``services.registry.intake``).
"""

from __future__ import annotations

from pathlib import Path

import faust

from services.bus.settings import BusSettings


def broker_urls(settings: BusSettings) -> list[str]:
    """The bootstrap servers as the ``kafka://`` URLs faust wants."""
    return [f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")]


def make_app(
    name: str, settings: BusSettings, *, datadir: Path, web_port: int, store: str = "rocksdb://"
) -> faust.App:
    """One faust App per service, so registry, protection and passport scale and fail independently."""
    return faust.App(
        f"{settings.topic_prefix}{settings.client_id}-{name}",
        broker=broker_urls(settings),
        store=store,
        datadir=str(datadir),
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
        broker_commit_every=1000,
        broker_commit_interval=0.5,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=web_port > 0,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        table_standby_replicas=0,
        table_cleanup_interval=3600.0,
        loghandlers=[],
    )
