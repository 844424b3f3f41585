"""The live registry's figures (its HTTP answer and the compacted registry.counts topic) equal figures
computed in the test from the raw events it was sent, by the README's rules (``tests.figures_oracle``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.bus.catalogue import create_topics
from services.bus.publisher import EventMeta, Publisher
from services.bus.settings import BusSettings
from services.registry.topics import COUNTS, OBSERVATIONS
from services.sim.simulator import TrafficSimulator
from tests.figures_oracle import figures
from tests.integration.registry_harness import RegistryWorker, end_offset_sum, read_views


class TestLiveFigures:
    def test_counts_equal_the_figures_of_the_raw_events(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """Three thousand citizen events with a NIK (stays, changes, departures abroad and home, returns):
        /registry/counts and the latest value per key on registry.counts equal the oracle, zeros included
        (a figure that fell to zero is published as 0, never left at its last value).
        """
        create_topics(bus_settings)
        now = datetime.now(UTC)
        sim = TrafficSimulator(29, start=now - timedelta(days=200))
        chosen = [
            s
            for s in sim.next_batch(12_000)
            if s.event.TOPIC == "citizen" and getattr(s.event.personal, "nik", None)
        ][:3000]
        with Publisher(bus_settings) as publisher:
            outgoing = [
                publisher.prepare(s.event, EventMeta(source=s.source, time=min(s.time, now))) for s in chosen
            ]
            publisher.send_prepared(outgoing)
        expected = figures(
            (s.event, o.envelope.source, o.envelope.time, o.envelope.id)
            for s, o in zip(chosen, outgoing, strict=True)
        )
        worker = RegistryWorker.create(bus_settings, tmp_path)
        worker.start()
        try:
            worker.wait_until(
                lambda: (
                    (worker.get("/registry/stats") or {}).get("next_offset", -1)
                    >= end_offset_sum(bus_settings, OBSERVATIONS)
                    == len(chosen)
                ),
                180,
                "every event folded",
            )
            answered = worker.get("/registry/counts")
        finally:
            worker.stop()
        http = {"abroad": answered["abroad"]}
        http.update({f"office:{k}": v for k, v in answered["by_office"].items()})
        http.update({f"country:{k}": v for k, v in answered["by_country"].items()})
        assert {k: v for k, v in http.items() if v} == expected
        published = {key: view.citizens for key, view in read_views(bus_settings, COUNTS).items()}
        assert {k: v for k, v in published.items() if v} == expected
        assert set(published) >= set(expected)
