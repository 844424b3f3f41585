"""The registry worker's state on disk: records, placements, figures and how far it has applied, in rocksdict.

One database, one atomic write per batch: the records, each citizen's counted residence, the figures and
the offset of ``registry.observations`` up to which all of that holds are written together. So after any
crash (SIGKILL, power loss) the state on disk is exactly "every item before ``progress`` applied", whatever
the consumer's committed offset says; the worker skips what is below it and reads what it missed.
Memory does not grow with the number of citizens: reads go to disk behind a small cache of decoded records.
Losing the disk loses nothing: the worker rebuilds from ``registry.observations``, which is kept forever.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from rocksdict import Options, Rdict, WriteBatch

from services.registry.record import CitizenRecord, from_dict, to_dict

V = TypeVar("V")
_PROGRESS = b"m:progress"
_RECORDS = b"m:records"


class _Gone:
    """Marks a key deleted in the pending batch."""


_GONE = _Gone()


class Column(MutableMapping[str, V], Generic[V]):
    """The keys under one prefix; writes wait, decoded, in ``pending`` until the store commits the batch
    (so a record changed by every item of a batch is encoded once, at commit).
    """

    def __init__(
        self, db: Rdict, prefix: bytes, encode: Callable[[V], bytes], decode: Callable[[bytes], V]
    ) -> None:
        self.db = db
        self.prefix = prefix
        self.encode = encode
        self.decode = decode
        self.pending: dict[str, V | _Gone] = {}

    def _stored(self, key: str) -> bytes | None:
        value: bytes | None = self.db.get(self.prefix + key.encode())
        return value

    def __getitem__(self, key: str) -> V:
        if key in self.pending:
            value = self.pending[key]
            if isinstance(value, _Gone):
                raise KeyError(key)
            return value
        raw = self._stored(key)
        if raw is None:
            raise KeyError(key)
        return self.decode(raw)

    def __setitem__(self, key: str, value: V) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.pending[key] = _GONE

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self.pending:
            return not isinstance(self.pending[key], _Gone)
        return self._stored(key) is not None

    def scan(self) -> Iterator[str]:
        """Committed keys in order, lazily (the pending batch is not seen)."""
        for raw_key in self.db.keys(from_key=self.prefix):
            if not isinstance(raw_key, bytes) or not raw_key.startswith(self.prefix):
                return
            yield raw_key[len(self.prefix) :].decode()

    def __iter__(self) -> Iterator[str]:
        """Stored keys in order, as the pending batch leaves them (a full scan: for tests and tools)."""
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

    def write_to(self, batch: WriteBatch) -> None:
        """Add the pending writes and deletes to ``batch`` (the store writes it, with its progress)."""
        for key, value in self.pending.items():
            if isinstance(value, _Gone):
                batch.delete(self.prefix + key.encode())
            else:
                batch.put(self.prefix + key.encode(), self.encode(value))

    def discard(self) -> None:
        """Forget the pending writes."""
        self.pending.clear()


class RecordColumn(Column[CitizenRecord]):
    """Citizen records, with an LRU of decoded stored records for the citizens being worked on."""

    def __init__(self, db: Rdict, cache_size: int) -> None:
        super().__init__(db, b"r:", _encode_record, _decode_record)
        self.cache: OrderedDict[str, CitizenRecord] = OrderedDict()
        self.cache_size = cache_size

    def _remember(self, key: str, record: CitizenRecord) -> None:
        if self.cache_size <= 0:
            return
        self.cache[key] = record
        self.cache.move_to_end(key)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def __getitem__(self, key: str) -> CitizenRecord:
        if key not in self.pending:
            cached = self.cache.get(key)
            if cached is not None:
                self.cache.move_to_end(key)
                return cached
        record = super().__getitem__(key)
        if key not in self.pending:
            self._remember(key, record)
        return record

    def __setitem__(self, key: str, record: CitizenRecord) -> None:
        super().__setitem__(key, record)
        self.cache.pop(key, None)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.cache.pop(key, None)

    def write_to(self, batch: WriteBatch) -> None:
        """As ``Column.write_to``; the written records become the cache's most recent."""
        super().write_to(batch)
        for key, value in self.pending.items():
            if not isinstance(value, _Gone):
                self._remember(key, value)

    def discard(self) -> None:
        """Forget the pending writes and the cache (it may hold records of the discarded batch)."""
        super().discard()
        self.cache.clear()


class RegistryStore:
    """Opens (or creates) the worker's database under ``path``."""

    def __init__(self, path: Path, *, cache_size: int = 20_000) -> None:
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)  # noqa: FBT003 - rocksdict's own API
        self.db = Rdict(str(path / "registry.rocksdb"), options=options)
        self.records = RecordColumn(self.db, cache_size)
        self.placed: Column[str] = Column(self.db, b"p:", str.encode, bytes.decode)
        self.counts: Column[int] = Column(self.db, b"c:", lambda n: str(n).encode(), int)
        self._columns: tuple[Column[Any], ...] = (self.records, self.placed, self.counts)

    @property
    def progress(self) -> int:
        """Every item of ``registry.observations`` before this offset is applied in the stored state."""
        raw = self.db.get(_PROGRESS)
        return 0 if raw is None else int(raw)

    @property
    def record_count(self) -> int:
        """How many citizen records are stored (kept with each batch, so no scan is needed)."""
        raw = self.db.get(_RECORDS)
        return 0 if raw is None else int(raw)

    def commit(self, progress: int) -> None:
        """Write the pending changes of every column and the new progress in one atomic batch."""
        batch = WriteBatch(raw_mode=True)
        for column in self._columns:
            column.write_to(batch)
        batch.put(_RECORDS, str(self.record_count + self.records.added()).encode())
        batch.put(_PROGRESS, str(progress).encode())
        self.db.write(batch)
        for column in self._columns:
            column.pending.clear()

    def clear(self) -> None:
        """Delete everything: for a store that holds more than its topic (the topic was recreated)."""
        batch = WriteBatch(raw_mode=True)
        batch.delete_range(b"", b"\xff")
        self.db.write(batch)
        self.discard()

    def discard(self) -> None:
        """Forget a batch that was not committed (its items will be applied again)."""
        for column in self._columns:
            column.discard()

    def close(self) -> None:
        """Close the database (what was committed is on disk)."""
        self.db.close()


def _encode_record(record: CitizenRecord) -> bytes:
    return json.dumps(to_dict(record), separators=(",", ":"), sort_keys=True).encode()


def _decode_record(raw: bytes) -> CitizenRecord:
    return from_dict(json.loads(raw))
