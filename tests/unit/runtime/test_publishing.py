"""Views are published in the bytes fastavro writes for their contract, whichever writer made them."""

from __future__ import annotations

from typing import Any

import pytest

from services.audit.replay import Replayer
from services.audit.views import plan
from services.bus.codec import AvroCodec
from services.bus.schemas import load_registry
from services.runtime.projection import PlainView
from services.runtime.publishing import view_bytes
from tests.unit.audit.test_replay import SETTINGS, history

CODEC = AvroCodec(load_registry(SETTINGS.schemas_dir))


@pytest.fixture(scope="module")
def drained() -> dict[str, list[Any]]:
    """Every view each replayable projection holds at the end of a simulated history."""
    records = history(3000, seed=9)
    views: dict[str, list[Any]] = {}
    for name in ("registry", "protection", "passport", "deadletters"):
        replayer = Replayer(plan(name, SETTINGS))
        replayer.feed_all(records)
        replayer.finish()
        views[name] = [record.view for record in replayer.latest.values()]
    return views


@pytest.mark.parametrize("name", ["registry", "protection", "passport", "deadletters"])
def test_every_view_is_framed_as_fastavro_writes_it(drained: dict[str, list[Any]], name: str) -> None:
    assert drained[name]  # the history gives each view something to publish
    for view in drained[name]:
        record = view.record if isinstance(view, PlainView) else view.to_avro()
        assert view_bytes(CODEC, view) == CODEC.encode(view.SCHEMA, record)
