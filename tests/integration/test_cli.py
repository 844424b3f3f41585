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


NIK = "3174055705900001"


class TestNothingEchoedNothingSent:
    def test_refusals_exit_2_with_a_message_never_a_traceback_or_the_value(
        self, bus_settings: BusSettings
    ) -> None:
        """A NIK typed as the type, as a key inside personal, as the id; a naive time, a local time, a time
        before 2000; broken JSON: each exits 2 with a one-line error naming the rule, never the NIK, and
        the topic's end offsets do not move.
        """
        create_topics(bus_settings)
        data, source = a_stay_report()
        full = {"type": "StayReported", "source": source, "data": data}
        with_key = json.loads(json.dumps(data))
        with_key["personal"][NIK] = "x"
        cases = {
            "nik as type": {**full, "type": NIK},
            "nik as key in personal": {**full, "data": with_key},
            "nik as id": {**full, "id": NIK},
            "naive time": {**full, "time": "2026-01-01T08:00:00"},
            "local time": {**full, "time": "2026-01-01T15:00:00+07:00"},
            "before 2000": {**full, "time": "1999-12-31T23:59:59Z"},
        }
        before = end_offsets(bus_settings, "citizen")
        for label, doc in cases.items():
            result = bus(bus_settings, "publish", "-", stdin=json.dumps(doc))
            assert result.returncode == 2, (label, result.stderr)
            assert result.stderr.startswith("error: "), label
            assert "Traceback" not in result.stderr, label
            assert NIK not in result.stderr + result.stdout, label
        assert "TIME_OUT_OF_RANGE" in result.stderr
        broken = bus(bus_settings, "publish", "-", stdin='{"type": "StayReported", "data": ' + "[" * 100_000)
        assert broken.returncode == 2
        assert "Traceback" not in broken.stderr
        missing = bus(bus_settings, "publish", "/nonexistent/events.json")
        assert missing.returncode == 2
        assert "Traceback" not in missing.stderr
        assert end_offsets(bus_settings, "citizen") == before


class TestTailGoesOn:
    def test_tail_shows_an_error_line_for_each_poison_record_and_goes_on(
        self, bus_settings: BusSettings
    ) -> None:
        """A year-one time, a header name that is not UTF-8 (kafka-python cannot even parse it) and a
        forged ce_source, then a valid event, all on one partition: `bus tail` prints an error line for
        each of the three (no bytes without --show-personal) and the valid event decoded after them.
        """
        from kafka import KafkaProducer

        from services.bus.publisher import EventMeta, Publisher, producer_config
        from tests.integration.test_poison import RawName

        create_topics(bus_settings)
        sim = TrafficSimulator(5, start=datetime.now(UTC) - timedelta(days=3))
        s = next(x for x in sim.next_batch(50) if x.event.TOPIC == "citizen")
        with Publisher(bus_settings) as publisher:
            good = publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
        year_one = [(k, b"0001-01-01T00:00:00+01:00" if k == "ce_time" else v) for k, v in good.headers]
        poison = [
            year_one,
            [*good.headers, (RawName("\udcff\udcfe"), b"x")],
            [*good.headers, ("ce_source", b"kbri-tokyo")],
            good.headers,
        ]
        producer = KafkaProducer(**producer_config(bus_settings))
        for headers in poison:  # one batch each: nothing after a corrupt record in its batch can be read
            producer.send(good.topic, good.value, key=good.key, headers=headers).get(30)
        producer.close()

        tail = bus(bus_settings, "tail", "citizen", "--from-beginning", "--max", "4", "--idle", "20")
        assert tail.returncode == 0, tail.stderr
        lines = [json.loads(line) for line in tail.stdout.splitlines()]
        assert [line.get("error", "").split(":")[0] for line in lines] == [
            "INVALID_ENVELOPE",
            "CORRUPT_RECORD",
            "INVALID_ENVELOPE",
            "",
        ]
        assert [line["offset"] for line in lines] == [0, 1, 2, 3]
        assert all("value_base64" not in line for line in lines[:3])
        assert lines[3]["id"] == good.envelope.id
