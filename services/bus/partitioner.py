"""The bus's partitioner: Kafka's default (murmur2 of the key, positive, modulo the partition count), as
every client of the bus computes it, with each key's hash remembered.

kafka-python hashes the key in pure Python at every send: a fifth of what sending one view cost the
registry's core, for keys (citizen ids, figure keys) that come back again and again. The partition is
the one ``DefaultPartitioner`` (and Java's ``BuiltInPartitioner``) gives; a topic of one partition
needs no hash at all.
"""

from __future__ import annotations

import random
from typing import Any

from kafka.partitioner import Partitioner
from kafka.partitioner.default import murmur2

__all__ = ["CACHED_KEYS", "KeyPartitioner", "positive_murmur2"]

CACHED_KEYS = 65_536
"""Keys whose hash is kept (about 10 MiB at most); the memory is cleared when full, never grown."""


def positive_murmur2(key: bytes) -> int:
    """Kafka's key hash as its default partitioner uses it: murmur2, sign bit cleared."""
    hashed: int = murmur2(key)
    return hashed & 0x7FFFFFFF


class KeyPartitioner(Partitioner):  # type: ignore[misc] # kafka-python ships no type hints
    """``kafka.partitioner.DefaultPartitioner`` with a bounded memory of key hashes."""

    def __init__(self, cached_keys: int = CACHED_KEYS) -> None:
        self.cached_keys = cached_keys
        self.hashes: dict[bytes, int] = {}

    def hash_of(self, key: bytes) -> int:
        """``positive_murmur2(key)``, remembered."""
        hashes = self.hashes
        known = hashes.get(key)
        if known is None:
            if len(hashes) >= self.cached_keys:
                hashes.clear()
            known = hashes[key] = positive_murmur2(key)
        return known

    def partition(  # noqa: PLR0917 - kafka-python calls it with six positional arguments
        self,
        topic: str,
        key: Any,  # noqa: ARG002 - the interface's unserialised key; the bytes decide
        serialized_key: bytes | None,
        value: Any,  # noqa: ARG002 - part of kafka-python's interface
        serialized_value: Any,  # noqa: ARG002 - part of kafka-python's interface
        cluster: Any,
    ) -> int:
        """The partition of a record of ``topic``: by its key's hash, or at random without a key."""
        if topic not in cluster.topics():
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        all_partitions = sorted(cluster.partitions_for_topic(topic))
        if serialized_key is not None:
            if len(all_partitions) == 1:
                return int(all_partitions[0])
            return int(all_partitions[self.hash_of(serialized_key) % len(all_partitions)])
        available = list(cluster.available_partitions_for_topic(topic))
        return int(random.choice(available or all_partitions))  # noqa: S311 - spreading load, no secret
