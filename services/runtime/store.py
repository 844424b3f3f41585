"""A processor's state on disk: columns of one partition written in one atomic batch with its progress.

Each partition of a view's input topic has its own keys (``<partition>/``) and its own progress ("every
record before this offset is applied in the stored state"); a commit writes the partition's pending changes
and its new progress together, so after any crash (SIGKILL, power loss) the stored state is exactly the
fold of the partition's first ``progress`` records, whatever the consumer's committed offset says. Two
backends keep the same contract (tested by one test class run against both): rocksdict on disk for the
workers, a dict in memory for tests and the audit replay. Memory does not grow with the data: reads go to
the backend behind an optional small cache of decoded values.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rocksdict import Options, Rdict, WriteBatch

V = TypeVar("V")
_META = b"m:"
_PROGRESS = b"m:progress"


class Backend(Protocol):
    """Where bytes live: read one key, scan a prefix in key order, write a batch atomically."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""

    def scan(self, prefix: bytes) -> Iterator[bytes]:
        """Stored keys starting with ``prefix``, in order."""

    def write(self, puts: dict[bytes, bytes], deletes: list[bytes], clear: bytes | None = None) -> None:
        """Remove every key under ``clear`` (if given), then apply ``deletes`` and ``puts``: all or none."""

    def close(self) -> None:
        """Release the backend; what was written stays (on disk) or is gone (in memory)."""


class RocksBackend:
    """rocksdict (RocksDB) in raw mode: one WriteBatch per commit is atomic on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)  # noqa: FBT003 - rocksdict's own API
        self.db = Rdict(str(path), options=options)

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None."""
        value: bytes | None = self.db.get(key)
        return value

    def scan(self, prefix: bytes) -> Iterator[bytes]:
        """Keys under ``prefix`` in order, read lazily."""
        for key in self.db.keys(from_key=prefix):
            if not isinstance(key, bytes) or not key.startswith(prefix):
                return
            yield key

    def write(self, puts: dict[bytes, bytes], deletes: list[bytes], clear: bytes | None = None) -> None:
        """One WriteBatch: the range delete, the deletes and the puts land together."""
        batch = WriteBatch(raw_mode=True)
        if clear is not None:
            batch.delete_range(clear, _prefix_end(clear))
        for key in deletes:
            batch.delete(key)
        for key, value in puts.items():
            batch.put(key, value)
        self.db.write(batch)

    def close(self) -> None:
        """Close the database (what was committed is on disk)."""
        self.db.close()


class MemoryBackend:
    """A dict with its keys kept sorted: the same contract as ``RocksBackend``, nothing on disk."""

    keeps_objects = False
    """Whether columns hand it their values as they are, unencoded (``ObjectBackend``)."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self._keys: list[bytes] | None = []

    @property
    def keys(self) -> list[bytes]:
        """Every key in order, sorted again only after a write (a replay commits far more than it scans:
        sorting a million keys at every commit made it quadratic).
        """
        if self._keys is None:
            self._keys = sorted(self.data)
        return self._keys

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None."""
        return self.data.get(key)

    def scan(self, prefix: bytes) -> Iterator[bytes]:
        """Keys under ``prefix`` in order (a snapshot, so writes while scanning are safe)."""
        start = bisect.bisect_left(self.keys, prefix)
        end = bisect.bisect_left(self.keys, _prefix_end(prefix)) if prefix else len(self.keys)
        return iter(self.keys[start:end])

    def write(self, puts: dict[bytes, bytes], deletes: list[bytes], clear: bytes | None = None) -> None:
        """Applied in one step (nothing else runs in between in one process). Each value is kept as a
        copy of its own length: an encoder's bytes may sit in a larger buffer (orjson's do, 4 to 16 kB
        for a value of a few hundred bytes), which a store that keeps them made 8 kB a record.
        """
        if clear is not None:
            for key in list(self.scan(clear)):
                del self.data[key]
        for key in deletes:
            self.data.pop(key, None)
        self.data.update((key, self._kept(value)) for key, value in puts.items())
        self._keys = None

    @staticmethod
    def _kept(value: bytes) -> bytes:
        """``value`` copied into an object of its own size (joining two parts always copies)."""
        return b"".join((value, b""))

    def close(self) -> None:
        """Nothing to release."""


class ObjectBackend(MemoryBackend):
    """The memory backend holding each column's values as the objects written, never encoded: for the
    auditors' replay, which only folds and reads the final state, so encoding every value at every commit
    and keeping it twice (bytes here, objects in the cache) bought nothing. A view that changes a value in
    place (a protection case gains an event) changes the stored object at once, as it changes the cached
    one in the live worker; a replay never discards a batch, so its final state is the same (its tests
    compare the two stores).
    """

    keeps_objects = True

    @staticmethod
    def _kept(value: bytes) -> bytes:
        """The value as written: an object, or the store's own bytes."""
        return value


def _as_is(value: Any) -> Any:
    """A column value kept as it is (``ObjectBackend``)."""
    return value


def _prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\xff" * (len(prefix) + 1)
    return stripped[:-1] + bytes([stripped[-1] + 1])


class _Gone:
    """Marks a key deleted in the pending batch."""


_GONE = _Gone()


class Column(MutableMapping[str, V]):
    """The keys of one column of one partition; writes wait, decoded, in ``pending`` until the partition
    commits (so a value changed by every record of a batch is encoded once, at commit).
    """

    def __init__(
        self,
        backend: Backend,
        prefix: bytes,
        encode: Callable[[V], bytes],
        decode: Callable[[bytes], V],
        cache_size: int = 0,
    ) -> None:
        self.backend = backend
        self.prefix = prefix
        self.encode = encode
        self.decode = decode
        self.pending: dict[str, V | _Gone] = {}
        self.cache: OrderedDict[str, V] = OrderedDict()
        self.cache_size = cache_size

    def _stored(self, key: str) -> bytes | None:
        return self.backend.get(self.prefix + key.encode())

    def _remember(self, key: str, value: V) -> None:
        if self.cache_size <= 0:
            return
        self.cache[key] = value
        self.cache.move_to_end(key)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def __getitem__(self, key: str) -> V:
        if key in self.pending:
            value = self.pending[key]
            if isinstance(value, _Gone):
                raise KeyError(key)
            return value
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            return cached
        raw = self._stored(key)
        if raw is None:
            raise KeyError(key)
        decoded = self.decode(raw)
        self._remember(key, decoded)
        return decoded

    def __setitem__(self, key: str, value: V) -> None:
        self.pending[key] = value
        self.cache.pop(key, None)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.pending[key] = _GONE
        self.cache.pop(key, None)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self.pending:
            return not isinstance(self.pending[key], _Gone)
        return key in self.cache or self._stored(key) is not None

    def scan(self) -> Iterator[str]:
        """Committed keys in order, lazily (the pending batch is not seen)."""
        for raw_key in self.backend.scan(self.prefix):
            yield raw_key[len(self.prefix) :].decode()

    def __iter__(self) -> Iterator[str]:
        """Keys in order, as the pending batch leaves them (a full scan: for tests and tools)."""
        keys = {key for key, value in self.pending.items() if not isinstance(value, _Gone)}
        keys.update(key for key in self.scan() if key not in self.pending)
        return iter(sorted(keys))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def added(self) -> int:
        """How many keys the pending batch adds (negative: removes) to what is stored."""
        return sum(
            (not isinstance(value, _Gone)) - (self._stored(key) is not None)
            for key, value in self.pending.items()
        )

    def flush_into(self, puts: dict[bytes, bytes], deletes: list[bytes]) -> None:
        """Move the pending writes into a commit's puts and deletes; written values become cached."""
        for key, value in self.pending.items():
            if isinstance(value, _Gone):
                deletes.append(self.prefix + key.encode())
            else:
                puts[self.prefix + key.encode()] = self.encode(value)
                self._remember(key, value)
        self.pending.clear()

    def discard(self) -> None:
        """Forget the pending writes and the cache (it may hold values of the discarded batch)."""
        self.pending.clear()
        self.cache.clear()


class PartitionStore:
    """The columns and the progress of one input partition; ``commit`` writes them in one batch."""

    def __init__(self, backend: Backend, partition: int) -> None:
        self.backend = backend
        self.partition = partition
        self.prefix = f"{partition:05d}/".encode()
        self.columns: dict[str, Column[Any]] = {}
        self.counted: set[str] = set()

    def column(
        self,
        name: str,
        encode: Callable[[V], bytes],
        decode: Callable[[bytes], V],
        *,
        cache_size: int = 0,
        counted: bool = False,
    ) -> Column[V]:
        """The column ``name`` of this partition (one object per name); ``counted`` keeps its size."""
        if name not in self.columns:
            if getattr(self.backend, "keeps_objects", False):
                encode, decode, cache_size = _as_is, _as_is, 0  # the backend holds the objects themselves
            self.columns[name] = Column(
                self.backend, self.prefix + b"c:" + name.encode() + b":", encode, decode, cache_size
            )
            if counted:
                self.counted.add(name)
        column: Column[V] = self.columns[name]
        return column

    def _meta(self, name: bytes) -> int:
        raw = self.backend.get(self.prefix + name)
        return 0 if raw is None else int(raw)

    @property
    def progress(self) -> int:
        """Every record of the partition before this offset is applied in the stored state."""
        return self._meta(_PROGRESS)

    def count(self, name: str) -> int:
        """How many keys the counted column ``name`` holds as committed (no scan)."""
        return self._meta(_META + b"count:" + name.encode())

    def commit(self, progress: int) -> None:
        """Write every column's pending changes, the counts and the new progress in one atomic batch."""
        puts: dict[bytes, bytes] = {}
        deletes: list[bytes] = []
        for name in self.counted:
            total = self.count(name) + self.columns[name].added()
            puts[self.prefix + _META + b"count:" + name.encode()] = str(total).encode()
        for column in self.columns.values():
            column.flush_into(puts, deletes)
        puts[self.prefix + _PROGRESS] = str(progress).encode()
        self.backend.write(puts, deletes)

    def discard(self) -> None:
        """Forget what was not committed (its records will be applied again)."""
        for column in self.columns.values():
            column.discard()

    def clear(self) -> None:
        """Delete everything of this partition, its progress too: it is rebuilt from offset 0."""
        self.discard()
        self.backend.write({}, [], clear=self.prefix)


class Store:
    """One backend shared by the partitions a worker owns, each with its own keys and progress."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._partitions: dict[int, PartitionStore] = {}

    @classmethod
    def on_disk(cls, path: Path) -> Store:
        """A rocksdict database at ``path`` (created if missing)."""
        return cls(RocksBackend(path))

    @classmethod
    def in_memory(cls, *, objects: bool = False) -> Store:
        """A store that forgets everything when the process ends; with ``objects``, one that keeps the
        values unencoded (``ObjectBackend``: a replay's).
        """
        return cls(ObjectBackend() if objects else MemoryBackend())

    def partition(self, partition: int) -> PartitionStore:
        """The state of ``partition`` (the same object on every call)."""
        if partition not in self._partitions:
            self._partitions[partition] = PartitionStore(self.backend, partition)
        return self._partitions[partition]

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()
