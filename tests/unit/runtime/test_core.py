"""The runtime's core without Kafka: a ``ViewRuntime`` whose topic is a list of records per partition, a
store in memory, a publisher and a dead-letter writer that only record what they are given.

Whatever the delivery (in order, redelivered, with gaps, before the take-over, after the topic was
recreated) and whatever fails (a record the projection cannot read or apply, the publisher, the dead-letter
writer, a restart), the stored state and the last published view of every key end equal to an oracle
computed here from the raw records, and every refused record is dead-lettered with its reason.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bus.decoder import RawRecord
from services.bus.errors import BusError, MalformedPayload
from services.bus.settings import BusSettings
from services.contracts import VIEW_MODELS
from services.contracts.registry import TOTAL_KEY, CountDimension, figure_key
from services.registry.intake import to_item
from services.registry.items import encode_item
from services.registry.mapping import citizen_record_view
from services.registry.model import RegistryModel
from services.registry.projection import RegistryProjection
from services.registry.store import RegistryState
from services.registry.topics import CITIZENS, COUNTS
from services.runtime.core import ViewRuntime
from services.runtime.projection import TICK_HEADER, PlainView, ViewRecord
from services.runtime.store import Column, PartitionStore, Store
from tests.unit.registry.builders import hasher, simulated

SETTINGS = BusSettings(topic_prefix="unit.")
INPUT = "test.words"
VIEWS = "test.tallies"
BOOM = b"boom"
"""A record the tally projection reads but cannot apply (it raises half-way through the fold)."""
BAD = b"bad"
"""A record the tally projection refuses to read (MalformedPayload)."""
TICK = b"<tick>"
"""In ``words``: a tick record (the runtime's clock) at this offset instead of a word."""
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


# --- the tally projection: records per key, and (with history) the bytes per key in memory -----------


@dataclass
class Tally:
    counts: Column[int]
    """Records applied per key, in the store."""
    lengths: dict[str, int]
    """Value bytes applied per key, in memory only: rebuilt from the history on restore."""
    ticks: Column[int]
    """How many ticks each clock time was handed over, in the store."""
    touched: set[str] = field(default_factory=set)


def counts_column(partition: PartitionStore) -> Column[int]:
    return partition.column("counts", lambda n: str(n).encode(), int, cache_size=4, counted=True)


def ticks_column(partition: PartitionStore) -> Column[int]:
    return partition.column("ticks", lambda n: str(n).encode(), int)


class TallyProjection:
    """Counts records per key. Not idempotent on purpose: a record applied twice to the stored state, or
    an apply that was not rolled back, shows in the counts.
    """

    name = "tally"
    input_topic = INPUT

    def __init__(self, *, needs_history: bool, clock: bool = False) -> None:
        self.needs_history = needs_history
        self.clock = clock

    def open(self, partition: PartitionStore) -> Tally:
        return Tally(counts_column(partition), {}, ticks_column(partition))

    def read(self, record: RawRecord) -> tuple[str, bytes] | None:
        if record.value == BAD:
            raise MalformedPayload("not a tally word")
        if record.value is None:
            return None
        return (record.key or b"").decode(), record.value

    def restore(self, state: Tally, item: tuple[str, bytes]) -> None:
        key, value = item
        if value == BOOM:
            raise RuntimeError("boom on restore")
        state.lengths[key] = state.lengths.get(key, 0) + len(value)

    def apply(self, state: Tally, item: tuple[str, bytes]) -> None:
        key, value = item
        state.counts[key] = state.counts.get(key, 0) + 1
        state.touched.add(key)
        if value == BOOM:
            raise RuntimeError("boom")  # after changing the state: only a rollback undoes it
        if self.needs_history:
            state.lengths[key] = state.lengths.get(key, 0) + len(value)

    def tick(self, state: Tally, at: datetime) -> None:
        if not self.clock:
            raise AssertionError("ticked without a clock")
        state.ticks[at.isoformat()] = state.ticks.get(at.isoformat(), 0) + 1

    def drain(self, state: Tally, as_of: datetime) -> list[ViewRecord]:  # noqa: ARG002 - no figure is dated
        views = [
            ViewRecord(
                VIEWS, key, (state.counts[key], state.lengths.get(key, 0) if self.needs_history else None)
            )
            for key in sorted(state.touched)
        ]
        state.touched = set()
        return views


# --- fakes for Kafka ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Future:
    """What the fake publisher's ``send`` returns: the message it stands for."""

    topic: str
    key: str
    view: Any


class FakePublisher:
    """Records what was sent; ``wait`` publishes it, or raises for the wait calls listed in ``fail``."""

    producer = None  # never used: the runtime is given its dead-letter writer

    def __init__(self) -> None:
        self.published: list[tuple[str, str, Any]] = []
        self.waits = 0
        self.fail: set[int] = set()

    def send(self, topic: str, key: str, view: Any, **_envelope: Any) -> Future:
        """A view sent as plain data is kept as what a reader decodes: its contract model."""
        if isinstance(view, PlainView):
            view = VIEW_MODELS[view.SCHEMA].from_avro(view.to_avro())
        return Future(topic, key, view)

    async def wait(self, futures: list[Future]) -> None:
        self.waits += 1
        if self.waits in self.fail:
            raise RuntimeError("the broker did not acknowledge")
        self.published.extend((f.topic, f.key, f.view) for f in futures)

    def last_views(self, topic: str) -> dict[str, Any]:
        """The last view published under each key of ``topic`` (what a compacted topic keeps)."""
        return {key: view for t, key, view in self.published if t == topic}


class FakeDeadLetters:
    """Records dead letters as (partition, offset, reason, message); the sends listed in ``fail`` raise."""

    topic = SETTINGS.topic(SETTINGS.deadletter_topic)

    def __init__(self) -> None:
        self.letters: list[tuple[int, int, str, str]] = []
        self.sends = 0
        self.fail: set[int] = set()

    def send(self, raw: RawRecord, error: BusError) -> None:
        self.sends += 1
        if self.sends in self.fail:
            raise RuntimeError("the dead-letter topic did not acknowledge")
        self.letters.append((raw.partition, raw.offset, error.reason, error.message))

    def offsets(self) -> list[tuple[int, str]]:
        return [(offset, reason) for _, offset, reason, _ in self.letters]


@dataclass
class LocalRuntime(ViewRuntime[Any, Any]):
    """A ViewRuntime whose input topic is ``topic_log`` (a growing list of records per partition)."""

    topic_log: dict[int, list[RawRecord]] = field(default_factory=dict)
    reads: list[tuple[int, int, int]] = field(default_factory=list)

    def end_offset(self, partition: int) -> int:
        return len(self.topic_log.get(partition, []))

    def read(self, partition: int, start: int, end: int) -> list[RawRecord]:
        """Every record of [start, end), or RuntimeError like ``read_range`` when one is missing."""
        self.reads.append((partition, start, end))
        log = self.topic_log.get(partition, [])
        if not 0 <= start <= end <= len(log):
            raise RuntimeError(f"missing offsets in [{start}, {end})")
        return log[start:end]


def make_runtime(
    projection: Any = None,
    *,
    store: Store | None = None,
    batch_size: int = 500,
    topic_log: dict[int, list[RawRecord]] | None = None,
    publisher: FakePublisher | None = None,
    deadletters: FakeDeadLetters | None = None,
) -> LocalRuntime:
    return LocalRuntime(
        settings=SETTINGS,
        projection=projection or TallyProjection(needs_history=True),
        store=store or Store.in_memory(),
        publisher=publisher or FakePublisher(),  # type: ignore[arg-type]
        batch_size=batch_size,
        deadletters=deadletters or FakeDeadLetters(),  # type: ignore[arg-type]
        topic_log={0: []} if topic_log is None else topic_log,
    )


def restarted(runtime: LocalRuntime) -> LocalRuntime:
    """A new worker process over the same stored state, topic, publisher and dead-letter topic."""
    return make_runtime(
        runtime.projection,
        store=Store(runtime.store.backend),
        batch_size=runtime.batch_size,
        topic_log=runtime.topic_log,
        publisher=runtime.publisher,  # type: ignore[arg-type]
        deadletters=runtime.deadletters,  # type: ignore[arg-type]
    )


def clock_at(offset: int) -> datetime:
    """The time of a tick at ``offset``: a minute per offset."""
    return EPOCH + timedelta(minutes=offset)


def words(*pairs: tuple[str, bytes | None], partition: int = 0, start: int = 0) -> list[RawRecord]:
    """Records (key, value) at consecutive offsets from ``start``; a TICK value makes a tick record."""
    return [
        RawRecord(
            topic=SETTINGS.topic(INPUT),
            partition=partition,
            offset=start + index,
            timestamp=int(clock_at(start + index).timestamp() * 1000) if value == TICK else 0,
            key=None if value == TICK else key.encode(),
            value=b"" if value == TICK else value,
            headers=[(TICK_HEADER, b"")] if value == TICK else [],
        )
        for index, (key, value) in enumerate(pairs)
    ]


def is_tick(record: RawRecord) -> bool:
    return any(name == TICK_HEADER for name, _ in record.headers)


def oracle(records: Iterable[RawRecord]) -> dict[str, tuple[int, int]]:
    """Per key: how many records count and their value bytes, straight from the raw records (tombstones,
    ticks, BAD and BOOM records count for nothing).
    """
    counts: Counter[str] = Counter()
    lengths: Counter[str] = Counter()
    for record in records:
        if record.value is None or record.value in {BAD, BOOM} or is_tick(record):
            continue
        key = (record.key or b"").decode()
        counts[key] += 1
        lengths[key] += len(record.value)
    return {key: (counts[key], lengths[key]) for key in counts}


def stored_counts(runtime: LocalRuntime, partition: int = 0) -> dict[str, int]:
    """The committed counts of ``partition``, read through a fresh store object (no pending, no cache)."""
    return dict(counts_column(Store(runtime.store.backend).partition(partition)).items())


def stored_ticks(runtime: LocalRuntime, partition: int = 0) -> dict[str, int]:
    """The committed tick times of ``partition``."""
    return dict(ticks_column(Store(runtime.store.backend).partition(partition)).items())


def assert_matches_oracle(runtime: LocalRuntime, records: list[RawRecord], partition: int = 0) -> None:
    """Stored counts, ticks and progress and the last published view of every key equal the oracle's."""
    expected = oracle(records)
    assert stored_counts(runtime, partition) == {key: count for key, (count, _) in expected.items()}
    ticks = [clock_at(r.offset).isoformat() for r in records if is_tick(r)]
    assert stored_ticks(runtime, partition) == (dict(Counter(ticks)) if runtime.projection.clock else {})
    assert runtime.store.partition(partition).progress == len(records)
    published = runtime.publisher.last_views(VIEWS)  # type: ignore[attr-defined]
    assert published == views_of(records, history=runtime.projection.needs_history)


def views_of(records: list[RawRecord], *, history: bool) -> dict[str, tuple[int, int | None]]:
    """The last view the oracle expects under each key: (count, bytes if the view keeps history)."""
    return {key: (count, length if history else None) for key, (count, length) in oracle(records).items()}


async def taken_over(runtime: LocalRuntime, partition: int = 0) -> Any:
    """Assign ``partition`` to the runtime and take it over; returns its core."""
    (core,) = runtime.assigned({partition})
    await core.take_over()
    return core


def arrive(runtime: LocalRuntime, records: list[RawRecord], partition: int = 0) -> None:
    """Records appended to the topic (not handed to the core)."""
    runtime.topic_log.setdefault(partition, []).extend(records)


SAMPLE = words(
    ("x", b"a"),
    ("y", b"bb"),
    ("x", b"ccc"),
    ("z", None),
    ("y", b"d"),
    ("x", b"ee"),
    ("z", b"fff"),
    ("y", b"g"),
    ("x", b"hh"),
    ("z", b"i"),
)


# --- tests ----------------------------------------------------------------------------------------


class TestDelivery:
    @pytest.mark.parametrize("needs_history", [False, True])
    def test_batches_in_order_are_applied_once(self, needs_history: bool) -> None:
        """Batches handed over in order as they arrive are applied once each, never read from the topic,
        and the stored state and published views equal the oracle.
        """
        runtime = make_runtime(TallyProjection(needs_history=needs_history), batch_size=3)

        async def scenario() -> None:
            core = await taken_over(runtime)
            for lo in range(0, len(SAMPLE), 4):
                batch = SAMPLE[lo : lo + 4]
                arrive(runtime, batch)
                await core.handle(batch)

        asyncio.run(scenario())
        assert_matches_oracle(runtime, SAMPLE)
        assert runtime.reads == []
        assert runtime.stats["applied"] == 9  # the tombstone is read as nothing to apply
        assert runtime.stats["gaps_filled"] == 0
        assert runtime.deadletters.letters == []  # type: ignore[union-attr]

    def test_a_redelivered_batch_changes_nothing(self) -> None:
        """A batch handed over again (whole, part of it, shuffled, duplicated) after it was applied stores
        nothing new, publishes nothing and reads nothing.
        """
        runtime = make_runtime(batch_size=4)
        redeliveries = [SAMPLE, SAMPLE[2:5], [SAMPLE[7], SAMPLE[1], SAMPLE[7]], list(reversed(SAMPLE))]

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, SAMPLE)
            await core.handle(SAMPLE)
            published = list(runtime.publisher.published)  # type: ignore[attr-defined]
            for batch in redeliveries:
                await core.handle(batch)
                assert runtime.publisher.published == published  # type: ignore[attr-defined]

        asyncio.run(scenario())
        assert_matches_oracle(runtime, SAMPLE)
        assert runtime.reads == []
        assert runtime.stats["applied"] == 9

    def test_a_batch_after_a_gap_makes_the_core_read_the_gap(self) -> None:
        """Records 4..6 never handed over: the core reads [4, 10) from the topic, applies each once, and a
        later batch with a hole inside it is read likewise.
        """
        runtime = make_runtime(batch_size=3)
        more = words(("x", b"j"), ("w", b"kk"), ("x", b"l"), start=len(SAMPLE))

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, SAMPLE)
            await core.handle(SAMPLE[:4])
            await core.handle(SAMPLE[7:])
            arrive(runtime, more)
            await core.handle([more[0], more[2]])

        asyncio.run(scenario())
        assert runtime.reads == [(0, 4, 10), (0, 10, 13)]
        assert runtime.stats["gaps_filled"] == 2
        assert_matches_oracle(runtime, SAMPLE + more)

    def test_records_handed_over_before_the_take_over_are_preceded_by_a_catch_up(self) -> None:
        """A batch handed to a partition not yet taken over makes the core catch up to the topic's end
        first (the batch is then below progress): every record applied once.
        """
        runtime = make_runtime(batch_size=4)

        async def scenario() -> None:
            arrive(runtime, SAMPLE)
            (core,) = runtime.assigned({0})
            await core.handle(SAMPLE[8:])
            assert core.checked
            await core.take_over()
            assert runtime.ready

        asyncio.run(scenario())
        assert runtime.reads == [(0, 0, 10)]
        assert_matches_oracle(runtime, SAMPLE)

    def test_partitions_are_applied_independently(self) -> None:
        """Two partitions of one view: each stored state is the fold of its own records only."""
        zero = SAMPLE[:6]
        one = words(("x", b"p"), ("q", b"qq"), ("x", b"r"), partition=1)
        runtime = make_runtime(batch_size=2, topic_log={0: [], 1: []})

        async def scenario() -> None:
            cores = runtime.assigned({0, 1})
            for core in cores:
                await core.take_over()
            arrive(runtime, zero, 0)
            arrive(runtime, one, 1)
            await runtime.core(1).handle(one[:2])
            await runtime.core(0).handle(zero)
            await runtime.core(1).handle(one)

        asyncio.run(scenario())
        assert stored_counts(runtime, 0) == {key: c for key, (c, _) in oracle(zero).items()}
        assert stored_counts(runtime, 1) == {key: c for key, (c, _) in oracle(one).items()}
        assert runtime.stats["applied"] == 5 + 3


class TestTakeOver:
    def test_a_take_over_catches_up_and_then_says_ready(self) -> None:
        """Assigned partitions are not ready until taken over; the take-over applies the topic in chunks
        and the runtime is ready once every owned partition is; a revoked one is no longer owned.
        """
        runtime = make_runtime(batch_size=3, topic_log={0: list(SAMPLE), 1: []})

        async def scenario() -> None:
            zero, one = runtime.assigned({0, 1})
            assert not runtime.ready
            await zero.take_over()
            assert not runtime.ready
            await one.take_over()
            assert runtime.ready
            runtime.revoked({1})
            assert [core.partition for core in runtime.owned] == [0]

        asyncio.run(scenario())
        assert_matches_oracle(runtime, SAMPLE)
        assert runtime.describe() == {
            "0": {"progress": 10, "end": 10, "lag": 0, "ready": True, "read_by": "faust"}
        }

    def test_a_restart_restores_memory_from_history_and_goes_on(self) -> None:
        """A new worker over the stored state rebuilds the in-memory part from [0, progress) (skipping what
        cannot be read or restored) and the records after it continue the fold exactly.
        """
        first = words(("x", b"a"), ("y", BAD), ("x", BOOM), ("y", b"bb"), ("x", b"ccc"))
        later = words(("x", b"dd"), ("y", b"e"), start=len(first))
        runtime = make_runtime(batch_size=2)

        async def before() -> None:
            arrive(runtime, first)
            await taken_over(runtime)

        asyncio.run(before())
        again = restarted(runtime)

        async def after() -> None:
            core = await taken_over(again)
            assert core.restored
            arrive(again, later)
            await core.handle(later)

        asyncio.run(after())
        assert again.reads == [(0, 0, 5)]
        assert_matches_oracle(again, first + later)

    def test_a_restart_does_not_restore_a_record_that_was_never_applied(self) -> None:
        """``restore`` is for items the stored state holds: after a restart, the record whose apply raised
        (dead-lettered, not in the stored state) is not restored either, so the in-memory part agrees with
        the stored one, as it does in the worker that dead-lettered it. The projection here restores any
        item it can read, as the registry's does.
        """

        class RestoresAnything(TallyProjection):
            def restore(self, state: Tally, item: tuple[str, bytes]) -> None:
                key, value = item
                state.lengths[key] = state.lengths.get(key, 0) + len(value)

        records = words(("x", b"a"), ("x", BOOM), ("x", b"b"))
        later = words(("x", b"c"), start=len(records))
        runtime = make_runtime(RestoresAnything(needs_history=True), topic_log={0: list(records)})
        asyncio.run(taken_over(runtime))
        assert runtime.publisher.last_views(VIEWS) == {"x": (2, 2)}  # type: ignore[attr-defined]
        again = restarted(runtime)

        async def after() -> None:
            core = await taken_over(again)
            arrive(again, later)
            await core.handle(later)

        asyncio.run(after())
        assert_matches_oracle(again, records + later)

    def test_a_store_ahead_of_its_topic_is_cleared_and_rebuilt(self) -> None:
        """The topic was recreated with fewer records than the store holds: a restarted worker clears the
        partition (keys of the old history included) and folds the new topic from offset 0.
        """
        old = SAMPLE + words(("old", b"o"), start=len(SAMPLE))
        new = words(("x", b"n"), ("v", b"vv"), ("x", b"nnn"))
        runtime = make_runtime(batch_size=4, topic_log={0: list(old)})
        asyncio.run(taken_over(runtime))
        assert runtime.store.partition(0).progress == len(old)
        runtime.topic_log[0] = list(new)
        again = restarted(runtime)
        asyncio.run(taken_over(again))
        assert stored_counts(again) == {"x": 2, "v": 1}
        assert again.store.partition(0).progress == len(new)
        assert again.store.partition(0).count("counts") == 2

    def test_a_rebuild_in_the_same_worker_forgets_the_old_history_poisoned_offsets(self) -> None:
        """After the topic is recreated and the partition taken over again in the same worker, a good
        record at an offset where the old history had a record that broke the projection is applied, not
        skipped as poisoned.
        """
        old = words(("x", b"a"), ("x", b"b"), ("x", BOOM), ("x", b"c"), ("x", b"d"))
        new = words(("y", b"a"), ("y", b"b"), ("y", b"c"))
        runtime = make_runtime(batch_size=10, topic_log={0: list(old)})

        async def scenario() -> None:
            await taken_over(runtime)
            runtime.topic_log[0] = list(new)
            await taken_over(runtime)

        asyncio.run(scenario())
        assert stored_counts(runtime) == {"y": 3}
        assert runtime.publisher.last_views(VIEWS)["y"] == (3, 3)  # type: ignore[attr-defined]


class TestRefusals:
    @pytest.mark.parametrize("needs_history", [False, True])
    def test_a_record_whose_apply_raises_is_dead_lettered_once_and_the_rest_applied(
        self, needs_history: bool
    ) -> None:
        """The BOOM record (which changed the state before raising) is dead-lettered once as
        PROCESSING_FAILED, the chunk is rolled back and redone without it, and the state equals the fold
        of every other record; redelivering it later does not dead-letter it again.
        """
        records = words(
            ("x", b"a"), ("y", b"bb"), ("z", b"c"), ("x", b"dd"), ("x", BOOM), ("y", b"e"), ("z", b"ff")
        )
        runtime = make_runtime(TallyProjection(needs_history=needs_history), batch_size=10)

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, records)
            await core.handle(records[:3])
            await core.handle(records[3:])
            await core.handle(records[4:5])

        asyncio.run(scenario())
        ((partition, offset, reason, message),) = runtime.deadletters.letters  # type: ignore[union-attr]
        assert (partition, offset, reason) == (0, 4, "PROCESSING_FAILED")
        assert "RuntimeError" in message
        assert_matches_oracle(runtime, records)
        assert runtime.stats["refused"] == 1
        assert runtime.stats["applied"] == 6
        assert runtime.reads == ([(0, 0, 3)] if needs_history else [])  # the restore after the rollback

    def test_a_read_refusal_is_dead_lettered_with_its_reason(self) -> None:
        """A record the projection refuses to read is dead-lettered once with the refusal's reason and
        message, and the records around it are applied without a rollback.
        """
        records = words(("x", b"a"), ("y", BAD), ("x", b"cc"), ("y", b"d"))
        runtime = make_runtime(batch_size=10)

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, records)
            await core.handle(records)
            await core.handle(records)

        asyncio.run(scenario())
        assert runtime.deadletters.letters == [(0, 1, "MALFORMED", "not a tally word")]  # type: ignore[union-attr]
        assert runtime.stats["refused"] == 1
        assert runtime.reads == []
        assert_matches_oracle(runtime, records)

    def test_each_refused_record_of_a_redone_chunk_is_dead_lettered_once(self) -> None:
        """A chunk with a record refused on read before a record whose apply raises is redone after the
        rollback: each of the two is still dead-lettered exactly once.
        """
        records = words(("x", b"a"), ("y", BAD), ("x", b"cc"), ("x", BOOM), ("y", b"d"))
        runtime = make_runtime(batch_size=10)

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, records)
            await core.handle(records)

        asyncio.run(scenario())
        assert_matches_oracle(runtime, records)
        assert runtime.deadletters.offsets() == [(1, "MALFORMED"), (3, "PROCESSING_FAILED")]  # type: ignore[union-attr]
        assert runtime.stats["refused"] == 2

    def test_a_failed_dead_letter_is_sent_again_when_the_chunk_is_retried(self) -> None:
        """If dead-lettering the record whose apply raised fails, the chunk fails with nothing stored; when
        it is handed over again, that record is dead-lettered then (it is not silently dropped) and the
        others are applied.
        """
        records = words(("x", b"a"), ("x", BOOM), ("y", b"b"))
        deadletters = FakeDeadLetters()
        deadletters.fail = {1}
        runtime = make_runtime(batch_size=10, deadletters=deadletters)

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, records)
            with pytest.raises(RuntimeError, match="dead-letter"):
                await core.handle(records)
            assert runtime.store.partition(0).progress == 0
            await core.handle(records)

        asyncio.run(scenario())
        assert_matches_oracle(runtime, records)
        assert deadletters.offsets() == [(1, "PROCESSING_FAILED")]

    def test_a_record_of_the_dead_letter_topic_is_counted_not_sent_back_there(self) -> None:
        """A refused record read from the dead-letter topic itself is not dead-lettered again (no loop):
        it is counted as refused and the records after it are applied.
        """
        loop = RawRecord(topic=FakeDeadLetters.topic, partition=0, offset=1, timestamp=0, key=b"y", value=BAD)
        records = [*words(("x", b"a")), loop, *words(("x", b"b"), start=2)]
        runtime = make_runtime(batch_size=10)

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, records)
            await core.handle(records)

        asyncio.run(scenario())
        assert runtime.deadletters.letters == []  # type: ignore[union-attr]
        assert runtime.stats["refused"] == 1
        assert_matches_oracle(runtime, records)


class TestTicks:
    SCHEDULE = (("x", b"a"), ("", TICK), ("y", b"bb"), ("", TICK), ("", TICK), ("x", b"c"), ("", TICK))

    def test_a_clocked_view_gets_each_tick_once_and_never_as_an_item(self) -> None:
        """Ticks on the input partition reach ``tick`` with their log time, each once in the stored state
        whatever the delivery (gap, redelivery, a failed publish); they are not read, applied, counted as
        applied or dead-lettered.
        """
        records = words(*self.SCHEDULE)
        publisher = FakePublisher()
        runtime = make_runtime(
            TallyProjection(needs_history=True, clock=True), batch_size=2, publisher=publisher
        )

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, records)
            await core.handle(records[:2])
            await core.handle(records[:2])
            publisher.fail = {publisher.waits + 1}
            with pytest.raises(RuntimeError, match="acknowledge"):
                await core.handle(records[2:4])
            await core.handle(records[5:])

        asyncio.run(scenario())
        assert_matches_oracle(runtime, records)
        assert stored_ticks(runtime) == {clock_at(o).isoformat(): 1 for o in (1, 3, 4, 6)}
        assert runtime.stats["applied"] == 3
        assert runtime.deadletters.letters == []  # type: ignore[union-attr]

    def test_a_view_without_a_clock_skips_ticks(self) -> None:
        """Without ``clock`` ticks are passed over: never ticked (it would raise), read or applied."""
        records = words(*self.SCHEDULE)
        runtime = make_runtime(TallyProjection(needs_history=True, clock=False), batch_size=3)

        async def scenario() -> None:
            core = await taken_over(runtime)
            arrive(runtime, records)
            await core.handle(records)

        asyncio.run(scenario())
        assert_matches_oracle(runtime, records)
        assert stored_ticks(runtime) == {}
        assert runtime.stats["applied"] == 3

    def test_ticks_are_not_restored_as_items(self) -> None:
        """A restart restores the in-memory part from the history without feeding ticks to the projection
        as items.
        """
        records = words(*self.SCHEDULE)
        runtime = make_runtime(TallyProjection(needs_history=True, clock=True), topic_log={0: records})
        asyncio.run(taken_over(runtime))
        again = restarted(runtime)
        core = asyncio.run(taken_over(again))
        assert core.state.lengths == {"x": 2, "y": 2}
        assert_matches_oracle(again, records)


class TestRollback:
    @pytest.mark.parametrize("needs_history", [False, True])
    def test_a_failed_publish_leaves_the_stored_state_as_before_the_chunk(self, needs_history: bool) -> None:
        """The publisher's wait raises on the second chunk of a batch: the first chunk stays stored, the
        second is not (neither its columns nor its progress), nothing of it is published; handing the
        batch over again applies the rest, once.
        """
        projection = TallyProjection(needs_history=needs_history)
        publisher = FakePublisher()
        runtime = make_runtime(projection, batch_size=3, publisher=publisher)

        async def scenario() -> None:
            core = await taken_over(runtime)  # an empty topic: no chunk, no wait
            arrive(runtime, SAMPLE)
            await core.handle(SAMPLE[:4])  # chunks [0,3) and [3,4): waits 1 and 2
            publisher.fail = {4}  # chunks [4,7) then [7,10): the second one fails
            with pytest.raises(RuntimeError, match="acknowledge"):
                await core.handle(SAMPLE[4:])
            assert stored_counts(runtime) == {k: c for k, (c, _) in oracle(SAMPLE[:7]).items()}
            assert runtime.store.partition(0).progress == 7
            assert not core.restored
            assert publisher.last_views(VIEWS) == views_of(SAMPLE[:7], history=needs_history)
            published = len(publisher.published)
            await core.handle(SAMPLE[4:])
            assert len(publisher.published) > published

        asyncio.run(scenario())
        assert publisher.waits == 5
        assert_matches_oracle(runtime, SAMPLE)
        assert runtime.stats["applied"] == 9

    def test_a_failed_publish_during_a_take_over_is_retried_by_the_next_take_over(self) -> None:
        """The catch-up of a take-over fails half-way on the publisher: nothing of the failed chunk is
        stored, the partition is not ready, and the next take-over finishes the job exactly.
        """
        publisher = FakePublisher()
        publisher.fail = {2}
        runtime = make_runtime(batch_size=4, publisher=publisher, topic_log={0: list(SAMPLE)})

        async def scenario() -> None:
            (core,) = runtime.assigned({0})
            with pytest.raises(RuntimeError, match="acknowledge"):
                await core.take_over()
            assert not core.ready
            assert runtime.store.partition(0).progress == 4
            await core.take_over()
            assert core.ready

        asyncio.run(scenario())
        assert_matches_oracle(runtime, SAMPLE)


# --- property: any delivery, failures and restarts converge on the oracle -----------------------------

values = st.sampled_from([b"a", b"bb", b"ccc", None, BAD, BOOM, TICK])


async def tolerant(work: Any) -> None:
    """Await ``work``; a failed publish is met again later (faust redelivers, the take-over retries),
    any other error is a failure of the test.
    """
    try:
        await work
    except RuntimeError as exc:
        if "acknowledge" not in str(exc):
            raise


async def take_over_retrying(runtime: LocalRuntime) -> Any:
    """Assign partition 0 and take it over, again while it fails (as ``agents.take_over`` does)."""
    (core,) = runtime.assigned({0})
    while not core.ready:
        await tolerant(core.take_over())
    return core


async def play(runtime: LocalRuntime, records: list[RawRecord], steps: list[tuple[Any, ...]]) -> LocalRuntime:
    """Run ``steps`` against the runtime (records arriving, batches, publisher failures, restarts);
    returns the runtime of the worker running at the end.
    """
    core = await take_over_retrying(runtime)
    for step in steps:
        log = runtime.topic_log[0]
        match step:
            case ("arrive", count):
                log.extend(records[len(log) : len(log) + count])
            case ("batch", offsets) if log:
                await tolerant(core.handle([log[offset % len(log)] for offset in offsets]))
            case ("fail-publish", later):
                runtime.publisher.fail.add(runtime.publisher.waits + later)  # type: ignore[attr-defined]
            case ("restart",):
                runtime = restarted(runtime)
                core = await take_over_retrying(runtime)
    return runtime


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    pairs=st.lists(st.tuples(st.sampled_from("xyz"), values), min_size=1, max_size=25),
    batch_size=st.integers(min_value=1, max_value=6),
    needs_history=st.booleans(),
    clock=st.booleans(),
    data=st.data(),
)
def test_any_delivery_with_failures_and_restarts_ends_equal_to_the_oracle(
    pairs, batch_size, needs_history, clock, data
) -> None:
    """Records arrive in steps; batches are shuffled, duplicated, gapped and redelivered; the publisher
    fails now and then; the worker restarts; then the last record is handed over. The stored state (ticks
    included, with a clock) and the last published views equal the oracle, every BAD and BOOM record was
    dead-lettered (with its reason), and no other record was.
    """
    records = words(*pairs)
    runtime = make_runtime(TallyProjection(needs_history=needs_history, clock=clock), batch_size=batch_size)
    steps = data.draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("arrive"), st.integers(1, 8)),
                st.tuples(st.just("batch"), st.lists(st.integers(0, 24), max_size=10)),
                st.tuples(st.just("fail-publish"), st.integers(1, 3)),
                st.tuples(st.just("restart")),
            ),
            max_size=15,
        ),
        label="steps",
    )

    async def scenario() -> LocalRuntime:
        final = await play(runtime, records, steps)
        final.publisher.fail.clear()  # type: ignore[attr-defined]
        final.topic_log[0][:] = records
        await final.core(0).handle([records[-1]])
        return final

    final = asyncio.run(scenario())
    assert_matches_oracle(final, records)
    reasons = {BAD: "MALFORMED", BOOM: "PROCESSING_FAILED"}
    refused = {(r.offset, reasons[r.value]) for r in records if r.value in reasons}
    assert set(final.deadletters.offsets()) == refused  # type: ignore[union-attr]


# --- the registry's projection through the core ------------------------------------------------------


NOT_AN_ITEM = b"{not json"


def registry_records(count: int, seed: int) -> tuple[list[Any], list[RawRecord]]:
    """Simulated events and the raw records of their items on ``registry.observations`` (one partition),
    with one record that is not an item at all.
    """
    events = simulated(seed, count)
    values = [encode_item(item) for item in (to_item(event, hasher) for event in events) if item is not None]
    values.insert(len(values) // 2, NOT_AN_ITEM)
    raws = [
        RawRecord(
            topic=SETTINGS.topic("registry.observations"),
            partition=0,
            offset=offset,
            timestamp=0,
            key=f"item-{offset}".encode(),
            value=value,
        )
        for offset, value in enumerate(values)
    ]
    return events, raws


def figures(model: RegistryModel) -> dict[str, int]:
    """The model's residence counts as figure keys (those above zero)."""
    counts = model.counts()
    found = {TOTAL_KEY: counts.abroad} if counts.abroad else {}
    found.update({figure_key(CountDimension.OFFICE, c): n for c, n in counts.by_office.items()})
    found.update({figure_key(CountDimension.COUNTRY, c): n for c, n in counts.by_country.items()})
    return found


def test_the_registry_projection_through_the_core_equals_the_in_process_model() -> None:
    """The registry driven by the core over its items (shuffled, redelivered and gapped batches, a failed
    publish, a restart that rebuilds the resolver's index from history) stores the records and figures of
    the in-process ``RegistryModel`` fold of the same events, publishes each citizen's last record and
    figure, and dead-letters the one record that is not an item.
    """
    events, raws = registry_records(160, seed=11)
    model = RegistryModel(hasher=hasher)
    model.apply_events(events)
    shuffle = random.Random(5)
    publisher = FakePublisher()
    runtime = make_runtime(
        RegistryProjection(hasher, record_cache=8), batch_size=16, publisher=publisher, topic_log={0: []}
    )

    async def first_worker() -> None:
        core = await taken_over(runtime)
        third = len(raws) // 3
        arrive(runtime, raws[:third])
        for lo in range(0, third, 20):
            batch = raws[lo : lo + 20]
            await core.handle(shuffle.sample(batch, len(batch)) + batch[:3])
        await core.handle(raws[:10])
        arrive(runtime, raws[third:])
        publisher.fail = {publisher.waits + 2}
        with pytest.raises(RuntimeError):
            await core.handle(raws[third : third + 60])
        await core.handle(raws[third + 70 : third + 80])  # a gap: read from progress

    asyncio.run(first_worker())
    again = restarted(runtime)

    async def second_worker() -> None:
        core = await taken_over(again)
        await core.handle(raws[-5:])

    asyncio.run(second_worker())
    stored = RegistryState(Store(runtime.store.backend).partition(0))
    assert stored.progress == len(raws)
    assert dict(stored.records.items()) == dict(model.records)
    assert stored.record_count == len(model.records)
    assert {key: n for key, n in stored.counts.items() if n} == figures(model)
    citizens = publisher.last_views(CITIZENS)
    for cid, record in model.records.items():
        assert citizens[cid] == citizen_record_view(cid, record)
    assert {cid for cid, view in citizens.items() if view.merged_into is None} == set(model.records)
    counts = {key: view.citizens for key, view in publisher.last_views(COUNTS).items()}
    assert {key: n for key, n in counts.items() if n} == figures(model)
    (bad,) = [raw.offset for raw in raws if raw.value == NOT_AN_ITEM]
    assert set(again.deadletters.offsets()) == {(bad, "MALFORMED")}  # type: ignore[union-attr]
