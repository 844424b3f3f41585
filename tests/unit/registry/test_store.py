"""The registry worker's store: a batch is written whole or not at all, with the progress it holds up to."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.registry.model import RegistryModel
from services.registry.store import RegistryStore
from tests.unit.registry.builders import hasher, simulated


@pytest.fixture
def store(tmp_path: Path):
    s = RegistryStore(tmp_path / "db", cache_size=2)
    yield s
    s.close()


def records_of(count: int) -> RegistryModel:
    """The registry over ``count`` simulated events, in memory."""
    model = RegistryModel(hasher=hasher)
    model.apply_events(simulated(7, count))
    return model


class TestRegistryStore:
    def test_nothing_is_stored_before_commit(self, store: RegistryStore) -> None:
        """Pending writes are readable in the batch but not on disk until commit; discard forgets them."""
        store.placed["cit-1"] = "US|kbri-washington"
        store.counts["abroad"] = 1
        assert store.placed["cit-1"] == "US|kbri-washington"
        assert store.progress == 0
        store.discard()
        assert "cit-1" not in store.placed
        assert store.counts.get("abroad") is None

    def test_commit_writes_the_batch_and_its_progress_together(self, tmp_path: Path) -> None:
        """After commit and reopen, every column and the progress are there, and the record count."""
        model = records_of(60)
        path = tmp_path / "db"
        store = RegistryStore(path)
        for cid, record in model.records.items():
            store.records[cid] = record
        store.counts["abroad"] = 3
        store.commit(42)
        store.close()

        reopened = RegistryStore(path)
        try:
            assert reopened.progress == 42
            assert reopened.record_count == len(model.records) > 3
            assert dict(reopened.records.items()) == dict(model.records)
            assert reopened.counts["abroad"] == 3
        finally:
            reopened.close()

    def test_deletes_and_count(self, store: RegistryStore) -> None:
        """A deleted key is gone from reads and scans in the batch and after commit; the count follows."""
        model = records_of(30)
        first, second = sorted(model.records)[:2]
        store.records[first] = model.records[first]
        store.records[second] = model.records[second]
        store.commit(2)
        del store.records[first]
        assert list(store.records) == [second]
        store.commit(3)
        assert first not in store.records
        assert list(store.records) == [second]
        assert store.record_count == 1
        with pytest.raises(KeyError):
            del store.records[first]

    def test_rewriting_a_record_does_not_count_it_twice(self, store: RegistryStore) -> None:
        """The record count is of citizens, not of writes."""
        (cid, record), *_ = records_of(10).records.items()
        for progress in (1, 2, 3):
            store.records[cid] = record
            store.commit(progress)
        assert store.record_count == 1

    def test_the_model_folds_into_the_store(self, store: RegistryStore) -> None:
        """RegistryModel over the store's records gives the same records as over a dict."""
        events = simulated(7, 200)
        in_memory = RegistryModel(hasher=hasher)
        in_memory.apply_events(events)
        on_disk = RegistryModel(hasher=hasher, records=store.records)
        on_disk.apply_events(events)
        store.commit(len(events))
        store.records.heads.cache.clear()
        assert dict(store.records.items()) == dict(in_memory.records)

    def test_clear_empties_every_column(self, store: RegistryStore) -> None:
        """After clear the store holds nothing, not even its progress: a rebuild starts from offset 0."""
        (cid, record), *_ = records_of(10).records.items()
        store.records[cid] = record
        store.placed[cid] = "US|kbri-washington"
        store.counts["abroad"] = 1
        store.commit(9)
        store.clear()
        assert store.progress == 0
        assert store.record_count == 0
        assert list(store.records) == list(store.placed) == list(store.counts) == []

    def test_an_event_writes_its_observation_once_and_a_small_head(self, store: RegistryStore) -> None:
        """Each observation is stored once by event id; a citizen's stored head does not grow with the
        bytes of its history, so one more event costs about the same however long the history is.
        """
        model = RegistryModel(hasher=hasher, records=store.records)
        writes: list[dict[bytes, bytes]] = []
        backend_write = store.partition.backend.write

        def recording(puts: dict[bytes, bytes], deletes: list[bytes], clear: bytes | None = None) -> None:
            writes.append(puts)
            backend_write(puts, deletes, clear)

        store.partition.backend.write = recording  # type: ignore[method-assign]
        for offset, event in enumerate(simulated(7, 400), start=1):
            model.apply_events([event])
            store.commit(offset)
        observation_keys = [key for puts in writes for key in puts if b"c:observations:" in key]
        assert len(observation_keys) == len(set(observation_keys)) > 300
        (cid, record) = max(model.records.items(), key=lambda item: len(item[1].observations))
        head = store.partition.backend.get(b"00000/c:records:" + cid.encode())
        assert head is not None
        stored_history = sum(
            len(store.partition.backend.get(b"00000/c:observations:" + e.encode()) or b"")
            for e in record.observations
        )
        assert len(record.observations) >= 5
        assert len(head) < stored_history / 2

    def test_a_store_of_an_earlier_layout_is_rebuilt(self, tmp_path: Path) -> None:
        """A store written in another layout is cleared when opened, so the worker rebuilds it from its
        topic instead of failing to read it.
        """
        first = RegistryStore(tmp_path / "db")
        first.placed["cit-1"] = "US|kbri-washington"
        first.commit(10)
        first.layout["format"] = "1"
        first.commit(10)
        first.close()
        again = RegistryStore(tmp_path / "db")
        try:
            assert again.progress == 0
            assert "cit-1" not in again.placed
            again.commit(0)
            assert again.layout["format"] == "2"
        finally:
            again.close()
