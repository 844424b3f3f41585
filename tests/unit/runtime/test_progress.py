"""The core's pure decisions: which records of a batch continue the stored state, when to read the topic
instead, how a take-over compares the store with the topic, and how a range is cut into chunks.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from services.runtime.progress import Start, Step, chunks, next_step, on_start

offsets = st.integers(min_value=0, max_value=40)
batches = st.lists(offsets, max_size=25)
"""Offsets as faust may hand them over: any order, repeated, with holes, below or above the progress."""


def batch_of(offsets_: list[int]) -> list[tuple[int, str]]:
    """(offset, record) pairs whose record names its offset, so a pairing mistake shows."""
    return [(offset, f"r{offset}") for offset in offsets_]


class TestNextStepExamples:
    def test_a_batch_that_continues_at_progress_is_applied_as_is(self) -> None:
        """Offsets progress, progress+1, ... are applied in order, paired with their own records."""
        assert next_step(3, batch_of([3, 4, 5])) == Step(apply=((3, "r3"), (4, "r4"), (5, "r5")))

    def test_a_redelivery_below_progress_is_dropped(self) -> None:
        """A batch entirely below progress asks for nothing: neither an apply nor a read."""
        assert next_step(10, batch_of([4, 5, 9])) == Step()

    def test_an_empty_batch_asks_for_nothing(self) -> None:
        """No records: nothing to apply and nothing to read."""
        assert next_step(0, []) == Step()

    def test_the_part_above_progress_of_an_overlapping_batch_is_applied(self) -> None:
        """A batch straddling progress applies only the offsets from progress on."""
        assert next_step(5, batch_of([3, 4, 5, 6])) == Step(apply=((5, "r5"), (6, "r6")))

    def test_shuffled_and_repeated_offsets_are_applied_once_in_order(self) -> None:
        """Order and repetitions of the batch do not matter when the offsets cover a run from progress."""
        assert next_step(2, batch_of([4, 2, 3, 3, 2, 4])) == Step(apply=((2, "r2"), (3, "r3"), (4, "r4")))

    def test_a_repeated_offset_keeps_the_last_copy(self) -> None:
        """Two copies of one offset count once: the last one handed over."""
        assert next_step(0, [(0, "first"), (0, "last")]) == Step(apply=((0, "last"),))

    def test_a_batch_starting_after_progress_asks_to_read_the_gap(self) -> None:
        """Records 3..4 were skipped: read from progress up to the batch's last offset + 1."""
        assert next_step(3, batch_of([5, 6])) == Step(read_to=7)

    def test_a_hole_inside_the_batch_asks_to_read(self) -> None:
        """A batch from progress with a hole in it is not applied partly: the whole range is read."""
        assert next_step(0, batch_of([0, 1, 3])) == Step(read_to=4)

    def test_a_hole_below_progress_does_not_matter(self) -> None:
        """Holes among offsets that are already applied are no gap."""
        assert next_step(5, batch_of([0, 2, 5, 6])) == Step(apply=((5, "r5"), (6, "r6")))


class TestNextStepProperties:
    @settings(max_examples=200)
    @given(progress=offsets, batch=batches)
    def test_a_step_applies_the_run_from_progress_or_reads_up_to_the_last_offset(self, progress, batch):
        """Either the fresh offsets are exactly progress, progress+1, ... (each once, in order, with their
        record) and are applied, or nothing is applied and the range up to the batch's last offset + 1 is
        read; with no fresh offset, the step is empty.
        """
        step = next_step(progress, batch_of(batch))
        fresh = sorted({offset for offset in batch if offset >= progress})
        if not fresh:
            assert step == Step()
        elif fresh == list(range(progress, progress + len(fresh))):
            assert step == Step(apply=tuple((offset, f"r{offset}") for offset in fresh))
        else:
            assert step == Step(read_to=max(batch) + 1)
            assert step.read_to is not None
            assert step.read_to > progress

    @settings(max_examples=200)
    @given(progress=offsets, batch=batches)
    def test_offsets_below_progress_are_never_applied(self, progress, batch):
        """Whatever the batch, every applied offset is at or above progress, and none twice."""
        applied = [offset for offset, _ in next_step(progress, batch_of(batch)).apply]
        assert all(offset >= progress for offset in applied)
        assert len(applied) == len(set(applied))

    @settings(max_examples=150)
    @given(
        progress=offsets,
        run=st.integers(min_value=1, max_value=15),
        below=st.lists(offsets, max_size=10),
        data=st.data(),
    )
    def test_any_arrangement_of_a_run_is_applied_whole(self, progress, run, below, data):
        """A permutation of progress..progress+run-1, with duplicates and stale offsets mixed in, is applied
        whole and in order: order and repetition never cause a read.
        """
        fresh = list(range(progress, progress + run))
        duplicates = data.draw(st.lists(st.sampled_from(fresh), max_size=10), label="duplicates")
        stale = [offset for offset in below if offset < progress]
        batch = data.draw(st.permutations(fresh + duplicates + stale), label="batch")
        assert next_step(progress, batch_of(batch)) == Step(apply=tuple((o, f"r{o}") for o in fresh))

    @settings(max_examples=150)
    @given(progress=offsets, batch=st.lists(offsets, min_size=1, max_size=25), data=st.data())
    def test_the_order_of_a_batch_never_changes_the_step(self, progress, batch, data):
        """next_step depends on the set of offsets handed over, not on their order."""
        shuffled = data.draw(st.permutations(batch), label="shuffled")
        assert next_step(progress, batch_of(shuffled)) == next_step(progress, batch_of(batch))


def apply_step(partition: list[str], progress: int, step: Step[str], size: int, applied: list[str]) -> int:
    """What the core does with a step, over a partition held in a list: apply the run, or read
    [progress, read_to) from the partition in chunks and apply that; returns the new progress.
    """
    if step.read_to is not None:
        for lo, hi in chunks(progress, step.read_to, size):
            applied.extend(partition[lo:hi])
            progress = hi
        return progress
    for offset, record in step.apply:
        assert offset == progress
        applied.append(record)
        progress = offset + 1
    return progress


class TestSimulatedPartition:
    @settings(max_examples=200)
    @given(
        length=st.integers(min_value=1, max_value=30),
        size=st.integers(min_value=1, max_value=7),
        data=st.data(),
    )
    def test_any_delivery_applies_every_record_once_in_order(self, length, size, data):
        """Batches shuffled, duplicated, gapped and redelivered, then the last record handed over at last:
        the records applied are exactly the partition's, each once, in order, and after every step the
        applied records are the partition's first ``progress`` ones.
        """
        partition = [f"r{offset}" for offset in range(length)]
        every_offset = st.integers(min_value=0, max_value=length - 1)
        deliveries = data.draw(st.lists(st.lists(every_offset, max_size=12), max_size=12), label="batches")
        deliveries.append([length - 1])  # faust hands the last record over in the end
        applied: list[str] = []
        progress = 0
        for offsets_ in deliveries:
            batch = [(offset, partition[offset]) for offset in offsets_]
            progress = apply_step(partition, progress, next_step(progress, batch), size, applied)
            assert applied == partition[:progress]
        assert applied == partition

    @settings(max_examples=100)
    @given(
        stored=st.integers(min_value=0, max_value=30),
        length=st.integers(min_value=0, max_value=30),
        size=st.integers(min_value=1, max_value=7),
    )
    def test_a_take_over_then_catch_up_ends_at_the_topic_end(self, stored, length, size):
        """Whatever the stored progress and the topic's end, a take-over (rebuild if ahead, then catch up in
        chunks) ends with progress at the end and the partition's records applied in order from where the
        state restarted.
        """
        partition = [f"r{offset}" for offset in range(length)]
        applied = partition[:stored] if stored <= length else [f"old{o}" for o in range(stored)]
        progress = stored
        if on_start(progress, length) is Start.REBUILD:
            applied, progress = [], 0
        step: Step[str] = Step(read_to=length) if progress < length else Step()
        progress = apply_step(partition, progress, step, size, applied)
        assert progress == length
        assert applied == partition


class TestOnStart:
    def test_a_store_behind_or_at_the_end_catches_up(self) -> None:
        """Progress at or below the topic's end: catch up from progress."""
        assert on_start(0, 0) is Start.CATCH_UP
        assert on_start(3, 10) is Start.CATCH_UP
        assert on_start(10, 10) is Start.CATCH_UP

    def test_a_store_ahead_of_the_topic_is_rebuilt(self) -> None:
        """Progress beyond the end: the topic was recreated, the state is rebuilt."""
        assert on_start(11, 10) is Start.REBUILD
        assert on_start(1, 0) is Start.REBUILD

    @given(progress=offsets, end=offsets)
    def test_rebuild_exactly_when_progress_is_past_the_end(self, progress, end):
        """REBUILD if and only if progress > end."""
        assert (on_start(progress, end) is Start.REBUILD) == (progress > end)


class TestChunks:
    def test_examples(self) -> None:
        """A range cut at multiples of size from its start, the last chunk short; empty range: none."""
        assert chunks(0, 10, 4) == [(0, 4), (4, 8), (8, 10)]
        assert chunks(3, 6, 3) == [(3, 6)]
        assert chunks(5, 5, 2) == []
        assert chunks(7, 5, 2) == []

    @settings(max_examples=200)
    @given(start=offsets, width=st.integers(min_value=-5, max_value=60), size=st.integers(1, 12))
    def test_chunks_cover_the_range_exactly(self, start, width, size):
        """The chunks are consecutive, cover [start, end) with no overlap, none empty, each at most size
        long and all but the last exactly size.
        """
        end = start + width
        cut = chunks(start, end, size)
        covered = [offset for lo, hi in cut for offset in range(lo, hi)]
        assert covered == list(range(start, end))
        assert all(0 < hi - lo <= size for lo, hi in cut)
        assert all(hi - lo == size for lo, hi in cut[:-1])
        assert all(a[1] == b[0] for a, b in itertools.pairwise(cut))
