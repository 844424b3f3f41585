"""The archive and its verification, on archives built from synthetic records (no broker).

Each tampering an auditor must catch (a flipped byte, a record deleted, inserted or moved, a file dropped,
a manifest rewritten) is done to a good archive, and ``verify`` must fail naming the file and the record.
"""

from __future__ import annotations

import io
import json
import random
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fastavro
import pytest

from services.audit.archive import (
    ARCHIVE_FILE,
    ArchivedRecord,
    datum_of,
    encode_file,
    encode_record,
    iter_archived,
    read_datums,
    record_schema,
)
from services.audit.archiving import ArchiveError, _only_run, archive_records, remove_unfinished
from services.audit.files import sha256_file, sha256_hex
from services.audit.manifest import ABSENT, GENESIS, Manifest, chain, head, manifest_path
from services.audit.verify import FAIL, NOTE, Report, verify_anchor, verify_archive
from services.contracts.audit import ArchiveAnchorModel

TOPIC = "citizen"
DAY_ONE = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Message:
    """What the archive takes from a kafka-python ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


def messages(partition: int, count: int, *, seed: int = 1, start: datetime = DAY_ONE) -> list[Message]:
    """``count`` records of one partition, a minute apart (so they cross midnight), values that look like
    Avro single-object frames, one header with a null value.
    """
    rng = random.Random(seed * 1000 + partition)
    out = []
    for offset in range(count):
        when = start + timedelta(minutes=offset * 7)
        out.append(
            Message(
                topic=TOPIC,
                partition=partition,
                offset=offset,
                timestamp=int(when.timestamp() * 1000),
                timestamp_type=0,
                key=None if offset == 3 else f"key-{rng.randrange(10**6)}".encode(),
                value=b"\xc3\x01" + rng.randbytes(40 + offset % 17),
                headers=[("ce_id", f"id-{offset}".encode()), ("ce_source", b"kbri-tokyo"), ("x_null", None)],
            )
        )
    return out


def build(directory: Path, *, partitions: int = 2, count: int = 40, max_file_records: int = 8) -> None:
    """A good archive: ``partitions`` partitions of ``count`` records, files cut by day and size."""
    for partition in range(partitions):
        archive_records(
            directory, messages(partition, count), catalogue_topic=TOPIC, max_file_records=max_file_records
        )


def failures(report: Report) -> list[tuple[str, int | None, str]]:
    return [(f.where, f.offset, f.problem) for f in report.findings if f.severity == FAIL]


def manifest_of(directory: Path, sequence: int) -> Manifest:
    return Manifest.from_bytes(manifest_path(directory, sequence).read_bytes())


def rewrite_file(directory: Path, manifest: Manifest, change) -> None:
    """Re-encode one archive file with its records changed by ``change`` (a list -> list function), as a
    forger with Avro tools would: a valid Avro file, its manifest untouched.
    """
    path = directory / manifest.file
    datums = change(list(read_datums(path)))
    path.write_bytes(encode_file(manifest.topic, manifest.partition, manifest.first_offset, datums))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    directory = tmp_path / "archive"
    build(directory)
    return directory


class TestReadBack:
    def test_iter_archived_gives_every_record_as_it_was(self, archive: Path) -> None:
        """Per partition in offset order, every field as given, a null header value as empty bytes."""
        got = list(iter_archived(archive, TOPIC))
        want = [m for p in range(2) for m in messages(p, 40)]
        assert [(r.partition, r.offset) for r in got] == [(m.partition, m.offset) for m in want]
        for record, message in zip(got, want, strict=True):
            assert record == ArchivedRecord(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                timestamp_ms=message.timestamp,
                timestamp_type=message.timestamp_type,
                key=message.key,
                value=message.value,
                headers=tuple((k, b"" if v is None else v) for k, v in message.headers),
            )
        assert list(iter_archived(archive, "passport")) == []

    def test_files_are_cut_by_utc_day_and_size(self, archive: Path) -> None:
        """40 records 7 minutes apart from 22:00 cross midnight: files of day one and day two, at most 8
        records each, named by topic, partition, day and first offset.
        """
        manifests = [link.manifest for link in chain(archive)]
        assert all(m is not None for m in manifests)
        days = {(m.partition, m.day) for m in manifests if m is not None}
        assert days == {(p, d) for p in range(2) for d in ("2026-11-30", "2026-12-01")}
        assert all(m is not None and m.record_count <= 8 for m in manifests)
        first = manifests[0]
        assert first is not None
        assert first.file == "records/citizen/0/2026-11-30/00000000000000000000.avro"

    def test_a_file_is_a_standard_avro_file_with_the_documented_schema(self, archive: Path) -> None:
        """Any Avro reader opens a file: the schema inside is the .avsc, docs included; codec deflate."""
        first = manifest_of(archive, 1)
        with (archive / first.file).open("rb") as handle:
            reader = fastavro.reader(handle)
            assert json.loads(reader.metadata["avro.schema"]) == record_schema()
            assert reader.metadata["avro.codec"] == "deflate"
            assert [r["offset"] for r in reader] == list(range(first.first_offset, first.last_offset + 1))

    def test_the_manifest_is_what_sha256sum_says(self, archive: Path) -> None:
        """A manifest's file_sha256 is the file's SHA-256; the next manifest names this one's SHA-256."""
        links = chain(archive)
        for before, link in zip([None, *links], links, strict=False):
            assert link.manifest is not None
            assert link.manifest.file_sha256 == sha256_file(archive / link.manifest.file)
            expected = GENESIS if before is None else sha256_hex(before.path.read_bytes())
            assert link.manifest.previous_sha256 == expected
        assert head(archive) == (len(links), sha256_hex(links[-1].path.read_bytes()))

    @pytest.mark.parametrize(
        "datum",
        [
            {"key": None, "value": None, "headers": [], "timestamp_ms": -1, "timestamp_type": -1},
            {"key": b"", "value": b"", "headers": [{"name": "", "value": b""}], "timestamp_ms": 0},
            {
                "key": b"\x00" * 300,
                "value": bytes(range(256)) * 40,
                "offset": 2**63 - 1,
                "partition": 2**31 - 1,
            },
            {"topic": "t\u00e9st.citizen", "headers": [{"name": "n\u00e4me", "value": None}] * 70},
        ],
        ids=["nulls", "empties", "large", "unicode"],
    )
    def test_a_record_is_encoded_as_fastavro_encodes_it(self, datum: dict) -> None:
        """The archive's own encoder writes each record's bytes exactly as fastavro's schemaless writer."""
        base = messages(0, 1)[0]
        full = {**datum_of(base), **datum}
        theirs = io.BytesIO()
        fastavro.schemaless_writer(theirs, fastavro.parse_schema(record_schema()), full)
        assert encode_record(full) == theirs.getvalue()

    def test_a_big_file_of_many_blocks_reads_back(self, tmp_path: Path) -> None:
        """3,000 records of one day: one file, many deflate blocks, read back in order by fastavro."""
        given = [replace(m, timestamp=m.timestamp - m.offset * 420_000 + m.offset) for m in messages(0, 3000)]
        directory = tmp_path / "big"
        archive_records(directory, given, catalogue_topic=TOPIC)
        manifest = manifest_of(directory, 1)
        assert (manifest.first_offset, manifest.last_offset, len(chain(directory))) == (0, 2999, 1)
        with (directory / manifest.file).open("rb") as handle:
            blocks = list(fastavro.block_reader(handle))
        assert len(blocks) > 10
        assert [r.value for r in iter_archived(directory, TOPIC)] == [m.value for m in given]
        assert failures(verify_archive(directory)) == []


class TestVerifyPasses:
    def test_a_good_archive_verifies(self, archive: Path) -> None:
        """No failure, every file and record counted, the head reported."""
        report = verify_archive(archive)
        assert failures(report) == []
        assert report.records == 80
        assert report.files == len(chain(archive))
        assert report.head == head(archive)[1]

    def test_appending_later_continues_the_chain_without_gap_or_duplicate(self, tmp_path: Path) -> None:
        """A run that stopped at a file boundary (as a killed run's last manifest is), then given every
        record again: only the new ones are archived, and the archive equals one written in one go, byte for
        byte.
        """
        once, twice = tmp_path / "once", tmp_path / "twice"
        archive_records(once, messages(0, 30), catalogue_topic=TOPIC, max_file_records=8)
        archive_records(twice, messages(0, 16), catalogue_topic=TOPIC, max_file_records=8)
        result = archive_records(twice, messages(0, 30), catalogue_topic=TOPIC, max_file_records=8)
        assert result.records == 14
        assert failures(verify_archive(twice)) == []
        assert [r.offset for r in iter_archived(twice, TOPIC)] == list(range(30))
        assert _tree(once) == _tree(twice)

    def test_what_a_killed_run_left_is_removed_and_written_again(self, archive: Path, tmp_path: Path) -> None:
        """A file without its manifest and a temporary file (a run killed between the two renames, or in a
        write) are removed by the next run, which writes the same file again.
        """
        pristine = tmp_path / "pristine"
        shutil.copytree(archive, pristine)
        last = chain(archive)[-1]
        assert last.manifest is not None
        last.path.unlink()
        (archive / "manifests" / "00000099.json.tmp").write_bytes(b"{half")
        report = verify_archive(archive)
        assert any(f.severity == NOTE and f.where == last.manifest.file for f in report.findings)
        for partition in range(2):
            archive_records(archive, messages(partition, 40), catalogue_topic=TOPIC, max_file_records=8)
        assert _tree(archive) == _tree(pristine)
        assert remove_unfinished(archive, [link.manifest for link in chain(archive) if link.manifest]) == 0

    def test_two_runs_never_append_at_once(self, archive: Path) -> None:
        """A run on an archive another run holds is refused (two would fork the chain); nothing changes."""
        before = _tree(archive)
        with _only_run(archive), pytest.raises(ArchiveError, match="another bus archive"):
            archive_records(archive, messages(0, 41), catalogue_topic=TOPIC)
        assert _tree(archive) == before


class TestVerifyCatches:
    def test_one_flipped_byte_of_one_record(self, archive: Path) -> None:
        """A record's value changed by one bit in a re-encoded file: the file's hash and that record."""
        target = manifest_of(archive, 2)
        victim = target.first_offset + 2

        def flip(datums):
            for datum in datums:
                if datum["offset"] == victim:
                    value = bytearray(datum["value"])
                    value[5] ^= 0x01
                    datum["value"] = bytes(value)
            return datums

        rewrite_file(archive, target, flip)
        found = failures(verify_archive(archive))
        assert (
            target.file,
            victim,
            "differs from the digest its manifest keeps: the record was altered",
        ) in found
        assert any(where == target.file and offset is None and "SHA-256" in p for where, offset, p in found)
        assert all(where == target.file for where, _, _ in found)

    def test_one_flipped_byte_of_the_file_itself(self, archive: Path) -> None:
        """A byte flipped on disk inside the compressed block: the file fails its hash, and the record
        where reading breaks (or that came out altered) is named.
        """
        target = manifest_of(archive, 3)
        path = archive / target.file
        data = bytearray(path.read_bytes())
        data[-30] ^= 0xFF
        path.write_bytes(bytes(data))
        found = failures(verify_archive(archive))
        assert any(where == target.file and "SHA-256" in p for where, _, p in found)
        assert any(where == target.file and offset is not None for where, offset, _ in found) or any(
            where == target.file and "does not read as Avro" in p for where, _, p in found
        )

    def test_one_record_deleted(self, archive: Path) -> None:
        """A record left out of a re-encoded file: named as missing."""
        target = manifest_of(archive, 2)
        victim = target.first_offset + 1
        rewrite_file(archive, target, lambda ds: [d for d in ds if d["offset"] != victim])
        found = failures(verify_archive(archive))
        assert (target.file, victim, "is missing: the manifest lists it") in found

    def test_one_record_inserted(self, archive: Path) -> None:
        """A forged record after the last one: named as not in the manifest."""
        target = manifest_of(archive, 2)
        forged_offset = target.last_offset + 1

        def insert(datums):
            forged = dict(datums[-1], offset=forged_offset, value=b"\xc3\x01forged")
            return [*datums, forged]

        rewrite_file(archive, target, insert)
        found = failures(verify_archive(archive))
        assert (
            target.file,
            forged_offset,
            "is not in the manifest (inserted, or outside its offsets)",
        ) in found

    def test_one_record_duplicated(self, archive: Path) -> None:
        """A record written twice: named."""
        target = manifest_of(archive, 2)
        rewrite_file(archive, target, lambda ds: [*ds[:2], ds[1], *ds[2:]])
        found = failures(verify_archive(archive))
        assert (target.file, target.first_offset + 1, "is in the file twice") in found

    def test_two_records_reordered(self, archive: Path) -> None:
        """Two records swapped: the one that comes too late is named."""
        target = manifest_of(archive, 2)
        rewrite_file(archive, target, lambda ds: [ds[0], ds[2], ds[1], *ds[3:]])
        found = failures(verify_archive(archive))
        first = target.first_offset
        why = f"comes after offset {first + 2}: the records are out of offset order"
        assert [f for f in found if f[1] is not None] == [(target.file, first + 1, why)]
        assert [f[0] for f in found if f[1] is None] == [target.file]  # and its SHA-256 differs

    def test_a_whole_file_dropped(self, archive: Path) -> None:
        """A file deleted, its manifest kept: named as missing with its offsets."""
        target = manifest_of(archive, 3)
        (archive / target.file).unlink()
        found = failures(verify_archive(archive))
        why = (
            f"missing: manifest 3 lists {target.record_count} records, offsets "
            f"{target.first_offset}..{target.last_offset}"
        )
        assert found == [(target.file, target.first_offset, why)]

    def test_a_file_dropped_with_its_manifest_and_the_chain_renumbered(self, archive: Path) -> None:
        """A forger who also removes the manifest and renumbers and re-chains all after it: the offsets
        of that partition now have a hole, named with the file after it.
        """
        manifests = [link.manifest for link in chain(archive) if link.manifest]
        dropped = manifests[2]
        (archive / dropped.file).unlink()
        for path in (archive / "manifests").iterdir():
            path.unlink()
        previous = GENESIS
        for sequence, m in enumerate([m for m in manifests if m != dropped], start=1):
            data = replace(m, sequence=sequence, previous_sha256=previous).to_bytes()
            manifest_path(archive, sequence).write_bytes(data)
            previous = sha256_hex(data)
        found = failures(verify_archive(archive))
        follower = next(
            m
            for m in manifests
            if m.partition == dropped.partition and m.first_offset == dropped.last_offset + 1
        )
        why = (
            f"offsets {dropped.first_offset}..{dropped.last_offset} of citizen[{dropped.partition}] "
            f"are in no archive file (between {manifests[1].file} and this file)"
        )
        assert found == [(follower.file, dropped.first_offset, why)]

    def test_a_manifest_rewritten(self, archive: Path) -> None:
        """A manifest made to agree with a tampered file: the next manifest no longer names its hash."""
        target = manifest_of(archive, 2)
        rewrite_file(archive, target, lambda ds: ds[:-1])
        path = archive / target.file
        forged = replace(
            target,
            last_offset=target.last_offset - 1,
            record_count=target.record_count - 1,
            record_digests=target.record_digests[:-1],
            file_sha256=sha256_file(path),
            file_bytes=path.stat().st_size,
        )
        manifest_path(archive, 2).write_bytes(forged.to_bytes())
        found = failures(verify_archive(archive))
        assert any(
            where == "manifests/00000003.json" and "manifest 2 was changed, removed or put in its place" in p
            for where, _, p in found
        )
        assert any(
            where == manifest_of(archive, 3).file and offset == target.last_offset and "no archive file" in p
            for where, offset, p in found
        )

    def test_a_manifest_that_is_not_json(self, archive: Path) -> None:
        """A manifest overwritten with garbage: named, and the chain breaks at the next one."""
        target = manifest_of(archive, 2)
        manifest_path(archive, 2).write_bytes(b"not json")
        found = failures(verify_archive(archive))
        assert ("manifests/00000002.json", None, "does not parse (the manifest is not JSON)") in found
        assert any(w == "manifests/00000003.json" and "manifest 2 was changed" in p for w, _, p in found)
        assert any(o == target.first_offset and "are in no archive file" in p for _, o, p in found)

    def test_the_head_manifest_rewritten_is_caught_by_the_anchor(self, archive: Path) -> None:
        """Rewriting the last manifest breaks no link after it: the anchor published before catches it."""
        sequence, anchored = head(archive)
        anchor = ArchiveAnchorModel(
            archive_id=json.loads((archive / ARCHIVE_FILE).read_text())["archive_id"],
            sequence=sequence,
            head_sha256=anchored,
            records=80,
            anchored_at=datetime.now(UTC),
        )
        good = verify_archive(archive)
        verify_anchor(archive, anchor, good)
        assert not good.failed
        last = manifest_of(archive, sequence)
        rewrite_file(archive, last, lambda ds: ds[:-1])
        path = archive / last.file
        forged = replace(
            last,
            last_offset=last.last_offset - 1,
            record_count=last.record_count - 1,
            record_digests=last.record_digests[:-1],
            file_sha256=sha256_file(path),
            file_bytes=path.stat().st_size,
        )
        manifest_path(archive, sequence).write_bytes(forged.to_bytes())
        report = verify_archive(archive)
        assert not report.failed  # the archive alone is consistent again...
        verify_anchor(archive, anchor, report)
        where = f"manifests/{sequence:08d}.json"
        assert [(w, o) for w, o, _ in failures(report)] == [(where, None)]  # ...but not what was anchored
        assert "the archive was rewritten after it was anchored" in failures(report)[0][2]

    def test_no_anchor_is_a_failure(self, archive: Path) -> None:
        """An archive whose head was never anchored cannot be proven against the bus."""
        report = verify_archive(archive)
        verify_anchor(archive, None, report)
        assert [w for w, _, _ in failures(report)] == ["audit.anchors"]

    def test_a_gap_in_the_topic_fails(self, tmp_path: Path) -> None:
        """Offsets Kafka never returned (compacted away, a transaction marker): declared in the manifest
        and failed, since the archived topics have contiguous offsets.
        """
        directory = tmp_path / "gap"
        given = [m for m in messages(0, 12) if m.offset not in {5, 6}]
        archive_records(directory, given, catalogue_topic=TOPIC, max_file_records=100)
        manifest = manifest_of(directory, 1)
        assert [(g.first, g.last, g.why) for g in manifest.gaps] == [(5, 6, ABSENT)]
        found = failures(verify_archive(directory))
        assert [(w, o) for w, o, _ in found] == [(manifest.file, 5)]


def _tree(directory: Path) -> dict[str, str]:
    """Every file of an archive but its id, by path: its SHA-256."""
    return {
        p.relative_to(directory).as_posix(): sha256_file(p)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != ARCHIVE_FILE
    }


class TestVerifyCommand:
    def test_bus_verify_prints_one_line_per_finding_and_exits_1_never_a_value(self, tmp_path: Path) -> None:
        """``bus verify --archive DIR --no-anchor`` (no broker): OK and exit 0 on a good archive; on an
        altered one, a FAIL line naming the file and offset, the verdict, exit 1; never the personal data
        the records hold.
        """
        from typer.testing import CliRunner

        from services.cli.main import app

        secret = b"Siti Rahmawati, NIK 3174055705900001"
        given = [replace(m, value=m.value + secret) for m in messages(0, 12)]
        directory = tmp_path / "archive"
        archive_records(directory, given, catalogue_topic=TOPIC, max_file_records=5)
        runner = CliRunner()
        good = runner.invoke(app, ["verify", "--archive", str(directory), "--no-anchor"])
        assert good.exit_code == 0, good.output
        assert good.output.splitlines()[-1].startswith("OK: 3 files, 12 records, 3 manifests, head ")
        target = manifest_of(directory, 2)

        def alter(datums):
            datums[1]["value"] = datums[1]["value"].replace(b"Siti", b"Sita")
            return datums

        rewrite_file(directory, target, alter)
        bad = runner.invoke(app, ["verify", "--archive", str(directory), "--no-anchor"])
        assert bad.exit_code == 1
        lines = bad.output.splitlines()
        altered = target.first_offset + 1
        why = "differs from the digest its manifest keeps: the record was altered"
        assert f"FAIL {target.file} offset {altered}: {why}" in lines
        assert lines[-1].startswith("FAILED (2 failures): 3 files, 12 records, 3 manifests, head ")
        for text in (b"Siti", b"Sita", b"3174055705900001"):
            assert text.decode() not in bad.output + good.output
