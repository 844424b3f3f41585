"""Storage shapes of the registry processor: records in a disk-backed table, items on the resolver topic.

Records live in a rocksdict-backed faust table (so memory does not grow with the number of citizens),
behind a small cache of decoded records for the citizens being worked on.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any

from services.registry.decisions import Confirm, Decision, Reject, Split
from services.registry.facts import Observation
from services.registry.record import CitizenRecord, from_dict, to_dict


class StoredRecords(MutableMapping[str, CitizenRecord]):
    """CitizenRecords over a table of their JSON-able stored form, with an LRU of decoded records."""

    def __init__(self, table: MutableMapping[str, Any], cache_size: int = 20_000) -> None:
        self.table = table
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
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            return cached
        stored = self.table.get(key)
        if stored is None:
            raise KeyError(key)
        record = from_dict(stored)
        self._remember(key, record)
        return record

    def __setitem__(self, key: str, record: CitizenRecord) -> None:
        self.table[key] = to_dict(record)
        self._remember(key, record)

    def __delitem__(self, key: str) -> None:
        self.cache.pop(key, None)
        del self.table[key]

    def __contains__(self, key: object) -> bool:
        return key in self.cache or key in self.table

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.table.keys()))

    def __len__(self) -> int:
        return len(self.table)


def encode_item(item: Observation | Decision) -> bytes:
    """An observation or an officer decision as it travels on ``registry.observations``."""
    if isinstance(item, Observation):
        body: dict[str, Any] = {"kind": "observation", "observation": item.to_dict()}
    elif isinstance(item, Split):
        body = {
            "kind": "split",
            "decision_id": item.decision_id,
            "citizen_id": item.citizen_id,
            "moved": sorted(item.moved),
            "kept": sorted(item.kept),
        }
    else:
        body = {
            "kind": "confirm" if isinstance(item, Confirm) else "reject",
            "decision_id": item.decision_id,
            "candidate_id": item.candidate_id,
            "anchors": list(item.anchors),
        }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def decode_item(data: bytes) -> Observation | Decision:
    body = json.loads(data)
    kind = body["kind"]
    if kind == "observation":
        return Observation.from_dict(body["observation"])
    if kind == "split":
        return Split(
            body["decision_id"], body["citizen_id"], frozenset(body["moved"]), frozenset(body["kept"])
        )
    anchors = (str(body["anchors"][0]), str(body["anchors"][1]))
    if kind == "confirm":
        return Confirm(body["decision_id"], body["candidate_id"], anchors)
    if kind == "reject":
        return Reject(body["decision_id"], body["candidate_id"], anchors)
    raise ValueError(f"unknown registry item kind {kind!r}")
