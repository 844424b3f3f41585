"""Manifests: one JSON file per archive file, chained by SHA-256 into one chain for the whole archive.

A manifest says what its file must be (its SHA-256 and size, topic, partition, day, first and last offset,
how many records, which offsets before or inside it Kafka did not deliver) and carries the SHA-256 of the
manifest before it. The hash of the last manifest (the head) therefore commits to every file archived:
changing a byte anywhere changes the head. Manifests hold no wall-clock time, so the same records archived
in one run or in several give the same manifests and the same head.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.audit.files import sha256_hex

FORMAT = 1
MANIFESTS = "manifests"
"""The folder of the manifests, in an archive directory."""
GENESIS = "0" * 64
"""What the first manifest names as the SHA-256 of its predecessor."""
_NAME = re.compile(r"(?P<sequence>[0-9]{8})\.json")

UNREADABLE = "unreadable"
"""A gap of records Kafka holds but its client could not parse (a header name that is not UTF-8)."""
ABSENT = "absent"
"""A gap of offsets at which Kafka returned no record (compacted away, a transaction's marker, deleted)."""


@dataclass(frozen=True)
class Gap:
    """Offsets ``first``..``last`` (inclusive) of the partition that are not in the archive, and why."""

    first: int
    last: int
    why: str


@dataclass(frozen=True)
class Manifest:
    """What one archive file holds, and the hash of the manifest before it."""

    sequence: int
    previous_sha256: str
    file: str
    file_sha256: str
    file_bytes: int
    topic: str
    catalogue_topic: str
    partition: int
    day: str
    first_offset: int
    last_offset: int
    record_count: int
    gaps: tuple[Gap, ...] = field(default=())
    record_digests: tuple[str, ...] = field(default=())
    """Per record in offset order, 16 hex digits: what locates an altered record (the file's SHA-256 is
    what proves the file whole)."""
    format: int = FORMAT

    def _inside(self) -> list[tuple[int, int]]:
        """The declared gaps within first..last, merged, in order."""
        merged: list[tuple[int, int]] = []
        for gap in sorted(self.gaps, key=lambda g: g.first):
            first, last = max(gap.first, self.first_offset), min(gap.last, self.last_offset)
            if first > last:
                continue
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return merged

    def expected_count(self) -> int:
        """How many offsets first..last less the gaps inside hold, counted without listing them (a forged
        manifest may claim a range of 2**60).
        """
        span = max(0, self.last_offset - self.first_offset + 1)
        return span - sum(last - first + 1 for first, last in self._inside())

    def expected_offsets(self) -> list[int]:
        """The offsets the file must hold: first to last, less the gaps declared inside that range."""
        offsets: list[int] = []
        at = self.first_offset
        for first, last in self._inside():
            offsets.extend(range(at, first))
            at = last + 1
        offsets.extend(range(at, self.last_offset + 1))
        return offsets

    def to_bytes(self) -> bytes:
        """The manifest's file: JSON with sorted keys and a final newline, the same bytes every time."""
        document = asdict(self)
        document["gaps"] = [asdict(gap) for gap in self.gaps]
        document["record_digests"] = list(self.record_digests)
        return (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse a manifest file; ValueError naming what is wrong with it (never a record's content)."""
        try:
            document: Any = json.loads(data)
        except ValueError:
            raise ValueError("the manifest is not JSON") from None
        if not isinstance(document, dict):
            raise ValueError("the manifest is not a JSON object")  # noqa: TRY004 - one error type for any bad manifest
        try:
            gaps = tuple(Gap(int(g["first"]), int(g["last"]), str(g["why"])) for g in document["gaps"])
            manifest = cls(
                sequence=int(document["sequence"]),
                previous_sha256=str(document["previous_sha256"]),
                file=str(document["file"]),
                file_sha256=str(document["file_sha256"]),
                file_bytes=int(document["file_bytes"]),
                topic=str(document["topic"]),
                catalogue_topic=str(document["catalogue_topic"]),
                partition=int(document["partition"]),
                day=str(document["day"]),
                first_offset=int(document["first_offset"]),
                last_offset=int(document["last_offset"]),
                record_count=int(document["record_count"]),
                gaps=gaps,
                record_digests=tuple(str(d) for d in document["record_digests"]),
                format=int(document["format"]),
            )
        except KeyError as exc:
            raise ValueError(f"the manifest has no field {exc.args[0]}") from None
        except (TypeError, ValueError):
            raise ValueError("a manifest field has the wrong type") from None
        if set(document) != set(asdict(manifest)):
            raise ValueError("the manifest has fields a manifest does not have")
        return manifest


@dataclass(frozen=True)
class ChainLink:
    """One manifest file as found on disk: where, its bytes' SHA-256, and what it says (None: unparsable)."""

    path: Path
    sha256: str
    manifest: Manifest | None
    error: str = ""


def manifest_path(directory: Path, sequence: int) -> Path:
    """Where manifest number ``sequence`` (from 1) lives in an archive."""
    return directory / MANIFESTS / f"{sequence:08d}.json"


def chain(directory: Path) -> list[ChainLink]:
    """Every manifest of an archive in sequence order, each with its hash, parsed where it parses.

    Files that are not named ``<8 digits>.json`` (a temporary file a crash left) are not manifests.
    """
    folder = directory / MANIFESTS
    if not folder.is_dir():
        return []
    links = []
    for path in sorted(folder.iterdir()):
        if not _NAME.fullmatch(path.name):
            continue
        data = path.read_bytes()
        try:
            links.append(ChainLink(path, sha256_hex(data), Manifest.from_bytes(data)))
        except ValueError as exc:
            links.append(ChainLink(path, sha256_hex(data), None, str(exc)))
    return links


def head(directory: Path) -> tuple[int, str]:
    """The sequence number and SHA-256 of an archive's last manifest; (0, GENESIS) for an empty archive."""
    links = chain(directory)
    if not links:
        return 0, GENESIS
    return int(links[-1].path.stem), links[-1].sha256
