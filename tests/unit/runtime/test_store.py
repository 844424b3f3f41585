"""The runtime's store, one contract for both backends: pending writes, atomic commits with the progress,
independent partitions, counted columns, scans in key order, clear, and a cache that never outlives a
discarded batch. ``StoreContract`` holds every test; ``TestRocksStore`` and ``TestMemoryStore`` run it.
"""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.runtime.store import Column, PartitionStore, Store


def encode_int(value: int) -> bytes:
    return str(value).encode()


def encode_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def numbers(partition: PartitionStore, *, cache_size: int = 0) -> Column[int]:
    """A counted column of integers."""
    return partition.column("numbers", encode_int, int, cache_size=cache_size, counted=True)


def notes(partition: PartitionStore, *, cache_size: int = 0) -> Column[Any]:
    """An uncounted column of JSON values."""
    return partition.column("notes", encode_json, json.loads, cache_size=cache_size)


def committed(store: Store, partition: int) -> dict[str, dict[str, Any]]:
    """What is stored for ``partition``, read through fresh objects (no pending batch, no cache)."""
    fresh = Store(store.backend).partition(partition)
    return {"numbers": dict(numbers(fresh).items()), "notes": dict(notes(fresh).items())}


class StoreContract:
    """Every store test; a subclass says how a store is opened and reopened on its backend."""

    def open_store(self, path: Path) -> Store:
        raise NotImplementedError

    def reopen(self, store: Store, path: Path) -> Store | None:
        """A new Store over what ``store`` wrote (``store`` is closed), or None if nothing survives a
        close (memory): the tests then check the same assertions on ``store`` itself.
        """
        raise NotImplementedError

    @pytest.fixture
    def path(self, tmp_path: Path) -> Path:
        return tmp_path / "db"

    @pytest.fixture
    def opened(self) -> Iterator[list[Store]]:
        """Every store a test opened; the last one is still open at the end and is closed."""
        stores: list[Store] = []
        yield stores
        if stores:
            stores[-1].close()

    @pytest.fixture
    def store(self, path: Path, opened: list[Store]) -> Store:
        opened.append(self.open_store(path))
        return opened[-1]

    def survivor(self, store: Store, path: Path, opened: list[Store]) -> Store:
        """The store after a close and reopen (rocks), or the same store (memory)."""
        again = self.reopen(store, path)
        if again is None:
            return store
        opened.append(again)
        return again

    # --- pending batch -----------------------------------------------------------------------------

    def test_pending_writes_are_visible_before_commit(self, store: Store) -> None:
        """Within the batch, reads, membership, iteration and len see the pending sets and deletes."""
        part = store.partition(0)
        column = numbers(part)
        column["a"] = 1
        column["b"] = 2
        assert column["a"] == 1
        assert "b" in column
        assert list(column) == ["a", "b"]
        assert len(column) == 2
        part.commit(1)
        column["c"] = 3
        del column["a"]
        assert "a" not in column
        assert column.get("a") is None
        assert list(column) == ["b", "c"]
        assert dict(column.items()) == {"b": 2, "c": 3}

    def test_nothing_is_stored_until_commit(self, store: Store) -> None:
        """Pending writes are not in the backend: not in scans, not for a fresh reader, no progress."""
        part = store.partition(0)
        numbers(part)["a"] = 1
        notes(part)["n"] = {"x": 1}
        assert list(numbers(part).scan()) == []
        assert committed(store, 0) == {"numbers": {}, "notes": {}}
        assert part.progress == 0
        assert part.count("numbers") == 0
        part.commit(7)
        assert committed(store, 0) == {"numbers": {"a": 1}, "notes": {"n": {"x": 1}}}
        assert list(numbers(part).scan()) == ["a"]

    def test_discard_forgets_the_pending_batch(self, store: Store) -> None:
        """After discard, sets and deletes of the batch are gone and the committed state shows again."""
        part = store.partition(0)
        column = numbers(part)
        column["kept"] = 1
        part.commit(1)
        column["new"] = 2
        column["kept"] = 9
        del column["kept"]
        part.discard()
        assert dict(column.items()) == {"kept": 1}
        assert "new" not in column
        part.commit(2)
        assert committed(store, 0)["numbers"] == {"kept": 1}
        assert part.count("numbers") == 1

    # --- commit ------------------------------------------------------------------------------------

    def test_commit_writes_columns_and_progress_and_they_survive_a_reopen(
        self, store: Store, path: Path, opened: list[Store]
    ) -> None:
        """After commit (and a close and reopen where the backend is on disk) both columns, the count and
        the progress are there, and what was pending at the close is not.
        """
        part = store.partition(0)
        numbers(part)["a"] = 1
        numbers(part)["b"] = 2
        notes(part)["n"] = ["x", {"y": None}]
        part.commit(42)
        numbers(part)["uncommitted"] = 3
        part.discard()
        again = self.survivor(store, path, opened)
        reopened = again.partition(0)
        assert reopened.progress == 42
        assert reopened.count("numbers") == 2
        assert dict(numbers(reopened).items()) == {"a": 1, "b": 2}
        assert dict(notes(reopened).items()) == {"n": ["x", {"y": None}]}

    def test_one_commit_is_one_backend_write_holding_columns_and_progress(self, store: Store) -> None:
        """A commit hands the backend a single write with every column's changes, the count and the progress
        (the backend makes one write all or nothing).
        """
        part = store.partition(3)
        numbers(part)["gone"] = 1
        part.commit(1)
        writes: list[tuple[dict[bytes, bytes], list[bytes], bytes | None]] = []
        real_write = store.backend.write

        def spy(puts: dict[bytes, bytes], deletes: list[bytes], clear: bytes | None = None) -> None:
            writes.append((dict(puts), list(deletes), clear))
            real_write(puts, deletes, clear)

        store.backend.write = spy  # type: ignore[method-assign]
        numbers(part)["a"] = 5
        del numbers(part)["gone"]
        notes(part)["n"] = "note"
        part.commit(2)
        ((puts, deletes, clear),) = writes
        assert clear is None
        assert len(deletes) == 1
        assert deletes[0].endswith(b"gone")
        assert any(key.endswith(b"progress") and value == b"2" for key, value in puts.items())
        assert any(b"count" in key and value == b"1" for key, value in puts.items())
        assert sum(1 for key in puts if key.endswith((b":a", b":n"))) == 2

    def test_a_commit_that_fails_stores_nothing(self, store: Store) -> None:
        """If encoding one value fails, no column, count or progress is written, and after discard the
        committed values are read again (not the failed batch's, even through the cache).
        """
        part = store.partition(0)
        cached = numbers(part, cache_size=4)
        cached["a"] = 1
        part.commit(1)
        broken = part.column("broken", encode_int, int)
        cached["a"] = 2
        cached["b"] = 3
        broken["x"] = "not a number"  # type: ignore[assignment]
        real_encode = broken.encode

        def refuse(value: int) -> bytes:
            if not isinstance(value, int):
                raise TypeError("not an int")
            return real_encode(value)

        broken.encode = refuse
        with pytest.raises(TypeError):
            part.commit(2)
        part.discard()
        assert part.progress == 1
        assert part.count("numbers") == 1
        assert committed(store, 0)["numbers"] == {"a": 1}
        assert dict(cached.items()) == {"a": 1}

    def test_progress_starts_at_zero_and_is_what_the_last_commit_said(self, store: Store) -> None:
        """A new partition's progress is 0; each commit sets it (an empty batch too)."""
        part = store.partition(0)
        assert part.progress == 0
        part.commit(5)
        assert part.progress == 5
        part.commit(9)
        assert part.progress == 9
        assert committed(store, 0) == {"numbers": {}, "notes": {}}

    # --- partitions --------------------------------------------------------------------------------

    def test_partitions_are_independent(self, store: Store) -> None:
        """Each partition has its own keys, progress and count; committing one does not write the other's
        pending batch; the same partition number gives the same object.
        """
        zero, one, ten = store.partition(0), store.partition(1), store.partition(10)
        assert store.partition(0) is zero
        numbers(zero)["k"] = 0
        numbers(one)["k"] = 1
        numbers(ten)["k"] = 10
        numbers(ten)["only-ten"] = 10
        zero.commit(3)
        assert committed(store, 1)["numbers"] == {}
        assert one.progress == 0
        one.commit(8)
        ten.commit(100)
        assert (zero.progress, one.progress, ten.progress) == (3, 8, 100)
        assert committed(store, 0)["numbers"] == {"k": 0}
        assert committed(store, 1)["numbers"] == {"k": 1}
        assert committed(store, 10)["numbers"] == {"k": 10, "only-ten": 10}
        assert (zero.count("numbers"), one.count("numbers"), ten.count("numbers")) == (1, 1, 2)

    def test_clear_of_one_partition_leaves_the_others(
        self, store: Store, path: Path, opened: list[Store]
    ) -> None:
        """Clear deletes every column, count and the progress of its partition (and its pending batch),
        and nothing of another partition; it holds after a reopen.
        """
        zero, one = store.partition(0), store.partition(1)
        for part, progress in ((zero, 5), (one, 6)):
            numbers(part)["a"] = progress
            notes(part)["n"] = progress
            part.commit(progress)
        numbers(zero)["pending"] = 1
        zero.clear()
        assert "pending" not in numbers(zero)
        again = self.survivor(store, path, opened)
        zero, one = again.partition(0), again.partition(1)
        assert zero.progress == 0
        assert zero.count("numbers") == 0
        assert committed(again, 0) == {"numbers": {}, "notes": {}}
        assert one.progress == 6
        assert one.count("numbers") == 1
        assert committed(again, 1) == {"numbers": {"a": 6}, "notes": {"n": 6}}

    def test_a_cleared_partition_starts_over(self, store: Store) -> None:
        """After clear, writes and commits start from nothing: the count does not remember old keys."""
        part = store.partition(2)
        numbers(part)["a"] = 1
        numbers(part)["b"] = 2
        part.commit(2)
        part.clear()
        numbers(part)["b"] = 3
        part.commit(1)
        assert part.count("numbers") == 1
        assert committed(store, 2)["numbers"] == {"b": 3}

    # --- counted columns ---------------------------------------------------------------------------

    def test_counted_column_counts_keys_not_writes(self, store: Store) -> None:
        """Rewriting a key (in one batch or across batches) does not count it again; deletes decrement;
        a key added and deleted in one batch counts nothing; deleting a missing key raises KeyError.
        """
        part = store.partition(0)
        column = numbers(part)
        column["a"] = 1
        column["a"] = 2
        part.commit(1)
        assert part.count("numbers") == 1
        for progress in (2, 3):
            column["a"] = progress
            column["b"] = progress
            part.commit(progress)
        assert part.count("numbers") == 2
        column["temp"] = 1
        del column["temp"]
        del column["a"]
        column["b"] = 0
        part.commit(4)
        assert part.count("numbers") == 1
        del column["b"]
        column["b"] = 5
        part.commit(5)
        assert part.count("numbers") == 1
        with pytest.raises(KeyError):
            del column["a"]
        del column["b"]
        with pytest.raises(KeyError):
            del column["b"]
        part.commit(6)
        assert part.count("numbers") == 0
        assert committed(store, 0)["numbers"] == {}

    def test_an_uncounted_column_has_no_count(self, store: Store) -> None:
        """Only columns declared counted keep a count."""
        part = store.partition(0)
        notes(part)["a"] = 1
        part.commit(1)
        assert part.count("notes") == 0

    # --- order -------------------------------------------------------------------------------------

    def test_scan_and_iteration_are_in_key_order(self, store: Store) -> None:
        """Keys come back sorted whatever the write order (prefixes, non-ASCII text included), scan shows
        the committed keys only, iteration the pending batch too; other columns and partitions never show.
        """
        keys = ["b", "a:b", "ab", "a", "", "z", "é", "日本", "a/b", "0", "A"]
        part = store.partition(0)
        column = numbers(part)
        for index, key in enumerate(keys):
            column[key] = index
        notes(part)["aa"] = 1
        numbers(store.partition(1))["aa"] = 1
        part.commit(1)
        store.partition(1).commit(1)
        assert list(column.scan()) == sorted(keys)
        column["c"] = 99
        del column["b"]
        assert list(column.scan()) == sorted(keys)
        assert list(column) == sorted({*keys, "c"} - {"b"})

    # --- cache -------------------------------------------------------------------------------------

    def test_the_cache_never_serves_a_value_of_a_discarded_batch(self, store: Store) -> None:
        """Whatever was read, written or deleted in a batch that is discarded, reads afterwards give the
        committed values, with the cache in use (and bounded).
        """
        part = store.partition(0)
        column = notes(part, cache_size=2)
        column["a"] = {"v": 1}
        column["b"] = {"v": 1}
        column["c"] = {"v": 1}
        part.commit(1)
        assert len(column.cache) <= 2
        assert column["a"] == {"v": 1}
        column["a"] = {"v": 2}
        assert column["a"] == {"v": 2}
        del column["b"]
        column["new"] = {"v": 2}
        part.discard()
        assert column["a"] == {"v": 1}
        assert column["b"] == {"v": 1}
        assert "new" not in column
        assert column["a"] == {"v": 1}  # now from the cache
        column["a"] = {"v": 3}
        part.commit(2)
        column["a"] = {"v": 4}
        part.discard()
        assert column["a"] == {"v": 3}
        assert len(column.cache) <= 2

    def test_a_value_read_through_the_cache_is_the_committed_one_after_clear(self, store: Store) -> None:
        """A value cached before a clear is not served after it."""
        part = store.partition(0)
        column = notes(part, cache_size=8)
        column["a"] = 1
        part.commit(1)
        assert column["a"] == 1
        part.clear()
        assert "a" not in column
        with pytest.raises(KeyError):
            column["a"]

    # --- model-based -------------------------------------------------------------------------------

    # Both subclasses run this one test on their own backend: sharing its example database only means an
    # example that fails on one backend is replayed on the other too, which is what a contract wants.
    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    @given(
        operations=st.lists(
            st.one_of(
                st.tuples(
                    st.just("set"),
                    st.sampled_from([0, 1]),
                    st.sampled_from(["numbers", "notes"]),
                    st.sampled_from("abcd"),
                    st.integers(0, 9),
                ),
                st.tuples(
                    st.just("delete"),
                    st.sampled_from([0, 1]),
                    st.sampled_from(["numbers", "notes"]),
                    st.sampled_from("abcd"),
                ),
                st.tuples(st.just("commit"), st.sampled_from([0, 1])),
                st.tuples(st.just("discard"), st.sampled_from([0, 1])),
                st.tuples(st.just("clear"), st.sampled_from([0, 1])),
                st.tuples(st.just("reopen")),
            ),
            max_size=40,
        )
    )
    def test_random_operations_match_a_dict_model(self, operations) -> None:
        """Any sequence of sets, deletes, commits, discards, clears and reopens on two partitions leaves
        the store equal to a plain-dict model: reads see committed plus pending, the backend holds exactly
        the committed state, the counts and the progress are the model's.
        """
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "db"
            opened = [self.open_store(path)]
            try:
                self.run_model(opened, path, operations)
            finally:
                opened[-1].close()

    def run_model(self, opened: list[Store], path: Path, operations: list[tuple[Any, ...]]) -> None:
        model = DictModel()
        for operation in operations:
            if operation[0] in {"set", "delete"}:
                edit(opened[-1], model, operation)
            else:
                self.end_batch(opened, path, model, operation)
            model.check(opened[-1])

    def end_batch(
        self, opened: list[Store], path: Path, model: DictModel, operation: tuple[Any, ...]
    ) -> None:
        """Commit, discard, clear or reopen, on the store and on the model."""
        store = opened[-1]
        match operation:
            case ("commit", partition):
                for name in COLUMNS:
                    column_of(store, partition, name)  # a commit writes the columns it knows
                store.partition(partition).commit(model.commit(partition))
            case ("discard", partition):
                store.partition(partition).discard()
                model.discard(partition)
            case ("clear", partition):
                store.partition(partition).clear()
                model.clear(partition)
            case ("reopen",):
                for partition in PARTITIONS:
                    store.partition(partition).discard()
                    model.discard(partition)
                again = self.reopen(store, path)
                if again is not None:
                    opened.append(again)


def edit(store: Store, model: DictModel, operation: tuple[Any, ...]) -> None:
    """A set or a delete, on the store and on the model (a delete of a missing key raises KeyError)."""
    match operation:
        case ("set", partition, name, key, value):
            column_of(store, partition, name)[key] = value
            model.pending[partition][name][key] = value
        case ("delete", partition, name, key) if key in model.visible(partition, name):
            del column_of(store, partition, name)[key]
            model.pending[partition][name][key] = GONE
        case ("delete", partition, name, key):
            with pytest.raises(KeyError):
                del column_of(store, partition, name)[key]


PARTITIONS = (0, 1)
COLUMNS = ("numbers", "notes")
GONE = object()
"""In the model's pending batch: a key deleted."""


def column_of(store: Store, partition: int, name: str) -> Column[Any]:
    """One of the model test's columns (with a small cache, so the cache is exercised)."""
    part = store.partition(partition)
    return numbers(part, cache_size=2) if name == "numbers" else notes(part, cache_size=2)


class DictModel:
    """What the store should hold: committed and pending values per partition and column, and progress."""

    def __init__(self) -> None:
        self.stored: dict[int, dict[str, dict[str, Any]]] = {p: self.empty() for p in PARTITIONS}
        self.pending: dict[int, dict[str, dict[str, Any]]] = {p: self.empty() for p in PARTITIONS}
        self.progress = dict.fromkeys(PARTITIONS, 0)
        self.commits = 0

    @staticmethod
    def empty() -> dict[str, dict[str, Any]]:
        return {name: {} for name in COLUMNS}

    def visible(self, partition: int, name: str) -> dict[str, Any]:
        """Committed values with the pending batch over them."""
        view = dict(self.stored[partition][name])
        for key, value in self.pending[partition][name].items():
            if value is GONE:
                view.pop(key, None)
            else:
                view[key] = value
        return view

    def commit(self, partition: int) -> int:
        """The pending batch becomes stored; returns the new progress (a new number at each commit)."""
        self.commits += 1
        self.stored[partition] = {name: self.visible(partition, name) for name in COLUMNS}
        self.pending[partition] = self.empty()
        self.progress[partition] = self.commits
        return self.commits

    def discard(self, partition: int) -> None:
        self.pending[partition] = self.empty()

    def clear(self, partition: int) -> None:
        self.stored[partition] = self.empty()
        self.pending[partition] = self.empty()
        self.progress[partition] = 0

    def check(self, store: Store) -> None:
        """Reads, the backend's content, counts and progress of every partition are the model's."""
        for partition in PARTITIONS:
            part = store.partition(partition)
            for name in COLUMNS:
                assert dict(column_of(store, partition, name).items()) == self.visible(partition, name)
            assert committed(store, partition) == self.stored[partition]
            assert part.progress == self.progress[partition]
            assert part.count("numbers") == len(self.stored[partition]["numbers"])


class TestRocksStore(StoreContract):
    """The contract on rocksdict, on disk: a reopen reads what was committed back from the files."""

    def open_store(self, path: Path) -> Store:
        return Store.on_disk(path)

    def reopen(self, store: Store, path: Path) -> Store | None:
        store.close()
        return Store.on_disk(path)


class TestMemoryStore(StoreContract):
    """The contract on the in-memory backend: nothing survives a close, so a reopen keeps the store."""

    def open_store(self, path: Path) -> Store:  # noqa: ARG002 - the memory backend has no path
        return Store.in_memory()

    def reopen(self, store: Store, path: Path) -> Store | None:  # noqa: ARG002
        return None

    def test_values_are_kept_at_their_own_size(self) -> None:
        """The bytes orjson hands back sit in a buffer of 4 kB or more; the memory store keeps a copy of the
        value's own size, or a replay's store costs 8 kB a record whatever the record holds.
        """
        store = Store.in_memory()
        column: Column[bytes] = store.partition(0).column("raw", bytes, bytes)  # stored as given
        tracemalloc.start()
        try:
            for n in range(2_000):
                column[str(n)] = orjson.dumps({"note": "x" * 300, "n": n})
            store.partition(0).commit(2_000)
            kept, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        stored = store.backend.data  # type: ignore[attr-defined]
        assert stored[b"00000/c:raw:7"] == orjson.dumps({"note": "x" * 300, "n": 7})
        assert kept / 2_000 < 1_000  # a value of 320 bytes and its key


class TestObjectStore(StoreContract):
    """The contract on the replay's backend, which keeps the values themselves instead of their bytes."""

    def open_store(self, path: Path) -> Store:  # noqa: ARG002 - the memory backend has no path
        return Store.in_memory(objects=True)

    def reopen(self, store: Store, path: Path) -> Store | None:  # noqa: ARG002
        return None

    def test_values_are_the_objects_written(self) -> None:
        """Nothing is encoded: what a commit stored is the very object, read back without decoding."""
        store = Store.in_memory(objects=True)
        value = {"note": ["x"]}
        column = notes(store.partition(0))
        column["n"] = value
        store.partition(0).commit(1)
        assert Store(store.backend).partition(0).column("notes", encode_json, json.loads)["n"] is value
