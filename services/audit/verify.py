"""``bus verify --archive``: every file against its manifest, the manifests' chain, offsets per partition,
and the head against ``audit.anchors``.

Each finding names the file (or manifest) and, where it is about a record, the record's offset, and says
what is wrong; never a record's content. FAIL findings fail the verification; NOTE findings are facts an
auditor should know (a record Kafka's client could not read, manifests after the latest anchor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from services.audit.archive import RECORDS, archive_id, day_of, file_name, read_datums, record_digest
from services.audit.files import TEMP_SUFFIX, sha256_file
from services.audit.manifest import GENESIS, UNREADABLE, ChainLink, Manifest, chain, manifest_path
from services.contracts.audit import ArchiveAnchorModel

FAIL = "FAIL"
NOTE = "NOTE"


@dataclass(frozen=True)
class Finding:
    """One thing verification found: where (file, record offset) and what."""

    severity: str
    where: str
    offset: int | None
    problem: str

    def line(self) -> str:
        """``FAIL <file> offset <n>: <problem>``, one line."""
        at = f" offset {self.offset}" if self.offset is not None else ""
        return f"{self.severity} {self.where}{at}: {self.problem}"


@dataclass
class Report:
    """What was verified and what was found."""

    archive_id: str | None = None
    files: int = 0
    records: int = 0
    sequence: int = 0
    head: str = GENESIS
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Whether any check failed."""
        return any(f.severity == FAIL for f in self.findings)

    def fail(self, where: str, offset: int | None, problem: str) -> None:
        """Record a failed check."""
        self.findings.append(Finding(FAIL, where, offset, problem))

    def note(self, where: str, offset: int | None, problem: str) -> None:
        """Record a fact that does not fail the verification."""
        self.findings.append(Finding(NOTE, where, offset, problem))


def verify_archive(directory: Path) -> Report:
    """Check an archive on its own (no broker): chain, files, records, offsets. See ``verify_anchor``."""
    report = Report(archive_id=archive_id(directory))
    if report.archive_id is None:
        report.fail("archive.json", None, "missing: the archive has no id (its anchors cannot be found)")
    links = chain(directory)
    if not links:
        report.fail("manifests", None, "no manifest: nothing is archived here")
    manifests = _check_chain(directory, links, report)
    for manifest in manifests:
        _check_file(directory, manifest, report)
    _check_continuity(manifests, report)
    _note_strays(directory, manifests, report)
    if links:
        report.sequence, report.head = int(links[-1].path.stem), links[-1].sha256
    return report


def verify_anchor(directory: Path, anchor: ArchiveAnchorModel | None, report: Report) -> None:
    """Check the archive against the latest anchor of its id on ``audit.anchors``: the anchored manifest
    must still be there with the anchored SHA-256 (the archive may have grown since).
    """
    links = {int(link.path.stem): link for link in chain(directory)}
    if anchor is None:
        report.fail("audit.anchors", None, f"no anchor for archive {report.archive_id}: the head is unproven")
        return
    when = f"{anchor.anchored_at:%Y-%m-%dT%H:%M:%SZ}"
    where = _relative(directory, manifest_path(directory, anchor.sequence))
    link = links.get(anchor.sequence)
    if link is None:
        last = max(links, default=0)
        report.fail(
            where,
            None,
            f"missing, but anchored at {when} as the head; the archive ends at manifest {last}: cut short",
        )
        return
    if link.sha256 != anchor.head_sha256:
        report.fail(
            where,
            None,
            f"SHA-256 {link.sha256} is not the head {anchor.head_sha256} anchored at {when}: "
            "the archive was rewritten after it was anchored",
        )
        return
    later = [n for n in links if n > anchor.sequence]
    if later:
        report.note(where, None, f"anchored at {when}; manifests {min(later)}..{max(later)} came after it")
    else:
        report.note(where, None, f"the head, as anchored at {when}")


def _relative(directory: Path, path: Path) -> str:
    return path.relative_to(directory).as_posix()


def _check_chain(directory: Path, links: list[ChainLink], report: Report) -> list[Manifest]:
    """Manifests numbered 1..N, each naming the SHA-256 of the one before; the parsed manifests."""
    manifests: list[Manifest] = []
    previous, expected = GENESIS, 1
    for link in links:
        number, where = int(link.path.stem), _relative(directory, link.path)
        if number != expected:
            report.fail(
                _relative(directory, manifest_path(directory, expected)),
                None,
                f"missing: the chain jumps from manifest {expected - 1} to {number}",
            )
        if link.manifest is None:
            report.fail(where, None, f"does not parse ({link.error})")
        else:
            manifest = link.manifest
            manifests.append(manifest)
            if manifest.sequence != number:
                report.fail(where, None, f"says it is manifest {manifest.sequence}, not {number}")
            if manifest.previous_sha256 != previous:
                report.fail(
                    where,
                    None,
                    f"names {manifest.previous_sha256} as the SHA-256 of manifest {number - 1}, which is "
                    f"{previous}: manifest {number - 1} was changed, removed or put in its place",
                )
        previous, expected = link.sha256, number + 1
    return manifests


def _check_file(directory: Path, manifest: Manifest, report: Report) -> None:
    """One archive file against its manifest: present, its SHA-256, then every record."""
    where = manifest.file
    label = f"manifest {manifest.sequence}"
    path = directory / manifest.file
    if manifest.file != file_name(manifest.topic, manifest.partition, manifest.day, manifest.first_offset):
        report.fail(where, None, f"{label} puts it where its topic, partition, day and first offset do not")
        return
    if not path.is_file():
        report.fail(
            where,
            manifest.first_offset,
            f"missing: {label} lists {manifest.record_count} records, offsets "
            f"{manifest.first_offset}..{manifest.last_offset}",
        )
        return
    report.files += 1
    digest = sha256_file(path)
    if digest != manifest.file_sha256:
        report.fail(where, None, f"SHA-256 {digest} is not {manifest.file_sha256}, as {label} says")
    count = manifest.expected_count()
    if not count == manifest.record_count == len(manifest.record_digests):
        report.fail(
            _relative(directory, manifest_path(directory, manifest.sequence)),
            None,
            f"record_count {manifest.record_count} disagrees with offsets {manifest.first_offset}.."
            f"{manifest.last_offset} less its gaps ({count}) or its digests ({len(manifest.record_digests)})",
        )
        if count > len(manifest.record_digests):
            count = 0  # never list a forged range: the records are then checked for order only
    expected = manifest.expected_offsets() if count else []
    _check_records(path, manifest, dict(zip(expected, manifest.record_digests, strict=False)), report)


def _check_records(path: Path, manifest: Manifest, digests: dict[int, str], report: Report) -> None:
    """Every record of a file: its place, its order, its digest; then the records the file lacks."""
    where = manifest.file
    seen: set[int] = set()
    last: int | None = None
    try:
        for datum in read_datums(path):
            offset = int(datum["offset"])
            report.records += 1
            if (datum["topic"], datum["partition"]) != (manifest.topic, manifest.partition):
                report.fail(where, offset, "belongs to another topic or partition than its file")
            if offset in seen:
                report.fail(where, offset, "is in the file twice")
            elif last is not None and offset < last:
                report.fail(where, offset, f"comes after offset {last}: the records are out of offset order")
            if offset not in digests:
                report.fail(where, offset, "is not in the manifest (inserted, or outside its offsets)")
            elif offset not in seen and record_digest(datum) != digests[offset]:
                report.fail(
                    where, offset, "differs from the digest its manifest keeps: the record was altered"
                )
            if day_of(int(datum["timestamp_ms"])) != manifest.day:
                report.fail(where, offset, f"its timestamp is not on the file's day {manifest.day}")
            seen.add(offset)
            last = offset if last is None else max(last, offset)
    except Exception as exc:  # noqa: BLE001 - a damaged file makes the decompressor or decoder raise anything: reported
        after = f"after offset {last}" if last is not None else "at its start"
        report.fail(
            where, last, f"does not read as Avro {after} ({type(exc).__name__}): the rest is unchecked"
        )
        return
    for offset in sorted(set(digests) - seen):
        report.fail(where, offset, "is missing: the manifest lists it")


def _check_continuity(manifests: Iterable[Manifest], report: Report) -> None:
    """Per partition, the files and their declared gaps cover every offset from 0 once, and only a record
    Kafka's client could not read may be missing from them.
    """
    by_partition: dict[tuple[str, int], list[Manifest]] = {}
    for manifest in manifests:
        by_partition.setdefault((manifest.topic, manifest.partition), []).append(manifest)
    for (topic, partition), files in sorted(by_partition.items()):
        next_offset, previous = 0, "the start of the partition"
        for manifest in sorted(files, key=lambda m: m.first_offset):
            before = sorted((g.first, g.last) for g in manifest.gaps if g.first < manifest.first_offset)
            for first, last in [*before, (manifest.first_offset, manifest.last_offset)]:
                if first > next_offset:
                    report.fail(
                        manifest.file,
                        next_offset,
                        f"offsets {next_offset}..{first - 1} of {topic}[{partition}] are in no archive file "
                        f"(between {previous} and this file)",
                    )
                elif first < next_offset:
                    report.fail(
                        manifest.file, first, f"overlaps {previous} (offsets up to {next_offset - 1})"
                    )
                next_offset = max(next_offset, last + 1)
            previous = manifest.file
            for gap in manifest.gaps:
                _check_gap(manifest, gap.first, gap.last, gap.why, report)


def _check_gap(manifest: Manifest, first: int, last: int, why: str, report: Report) -> None:
    """A declared gap: an unreadable record is noted; any other gap fails on these topics."""
    if not first <= last <= manifest.last_offset or first < manifest.first_offset <= last:
        report.fail(manifest.file, first, f"declares gap {first}..{last} outside its own offsets")
    elif why == UNREADABLE:
        report.note(
            manifest.file,
            first,
            "Kafka holds a record here its client cannot read (e.g. a header name not UTF-8): not "
            "archived; the consumers dead-lettered it as CORRUPT_RECORD",
        )
    else:
        report.fail(
            manifest.file,
            first,
            f"offsets {first}..{last}: Kafka returned no record ({why}); an archived topic has "
            "contiguous offsets (compaction off, no transactional producer), so records are gone",
        )


def _note_strays(directory: Path, manifests: Iterable[Manifest], report: Report) -> None:
    """Files under ``records/`` that no manifest names: left by an interrupted run, not in the archive."""
    named = {directory / m.file for m in manifests}
    folder = directory / RECORDS
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and path not in named:
            what = "an unfinished write" if path.name.endswith(TEMP_SUFFIX) else "no manifest names it"
            report.note(_relative(directory, path), None, f"not part of the archive ({what})")
