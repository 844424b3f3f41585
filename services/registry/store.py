"""The registry's columns in the runtime's store: records, placements and figures of its one partition.

Records are stored as JSON (UTF-8, keys sorted): each observation once by event id, each record as its
head (``record.to_dict``), cached decoded (the citizens being worked on); ``placed`` remembers where
each citizen was last counted, ``counts`` holds the figures.
All three and the progress of ``registry.observations`` are written together by ``commit``
(``services.runtime.store``).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path

import orjson

from services.bus.logs import get_logger
from services.registry.facts import Observation
from services.registry.record import FORMAT, CitizenRecord, from_dict, to_dict
from services.runtime.store import Column, PartitionStore, Store

log = get_logger("registry")
RECORDS = "records"
OBSERVATIONS = "observations"


def _encode_observation(obs: Observation) -> bytes:
    return orjson.dumps(obs.to_dict(), option=orjson.OPT_SORT_KEYS)


def _decode_observation(raw: bytes) -> Observation:
    return Observation.from_dict(orjson.loads(raw))


class RecordColumn(MutableMapping[str, CitizenRecord]):
    """Citizen records over two columns: ``records`` (anchor, slot winners, observation ids) and
    ``observations`` (each observation once, by event id, never rewritten).

    Storing whole records cost each event the encoding of its citizen's entire history (a record of a
    hundred observations is 100 kB of JSON); now an event writes its own observation once and its
    citizen's small head. An observation moves with merges and splits without being rewritten (it is
    keyed by its event id, not its citizen). Decoded records are cached by the head column.
    """

    def __init__(self, partition: PartitionStore, cache_size: int) -> None:
        self.observations: Column[Observation] = partition.column(
            OBSERVATIONS, _encode_observation, _decode_observation
        )
        self.heads: Column[CitizenRecord] = partition.column(
            RECORDS, self._encode, self._decode, cache_size=cache_size, counted=True
        )

    def _encode(self, record: CitizenRecord) -> bytes:
        return orjson.dumps(to_dict(record), option=orjson.OPT_SORT_KEYS)

    def _decode(self, raw: bytes) -> CitizenRecord:
        return from_dict(orjson.loads(raw), self.observations.__getitem__)

    def __getitem__(self, citizen_id: str) -> CitizenRecord:
        return self.heads[citizen_id]

    def __setitem__(self, citizen_id: str, record: CitizenRecord) -> None:
        """Store ``record``; observations its previous version did not hold are written (once)."""
        before = self.heads.get(citizen_id)
        held = record.observations.keys()
        if before is None:  # a new id (a merge, rename or split moved records here): look each one up
            new = [event_id for event_id in held if event_id not in self.observations]
        else:
            new = list(held - before.observations.keys())
        for event_id in new:
            self.observations[event_id] = record.observations[event_id]
        self.heads[citizen_id] = record

    def __delitem__(self, citizen_id: str) -> None:
        """Forget the record; its observations stay (a merge or split moved them to another record)."""
        del self.heads[citizen_id]

    def __contains__(self, citizen_id: object) -> bool:
        return citizen_id in self.heads

    def __iter__(self) -> Iterator[str]:
        return iter(self.heads)

    def __len__(self) -> int:
        return len(self.heads)

    def scan(self) -> Iterator[str]:
        """Committed citizen ids in order, lazily."""
        return self.heads.scan()


class RegistryState:
    """The registry's columns over one partition's store: records (two columns), placements, figures."""

    def __init__(self, partition: PartitionStore, *, cache_size: int = 20_000) -> None:
        self.partition = partition
        self.layout: Column[str] = partition.column("layout", str.encode, bytes.decode)
        if self.layout.get("format") != str(FORMAT):
            if partition.progress > 0:  # stored by an earlier version in another form: rebuild from topic
                log.warning("store_layout_changed", stored=self.layout.get("format"), now=FORMAT)
                partition.clear()
            self.layout["format"] = str(FORMAT)  # written with the next commit
        self.records = RecordColumn(partition, cache_size)
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
