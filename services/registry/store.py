"""The registry's columns in the runtime's store: records, placements and figures of its one partition.

Records are encoded as JSON of ``record.to_dict`` and cached decoded (the citizens being worked on);
``placed`` remembers where each citizen was last counted, ``counts`` holds the figures. All three and the
progress of ``registry.observations`` are written together by ``commit`` (``services.runtime.store``).
"""

from __future__ import annotations

import json
from pathlib import Path

from services.registry.record import CitizenRecord, from_dict, to_dict
from services.runtime.store import Column, PartitionStore, Store

RECORDS = "records"


def _encode_record(record: CitizenRecord) -> bytes:
    return json.dumps(to_dict(record), separators=(",", ":"), sort_keys=True).encode()


def _decode_record(raw: bytes) -> CitizenRecord:
    return from_dict(json.loads(raw))


class RegistryState:
    """The registry's three columns over one partition's store."""

    def __init__(self, partition: PartitionStore, *, cache_size: int = 20_000) -> None:
        self.partition = partition
        self.records: Column[CitizenRecord] = partition.column(
            RECORDS, _encode_record, _decode_record, cache_size=cache_size, counted=True
        )
        self.placed: Column[str] = partition.column("placed", str.encode, bytes.decode)
        self.counts: Column[int] = partition.column("counts", lambda n: str(n).encode(), int)

    @property
    def progress(self) -> int:
        """Every item of ``registry.observations`` before this offset is applied in the stored state."""
        return self.partition.progress

    @property
    def record_count(self) -> int:
        """How many citizen records are stored (kept with each batch, so no scan is needed)."""
        return self.partition.count(RECORDS)

    def commit(self, progress: int) -> None:
        """Write the pending changes of every column and the new progress in one atomic batch."""
        self.partition.commit(progress)

    def discard(self) -> None:
        """Forget a batch that was not committed (its items will be applied again)."""
        self.partition.discard()

    def clear(self) -> None:
        """Delete everything: for a store that holds more than its topic (the topic was recreated)."""
        self.partition.clear()


class RegistryStore(RegistryState):
    """The registry's state in a rocksdict database of its own under ``path`` (tests and tools)."""

    def __init__(self, path: Path, *, cache_size: int = 20_000) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.store = Store.on_disk(path / "state.rocksdb")
        super().__init__(self.store.partition(0), cache_size=cache_size)

    def close(self) -> None:
        """Close the database (what was committed is on disk)."""
        self.store.close()
