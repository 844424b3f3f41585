"""The `bus` command against the real broker: publish refuses bad input, tail prints decoded events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from services.bus import reading
from services.bus.catalogue import create_topics
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator

BUS = [sys.executable, "-c", "from services.cli import main; main()"]


def bus(settings: BusSettings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BUS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "BUS_TOPIC_PREFIX": settings.topic_prefix,
    }
    return subprocess.run(
        [*BUS, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def end_offsets(settings: BusSettings, topic: str) -> dict[int, int]:
    return reading.end_offsets(settings, settings.topic(topic))


def a_stay_report() -> tuple[dict[str, object], str]:
    sim = TrafficSimulator(21, start=datetime.now(UTC) - timedelta(days=3))
    s = next(x for x in sim.next_batch(100) if x.event.SCHEMA.endswith("StayReported"))
    return s.event.model_dump(mode="json"), s.source


class TestPublishCommand:
    def test_invalid_event_names_the_field_hides_the_value_and_sends_nothing(
        self, bus_settings: BusSettings
    ) -> None:
        """A bad NIK and a missing field: exit non-zero, the message names the fields, not the NIK, and the
        topic's end offsets do not move.
        """
        create_topics(bus_settings)
        data, source = a_stay_report()
        assert isinstance(data["personal"], dict)
        bad_nik = "9999999999999999"
        data["personal"]["nik"] = bad_nik
        del data["arrival_date"]
        before = end_offsets(bus_settings, "citizen")
        doc = {"type": "id.go.kemlu.bus.citizen.v1.StayReported", "source": source, "data": data}
        result = bus(bus_settings, "publish", "-", stdin=json.dumps(doc))
        assert result.returncode != 0
        assert "personal.nik" in result.stderr
        assert "arrival_date" in result.stderr
        assert bad_nik not in result.stderr + result.stdout
        assert end_offsets(bus_settings, "citizen") == before

    def test_wrong_type_and_unknown_office_are_refused(self, bus_settings: BusSettings) -> None:
        """A field of the wrong type is named; an unknown source office is refused; nothing is sent."""
        create_topics(bus_settings)
        data, source = a_stay_report()
        data["arrival_date"] = {"not": "a date"}
        before = end_offsets(bus_settings, "citizen")
        result = bus(
            bus_settings, "publish", "--type", "StayReported", "--source", source, "-", stdin=json.dumps(data)
        )
        assert result.returncode != 0
        assert "arrival_date" in result.stderr
        good, _ = a_stay_report()
        result = bus(
            bus_settings,
            "publish",
            "--type",
            "StayReported",
            "--source",
            "kbri-atlantis",
            "-",
            stdin=json.dumps(good),
        )
        assert result.returncode != 0
        assert "UNKNOWN_SOURCE" in result.stderr
        assert end_offsets(bus_settings, "citizen") == before

    def test_valid_event_is_published_and_tail_prints_it_decoded(self, bus_settings: BusSettings) -> None:
        """A valid event moves the end offset by one and `bus tail` prints it as JSON, personal data
        redacted unless asked for.
        """
        create_topics(bus_settings)
        data, source = a_stay_report()
        before = sum(end_offsets(bus_settings, "citizen").values())
        result = bus(
            bus_settings, "publish", "--type", "StayReported", "--source", source, "-", stdin=json.dumps(data)
        )
        assert result.returncode == 0, result.stderr
        assert sum(end_offsets(bus_settings, "citizen").values()) == before + 1
        tail = bus(bus_settings, "tail", "citizen", "--from-beginning", "--max", "1")
        assert tail.returncode == 0, tail.stderr
        line = json.loads(tail.stdout.splitlines()[0])
        assert line["source"] == source
        assert line["type"] == "id.go.kemlu.bus.citizen.v1.StayReported"
        assert line["data"]["country"] == data["country"]
        assert line["data"]["personal"]["full_name"] == "<redacted>"
        shown = bus(bus_settings, "tail", "citizen", "--from-beginning", "--max", "1", "--show-personal")
        assert json.loads(shown.stdout.splitlines()[0])["data"]["personal"] == data["personal"]
