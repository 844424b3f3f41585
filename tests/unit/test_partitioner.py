"""The bus's partitioner gives the partition kafka-python's (and Java's) default partitioner gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2

from services.bus.partitioner import KeyPartitioner, positive_murmur2


class Cluster:
    """What a partitioner reads of the producer's metadata: one topic of ``count`` partitions."""

    def __init__(self, count: int) -> None:
        self.count = count

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        assert topic == "t"
        return set(range(self.count))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions_for_topic(topic)


def chosen(partitioner: Any, key: bytes | None, count: int) -> int:
    return int(partitioner.partition("t", key, key, None, None, Cluster(count)))


@settings(max_examples=500, deadline=None)
@given(keys=st.lists(st.binary(max_size=80), min_size=1, max_size=20), count=st.integers(1, 64))
def test_every_key_goes_where_the_default_partitioner_sends_it(keys: list[bytes], count: int) -> None:
    mine, default = KeyPartitioner(cached_keys=4), DefaultPartitioner()
    for key in keys + keys:  # asked again: from its memory, past its bound too
        assert chosen(mine, key, count) == chosen(default, key, count)
    assert len(mine.hashes) <= 4


def test_its_memory_is_bounded_and_starts_again_when_full() -> None:
    partitioner = KeyPartitioner(cached_keys=3)
    for n in range(10):
        partitioner.hash_of(str(n).encode())
        assert 1 <= len(partitioner.hashes) <= 3
    assert partitioner.hashes[b"9"] == positive_murmur2(b"9")


def test_a_record_without_a_key_goes_to_some_partition() -> None:
    assert {chosen(KeyPartitioner(), None, 6) for _ in range(200)} <= set(range(6))


@settings(max_examples=2000, deadline=None)
@given(key=st.binary(max_size=100))
def test_the_hash_is_kafkas_murmur2(key: bytes) -> None:
    """Every length (each remainder of four), every byte value, the sign bit cleared."""
    assert positive_murmur2(key) == murmur2(key) & 0x7FFFFFFF
