"""``bus archive`` and ``bus verify`` against the real broker: the archive holds exactly what Kafka holds,
survives SIGKILL with no gap and no duplicate, is anchored on ``audit.anchors``, and is read by Apache
Avro's own tools.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from services.audit.anchors import latest_anchor
from services.audit.archive import ARCHIVE_FILE, iter_archived, read_datums
from services.audit.archiving import archive, archived_topics
from services.audit.files import sha256_file
from services.audit.manifest import UNREADABLE, chain, head
from services.audit.verify import FAIL, NOTE, verify_anchor, verify_archive
from services.bus.catalogue import CATALOGUE, create_topics
from services.bus.publisher import EventMeta, Publisher, producer_config
from services.bus.reading import read_to_end
from services.bus.settings import BusSettings
from services.registry.topics import REGISTRY_TOPICS
from services.sim.simulator import TrafficSimulator
from tests.integration.test_poison import RawName

BUS = [sys.executable, "-c", "from services.cli import main; main()"]
AVRO_TOOLS = Path(__file__).resolve().parents[2] / "deploy" / "avro" / "lib"


def env_of(settings: BusSettings) -> dict[str, str]:
    return {
        **os.environ,
        "BUS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "BUS_TOPIC_PREFIX": settings.topic_prefix,
        "BUS_PARTITIONS": str(settings.partitions),
    }


def bus(settings: BusSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BUS, *args], capture_output=True, text=True, env=env_of(settings), timeout=300, check=False
    )


def publish_history(settings: BusSettings, events: int, seed: int) -> None:
    """Topics created, ``events`` simulated events published through the SDK (acknowledged)."""
    create_topics(settings, (*CATALOGUE, *REGISTRY_TOPICS))
    sim = TrafficSimulator(seed, start=datetime.now(UTC) - timedelta(days=60))
    with Publisher(settings) as publisher:
        batch = sim.next_batch(events)
        outgoing = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in batch]
        publisher.send_prepared(outgoing)


def kafka_records(settings: BusSettings, topic: str) -> list[tuple[Any, ...]]:
    """Every record of a topic as Kafka returns it, per partition in offset order."""
    records = [
        (
            m.topic,
            m.partition,
            m.offset,
            m.timestamp,
            m.timestamp_type,
            m.key,
            m.value,
            tuple((k, b"" if v is None else v) for k, v in m.headers),
        )
        for m in read_to_end(settings, settings.topic(topic))
    ]
    return sorted(records, key=lambda r: (r[1], r[2]))


def archived(directory: Path, topic: str) -> list[tuple[Any, ...]]:
    return [
        (r.topic, r.partition, r.offset, r.timestamp_ms, r.timestamp_type, r.key, r.value, r.headers)
        for r in iter_archived(directory, topic)
    ]


def tree(directory: Path) -> dict[str, str]:
    """Every file of an archive but its id, by path: its SHA-256."""
    return {
        p.relative_to(directory).as_posix(): sha256_file(p)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != ARCHIVE_FILE
    }


class TestArchive:
    def test_archive_holds_what_kafka_holds_and_verifies(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """Every record of every archived topic, byte for byte; verify passes with the anchor; a second run
        adds only what was published since.
        """
        publish_history(bus_settings, 900, seed=3)
        directory = tmp_path / "archive"
        result = bus(bus_settings, "archive", "--dir", str(directory), "--max-file-records", "100")
        assert result.returncode == 0, result.stderr
        sequence, head_sha = head(directory)
        assert f"head {head_sha}" in result.stdout
        assert f"anchored on audit.anchors: manifest {sequence}" in result.stdout
        for topic in archived_topics():
            assert archived(directory, topic) == kafka_records(bus_settings, topic), topic
        assert sum(len(archived(directory, t)) for t in archived_topics()) == 900

        checked = bus(bus_settings, "verify", "--archive", str(directory))
        assert checked.returncode == 0, checked.stdout
        assert (
            checked.stdout.splitlines()[-1]
            == f"OK: {sequence} files, 900 records, {sequence} manifests, head {head_sha}"
        )
        assert f"NOTE manifests/{sequence:08d}.json: the head, as anchored at" in checked.stdout

        publish_history(bus_settings, 100, seed=4)
        again = archive(bus_settings, directory, max_file_records=100)
        assert again.records == 100
        assert again.total_records == 1000
        report = verify_archive(directory)
        assert not report.failed
        anchor = latest_anchor(bus_settings, json.loads((directory / ARCHIVE_FILE).read_text())["archive_id"])
        assert anchor is not None
        assert (anchor.sequence, anchor.head_sha256) == (sequence, head_sha)  # the first run's anchor
        verify_anchor(directory, anchor, report)
        assert not report.failed
        assert any(f.severity == NOTE and "came after it" in f.problem for f in report.findings)

    def test_verify_fails_when_the_archive_no_longer_matches_its_anchor(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """The head manifest rewritten after anchoring: ``bus verify`` exits 1 naming that manifest."""
        publish_history(bus_settings, 200, seed=5)
        directory = tmp_path / "archive"
        assert bus(bus_settings, "archive", "--dir", str(directory)).returncode == 0
        sequence, _ = head(directory)
        last = chain(directory)[-1].path
        last.write_bytes(last.read_bytes().replace(b'"format": 1', b'"format":  1'))
        result = bus(bus_settings, "verify", "--archive", str(directory))
        assert result.returncode == 1
        assert f"FAIL manifests/{sequence:08d}.json: SHA-256 " in result.stdout
        assert "the archive was rewritten after it was anchored" in result.stdout
        skipped = bus(bus_settings, "verify", "--archive", str(directory), "--no-anchor")
        assert skipped.returncode == 0, skipped.stdout

    def test_a_record_the_client_cannot_read_is_declared_not_lost(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """A record whose header name is not UTF-8 (kafka-python cannot parse it) between good ones: the
        archive declares that one offset unreadable, keeps every other, and verify passes with a NOTE.
        """
        publish_history(bus_settings, 50, seed=6)
        topic = bus_settings.topic("passport")
        producer = KafkaProducer(**producer_config(bus_settings))
        try:
            bad = producer.send(
                topic, b"\xc3\x01", key=b"k", partition=0, headers=[(RawName("bad\udcff"), b"")]
            )
            producer.flush()
            bad_offset = bad.get(30).offset
            producer.send(topic, b"\xc3\x01after", key=b"k", partition=0).get(30)
        finally:
            producer.close()
        directory = tmp_path / "archive"
        archive(bus_settings, directory, topics=["passport"])
        offsets = [r.offset for r in iter_archived(directory, "passport") if r.partition == 0]
        assert bad_offset not in offsets
        assert offsets == [o for o in range(bad_offset + 2) if o != bad_offset]
        gaps = [g for link in chain(directory) if link.manifest for g in link.manifest.gaps]
        assert [(g.first, g.last, g.why) for g in gaps] == [(bad_offset, bad_offset, UNREADABLE)]
        report = verify_archive(directory)
        assert not report.failed
        assert [(f.severity, f.offset) for f in report.findings] == [(NOTE, bad_offset)]


class TestKilledAndResumed:
    def test_sigkill_mid_way_then_resume_equals_one_go(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """``bus archive`` killed with SIGKILL after some files, then run again, gives the same files, the
        same manifests and the same head as a run that was never interrupted; only the archive id (and so
        the key and time of its anchors) differs. No gap, no duplicate: verify passes on both.
        """
        publish_history(bus_settings, 3000, seed=8)
        killed, whole = tmp_path / "killed", tmp_path / "whole"
        args = [*BUS, "archive", "--dir", str(killed), "--max-file-records", "10", "--no-anchor"]
        process = subprocess.Popen(
            args, env=env_of(bus_settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        manifests = killed / "manifests"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(manifests.glob("*.json"))) < 40:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
        at_kill = len(chain(killed))
        assert at_kill >= 40
        assert not verify_archive(killed).failed  # a prefix of the archive, every file whole

        resumed = bus(bus_settings, "archive", "--dir", str(killed), "--max-file-records", "10")
        assert resumed.returncode == 0, resumed.stderr
        one_go = bus(bus_settings, "archive", "--dir", str(whole), "--max-file-records", "10")
        assert one_go.returncode == 0, one_go.stderr

        assert len(chain(killed)) > at_kill
        assert tree(killed) == tree(whole)
        assert head(killed) == head(whole)
        for topic in archived_topics():
            assert archived(killed, topic) == kafka_records(bus_settings, topic)
        for directory in (killed, whole):
            report = verify_archive(directory)
            assert [f for f in report.findings if f.severity == FAIL] == []
            assert report.records == 3000
        ids = {json.loads((d / ARCHIVE_FILE).read_text())["archive_id"] for d in (killed, whole)}
        assert len(ids) == 2
        for archive_id in ids:
            anchor = latest_anchor(bus_settings, archive_id)
            assert anchor is not None
            assert (anchor.sequence, anchor.head_sha256) == head(whole)


class TestStandardTools:
    def test_avro_tools_reads_an_archive_file_as_we_do(
        self, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """``java -jar avro-tools.jar tojson`` on one archive file gives the same records, byte for byte
        (Avro's JSON form of bytes: one character per byte), and ``getschema`` the documented schema.
        """
        publish_history(bus_settings, 300, seed=9)
        directory = tmp_path / "archive"
        archive(bus_settings, directory)
        link = max(chain(directory), key=lambda lk: lk.manifest.record_count if lk.manifest else 0)
        assert link.manifest is not None
        path = directory / link.manifest.file
        jar = next(AVRO_TOOLS.glob("avro-tools-*.jar"))
        out = subprocess.run(
            ["java", "-jar", str(jar), "tojson", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        theirs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        ours = list(read_datums(path))
        assert len(theirs) == len(ours) == link.manifest.record_count > 0
        for their, our in zip(theirs, ours, strict=True):
            assert _plain(their) == our
        schema = subprocess.run(
            ["java", "-jar", str(jar), "getschema", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert json.loads(schema.stdout)["name"] == "ArchivedRecord"


def _plain(their: dict[str, Any]) -> dict[str, Any]:
    """Avro's JSON encoding back to values: a union as ``{"bytes": text}``, bytes as one char per byte."""

    def nullable_bytes(value: Any) -> bytes | None:
        return None if value is None else value["bytes"].encode("latin-1")

    return {
        **their,
        "key": nullable_bytes(their["key"]),
        "value": nullable_bytes(their["value"]),
        "headers": [{"name": h["name"], "value": nullable_bytes(h["value"])} for h in their["headers"]],
    }
