"""``bus archive``: the domain topics, ``registry.access`` and ``bus.deadletter`` written to Avro files,
chained by manifests.

One partition at a time, from the offset after its last manifested record to the end offset taken when
the run began, cut into files by UTC day of the record timestamp (and at ``max_file_records``). Each file
is written atomically, then its manifest, so a run killed at any instant leaves whole files with
manifests, at most one file without (removed and written again by the next run), and nothing half written.
A resumed run starts exactly after the last manifested offset of each partition: no gap, no duplicate,
and, since file boundaries depend only on the records, the same files and manifests as one run would.
"""

from __future__ import annotations

import fcntl
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import TopicPartition
from kafka.errors import CorruptRecordError

from services.audit.archive import (
    ARCHIVE_FILE,
    RECORDS,
    archive_id,
    datum_of,
    day_of,
    encode_file_and_digests,
    file_name,
    write_file,
)
from services.audit.files import TEMP_SUFFIX, atomic_write, sha256_hex
from services.audit.manifest import ABSENT, GENESIS, UNREADABLE, Gap, Manifest, chain, manifest_path
from services.bus.catalogue import domain_topics
from services.bus.consumer import skip_unreadable
from services.bus.errors import TopicMissing
from services.bus.logs import get_logger
from services.bus.reading import group_less, partitions_of
from services.bus.settings import BusSettings

log = get_logger("archive")

ACCESS_TOPIC = "registry.access"
"""Who looked up whom: archived with the domain topics, since auditors replay it too."""
DEADLETTER_TOPIC = "bus.deadletter"
"""What the processors refused: a replay from the archive must skip exactly what the live run skipped."""
MAX_FILE_RECORDS = 50_000
"""Records per file at most (held in memory until written); a day with more gets several files."""
STALL_SECONDS = 60.0


def archived_topics() -> tuple[str, ...]:
    """The catalogue names of the topics an archive holds."""
    return (*domain_topics(), ACCESS_TOPIC, DEADLETTER_TOPIC)


class ArchiveError(Exception):
    """The archive cannot be appended to as it is (its chain is broken): ``bus verify`` says where."""


@dataclass
class RunResult:
    """What one run did, and the archive's head after it."""

    archive_id: str
    files: int = 0
    records: int = 0
    sequence: int = 0
    head: str = GENESIS
    total_records: int = 0
    per_topic: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    """Topics the broker does not have (nothing to archive of them)."""


@dataclass
class _Chain:
    """The end of the chain the run appends to."""

    directory: Path
    sequence: int
    previous: str

    def append(self, manifest_fields: dict[str, Any]) -> Manifest:
        """Write the next manifest (after its file is in place) and move the head to it."""
        manifest = Manifest(sequence=self.sequence + 1, previous_sha256=self.previous, **manifest_fields)
        data = manifest.to_bytes()
        atomic_write(manifest_path(self.directory, manifest.sequence), data)
        self.sequence, self.previous = manifest.sequence, sha256_hex(data)
        return manifest


@dataclass
class _Pending:
    """The file being gathered for one partition, and the gaps seen since the last file."""

    datums: list[dict[str, Any]] = field(default_factory=list)
    day: str = ""
    gaps: list[Gap] = field(default_factory=list)
    carried: list[Gap] = field(default_factory=list)
    """Gaps seen since the last record: they go with the file of the next record (the run that sees it)."""


def ensure_archive_id(directory: Path) -> str:
    """The archive's id, created (a fresh UUID in ``archive.json``) the first time."""
    found = archive_id(directory)
    if found is not None:
        return found
    created = str(uuid.uuid4())
    atomic_write(directory / ARCHIVE_FILE, (json.dumps({"archive_id": created}) + "\n").encode())
    return created


def remove_unfinished(directory: Path, manifests: Sequence[Manifest]) -> int:
    """Remove what a killed run left: temporary files, and archive files no manifest names."""
    named = {directory / m.file for m in manifests}
    removed = 0
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        unfinished = path.name.endswith(TEMP_SUFFIX)
        orphan = path.is_relative_to(directory / RECORDS) and path not in named
        if unfinished or orphan:
            path.unlink()
            removed += 1
    return removed


@dataclass
class _Opened:
    """An archive ready to be appended to: the run's result, its chain's end, where each partition resumes."""

    result: RunResult
    end: _Chain
    resume: dict[tuple[str, int], int]
    earlier_records: int

    def finish(self) -> RunResult:
        """The run's result with the archive's head after it."""
        result = self.result
        result.sequence, result.head = self.end.sequence, self.end.previous
        result.total_records = self.earlier_records + result.records
        return result


LOCK_FILE = "archive.lock"
"""Held (``flock``) by the run appending to an archive; the system releases it when the run dies."""


@contextmanager
def _only_run(directory: Path) -> Iterator[None]:
    """Hold the archive's lock for a run: two runs appending at once would fork the chain."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveError("another bus archive is appending to this archive") from None
        yield


def _open(directory: Path) -> _Opened:
    """Open an archive for a run: its id (created if new), its intact chain, what a killed run left
    removed, and per partition the offset after its last manifested record.
    """
    directory.mkdir(parents=True, exist_ok=True)
    result = RunResult(archive_id=ensure_archive_id(directory))
    links = chain(directory)
    broken = [link for link in links if link.manifest is None]
    if broken:
        raise ArchiveError(f"manifest {broken[0].path.name} does not parse: the chain cannot be extended")
    manifests = [link.manifest for link in links if link.manifest is not None]
    if [m.sequence for m in manifests] != list(range(1, len(manifests) + 1)):
        raise ArchiveError("the manifests are not numbered 1..N: the chain cannot be extended")
    removed = remove_unfinished(directory, manifests)
    if removed:
        log.info("archive_unfinished_removed", files=removed)
    resume: dict[tuple[str, int], int] = {}
    for m in manifests:
        resume[(m.topic, m.partition)] = max(resume.get((m.topic, m.partition), 0), m.last_offset + 1)
    end = _Chain(directory, len(manifests), links[-1].sha256 if links else GENESIS)
    return _Opened(result, end, resume, sum(m.record_count for m in manifests))


def archive(
    settings: BusSettings,
    directory: Path,
    *,
    topics: Sequence[str] | None = None,
    max_file_records: int = MAX_FILE_RECORDS,
) -> RunResult:
    """Archive every record of ``topics`` (catalogue names; default: ``archived_topics()``) not yet in the
    archive at ``directory``, up to the end offsets of when each partition is reached.
    """
    with _only_run(directory):
        return _archive(settings, directory, topics or archived_topics(), max_file_records)


def _archive(
    settings: BusSettings, directory: Path, topics: Sequence[str], max_file_records: int
) -> RunResult:
    opened = _open(directory)
    result = opened.result
    with group_less(settings, auto_offset_reset="earliest", max_poll_records=2000) as consumer:
        for logical in topics:
            physical = settings.topic(logical)
            try:
                partitions = partitions_of(consumer, physical)
            except TopicMissing:
                result.missing.append(logical)
                continue
            for tp in partitions:
                start = opened.resume.get((physical, tp.partition), 0)
                count = _Partition(consumer, tp, logical, opened.end, result, max_file_records).run(start)
                result.per_topic[logical] = result.per_topic.get(logical, 0) + count
    return opened.finish()


def archive_records(
    directory: Path,
    records: Iterable[Any],
    *,
    catalogue_topic: str,
    max_file_records: int = MAX_FILE_RECORDS,
) -> RunResult:
    """Archive records already in hand (kafka-python ``ConsumerRecord`` s, or anything with the same
    attributes), of one partition, in offset order, as a run reading them from Kafka would: the same
    files, manifests, gaps and resumption. Records at or below the archive's last offset are skipped.
    """
    with _only_run(directory):
        opened = _open(directory)
        partition: _Partition | None = None
        for record in records:
            if partition is None:
                tp = TopicPartition(record.topic, record.partition)
                partition = _Partition(None, tp, catalogue_topic, opened.end, opened.result, max_file_records)
                partition.expected = opened.resume.get((record.topic, record.partition), 0)
            if record.offset >= partition.expected:
                partition.add(record)
        if partition is not None:
            partition.flush()
            opened.result.per_topic[catalogue_topic] = partition.archived
        return opened.finish()


@dataclass
class _Partition:
    """One partition being archived: the file it gathers, the gaps it saw, where it has got to."""

    consumer: Any
    tp: TopicPartition
    logical: str
    end: _Chain
    result: RunResult
    max_file_records: int
    expected: int = 0
    archived: int = 0
    pending: _Pending = field(default_factory=_Pending)

    def run(self, start: int) -> int:
        """Archive from ``start`` to the partition's end offset now; returns how many records."""
        tp, consumer = self.tp, self.consumer
        stop = int(consumer.end_offsets([tp])[tp])
        if start > stop:
            raise ArchiveError(
                f"{tp.topic}[{tp.partition}] ends at offset {stop} but the archive holds it up to "
                f"{start - 1}: the topic was recreated or truncated; archive it into a new directory"
            )
        if start == stop:
            return 0
        consumer.assign([tp])
        consumer.seek(tp, start)
        self.expected = start
        deadline = time.monotonic() + STALL_SECONDS
        while int(consumer.position(tp)) < stop:
            try:
                messages = consumer.poll(timeout_ms=1000).get(tp, [])
            except CorruptRecordError as exc:
                self.unreadable(skip_unreadable(consumer, exc).raw.offset)
                continue
            if messages:
                deadline = time.monotonic() + STALL_SECONDS
            elif time.monotonic() > deadline:
                raise RuntimeError(f"{tp.topic}[{tp.partition}] delivered nothing for {STALL_SECONDS:.0f} s")
            for message in messages:
                if message.offset < stop:
                    self.add(message)
        self.flush()
        log.info(
            "archive_partition",
            topic=tp.topic,
            partition=tp.partition,
            records=self.archived,
            next=self.expected,
        )
        return self.archived

    def unreadable(self, offset: int) -> None:
        """A record the Kafka client cannot parse: a gap, declared with the next file."""
        if offset > self.expected:
            self.pending.carried.append(Gap(self.expected, offset - 1, ABSENT))
        self.pending.carried.append(Gap(offset, offset, UNREADABLE))
        self.expected = offset + 1

    def add(self, message: Any) -> None:
        """One record: into the file being gathered, after writing that file if the day changed."""
        pending = self.pending
        if message.offset > self.expected:
            pending.carried.append(Gap(self.expected, message.offset - 1, ABSENT))
        day = day_of(message.timestamp)
        if pending.datums and (day != pending.day or len(pending.datums) >= self.max_file_records):
            self.flush()
        pending.day = day
        pending.gaps.extend(pending.carried)
        pending.carried.clear()
        pending.datums.append(datum_of(message))
        self.expected = message.offset + 1

    def flush(self) -> None:
        """Write the gathered file, then its manifest."""
        pending, tp = self.pending, self.tp
        if not pending.datums:
            return
        first, last = pending.datums[0]["offset"], pending.datums[-1]["offset"]
        name = file_name(tp.topic, tp.partition, pending.day, first)
        data, digests = encode_file_and_digests(tp.topic, tp.partition, first, pending.datums)
        write_file(self.end.directory, name, data)
        self.end.append(
            {
                "file": name,
                "file_sha256": sha256_hex(data),
                "file_bytes": len(data),
                "topic": tp.topic,
                "catalogue_topic": self.logical,
                "partition": tp.partition,
                "day": pending.day,
                "first_offset": first,
                "last_offset": last,
                "record_count": len(pending.datums),
                "gaps": tuple(pending.gaps),
                "record_digests": digests,
            }
        )
        self.result.files += 1
        self.result.records += len(pending.datums)
        self.archived += len(pending.datums)
        pending.datums, pending.gaps = [], []
