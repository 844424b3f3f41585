"""The registry's figures, as its projection stores and publishes them, equal figures computed from the raw
events by the README's rules (``tests.figures_oracle``), departed citizens included.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.contracts.base import EventModel
from services.contracts.citizen import Departed
from services.contracts.common import Channel
from services.registry.intake import to_item
from services.registry.projection import RegistryProjection
from services.runtime.store import Store
from tests.figures_oracle import figures
from tests.unit.registry.builders import SITI, at, hasher, simulated, stay, wrap


def citizen_events_with_nik(seed: int, count: int):
    return [
        e
        for e in simulated(seed, count)
        if e.payload.TOPIC == "citizen" and getattr(e.payload.personal, "nik", None)
    ]


def projected_figures(events) -> dict[str, int]:
    """Apply ``events`` through the registry's projection on a memory store, a chunk at a time, as the
    runtime does; the stored figures afterwards (non-zero).
    """
    projection = RegistryProjection(hasher)
    store = Store.in_memory().partition(0)
    state = projection.open(store)
    published: dict[str, int] = {}
    for start in range(0, len(events), 100):
        for event in events[start : start + 100]:
            item = to_item(event, hasher)
            assert item is not None
            projection.apply(state, item)
        for view in projection.drain(state, datetime.now(UTC)):
            if view.topic == "registry.counts":
                published[view.key] = view.view.citizens
        store.commit(start + 100)
    stored = {key: state.columns.counts[key] for key in state.columns.counts if state.columns.counts[key]}
    assert {k: v for k, v in published.items() if v} == stored
    return stored


def oracle_input(events):
    return [(e.payload, e.envelope.source, e.envelope.time, e.envelope.id) for e in events]


class TestFigures:
    def test_simulated_history_equals_the_oracle(self) -> None:
        """Two thousand simulated citizen events (stays, moves, departures, returns): every figure the
        projection stores and publishes equals the one computed from the raw events.
        """
        events = citizen_events_with_nik(17, 6000)
        assert len(events) > 1000
        assert any(isinstance(e.payload, Departed) for e in events)
        assert projected_figures(events) == figures(oracle_input(events))

    def test_a_departed_citizen_counts_under_the_destination_country_only(self) -> None:
        """A stay in the US, then a departure to Japan: counted in the total and under JP, under no office
        and not under the US any more.
        """
        departed: EventModel = Departed(
            office="kjri-new-york",
            office_record_ref="NY-1",
            personal=SITI.personal(),
            departure_date=at(24).date(),
            destination_country="JP",
            channel=Channel.WEB,
        )
        events = [stay(SITI.personal(), "kjri-new-york", "NY-1", at(0), "a"), wrap(departed, at(24), "b")]
        expected = {"abroad": 1, "country:JP": 1}
        assert figures(oracle_input(events)) == expected
        assert projected_figures(events) == expected
