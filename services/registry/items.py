"""The resolver topic's items: an observation or an officer decision, as JSON on ``registry.observations``.

Internal to the registry (keyed by event or decision id, one partition, kept forever): it is the resolver's
total order and the history the worker rebuilds its index from, so its format is versioned by ``kind``.
"""

from __future__ import annotations

import json
from typing import Any

from services.registry.decisions import Confirm, Decision, Reject, Split
from services.registry.facts import Observation

Item = Observation | Decision


def encode_item(item: Item) -> bytes:
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


def decode_item(data: bytes) -> Item:
    """Read back what ``encode_item`` wrote; ValueError for an unknown kind."""
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
