"""The archive's files, and the one way to read an archive back: ``iter_archived``.

An archive directory holds ``archive.json`` (its id), ``records/<topic>/<partition>/<UTC day>/<first
offset, 20 digits>.avro`` (Avro object container files of ``schemas/audit/v1/ArchivedRecord.1.avsc``,
codec deflate, records in offset order) and ``manifests/<sequence, 8 digits>.json`` (``manifest.py``).
Only a file that a manifest names belongs to the archive: a crash may leave a file without one, which the
next run removes and writes again.

A record is archived as Kafka returned it: key, value and header values are bytes, never decoded, so the
archive is as faithful as the topic and holds the same personal data. Nothing here prints or logs them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, cast

import fastavro
from fastavro.schema import to_parsing_canonical_form

from services.audit.files import atomic_write, sha256_hex
from services.audit.manifest import Manifest, chain
from services.bus.modelwriter import long_bytes
from services.bus.settings import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "schemas" / "audit" / "v1" / "ArchivedRecord.1.avsc"
CODEC = "deflate"
BLOCK_BYTES = 16_000
"""Encoded bytes after which a block is closed: fastavro's default, small enough that a damaged block
costs few records."""
RECORDS = "records"
"""The folder of the archive files, in an archive directory."""
ARCHIVE_FILE = "archive.json"
"""The archive's own small file: its id (the key of its anchors on ``audit.anchors``)."""
_DAY_MS = 86_400_000
_EPOCH_DAY = date(1970, 1, 1)
NO_TIMESTAMP_DAY = "none"
"""The day folder of records with no timestamp (-1)."""


@dataclass(frozen=True)
class ArchivedRecord:
    """One Kafka record as the archive holds it.

    A header whose value Kafka held as null reads as empty bytes here, as every consumer of the bus reads
    it (``services.bus.consumer.raw_from_kafka``); the file itself keeps the null.
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def to_avro(self) -> dict[str, Any]:
        """The record as the archive file's schema takes it."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.timestamp_ms,
            "timestamp_type": self.timestamp_type,
            "key": self.key,
            "value": self.value,
            "headers": [{"name": name, "value": value} for name, value in self.headers],
        }

    @classmethod
    def from_avro(cls, datum: Mapping[str, Any]) -> ArchivedRecord:
        """The record of one datum read from an archive file."""
        return cls(
            topic=datum["topic"],
            partition=datum["partition"],
            offset=datum["offset"],
            timestamp_ms=datum["timestamp_ms"],
            timestamp_type=datum["timestamp_type"],
            key=datum["key"],
            value=datum["value"],
            headers=tuple((h["name"], b"" if h["value"] is None else h["value"]) for h in datum["headers"]),
        )


def datum_of(message: Any) -> dict[str, Any]:
    """The archive datum of a kafka-python ``ConsumerRecord``: every byte as the broker returned it."""
    return {
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "timestamp_ms": message.timestamp,
        "timestamp_type": message.timestamp_type,
        "key": message.key,
        "value": message.value,
        "headers": [{"name": name, "value": value} for name, value in message.headers or []],
    }


@cache
def record_schema() -> dict[str, Any]:
    """The archive record's ``.avsc`` as written, docs included: every archive file carries it whole."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@cache
def _canonical_form() -> str:
    return str(to_parsing_canonical_form(fastavro.parse_schema(record_schema())))


def day_of(timestamp_ms: int) -> str:
    """The UTC day (``YYYY-MM-DD``) of a record timestamp: the day folder its file goes in."""
    if timestamp_ms < 0:
        return NO_TIMESTAMP_DAY
    return _day_name(timestamp_ms // _DAY_MS)


@lru_cache(maxsize=4096)
def _day_name(days: int) -> str:
    """Day ``days`` after 1970-01-01: asked once per record, computed once per day."""
    return (_EPOCH_DAY + timedelta(days=days)).isoformat()


def file_name(topic: str, partition: int, day: str, first_offset: int) -> str:
    """An archive file's path inside the archive directory, ``/``-separated (as a manifest names it)."""
    return str(PurePosixPath(RECORDS, topic, str(partition), day, f"{first_offset:020d}.avro"))


def _text(value: str) -> bytes:
    raw = value.encode()
    return long_bytes(len(raw)) + raw


def _optional_bytes(value: bytes | None) -> bytes:
    return b"\x00" if value is None else b"\x02" + long_bytes(len(value)) + value


def encode_record(datum: Mapping[str, Any]) -> bytes:
    """A record's Avro binary encoding under the archive schema: the bytes ``fastavro.schemaless_writer``
    writes (the tests hold it to that), three times as fast, since every archived record is encoded once
    for its file and its digest, and again by ``verify``.
    """
    parts = [
        _text(datum["topic"]),
        long_bytes(datum["partition"]),
        long_bytes(datum["offset"]),
        long_bytes(datum["timestamp_ms"]),
        long_bytes(datum["timestamp_type"]),
        _optional_bytes(datum["key"]),
        _optional_bytes(datum["value"]),
    ]
    headers = datum["headers"]
    if headers:
        parts.append(long_bytes(len(headers)))
        for header in headers:
            parts.append(_text(header["name"]))
            parts.append(_optional_bytes(header["value"]))
    parts.append(b"\x00")
    return b"".join(parts)


def record_digest(datum: Mapping[str, Any]) -> str:
    """The first 8 bytes (16 hex digits) of the SHA-256 of a record's Avro binary encoding: the manifest
    keeps one per record so that ``verify`` can name the record that was altered, not only the file.
    """
    return sha256_hex(encode_record(datum))[:16]


def encode_file_and_digests(
    topic: str, partition: int, first_offset: int, datums: Iterable[Mapping[str, Any]]
) -> tuple[bytes, tuple[str, ...]]:
    """An Avro object container file of ``datums`` (the format of the Avro specification: magic, the
    schema and codec as metadata, sync marker, then blocks of about 16 kB before deflate, as fastavro's
    writer cuts them), and each record's digest, from one encoding of each record.

    Its 16-byte sync marker is derived from where the file starts (a writer usually picks one at random),
    so the same records always give the same bytes, and an archive resumed after a crash equals one
    written in one run.
    """
    marker = bytes.fromhex(sha256_hex(f"{topic}\n{partition}\n{first_offset}".encode()))[:16]
    schema = json.dumps(record_schema()).encode()
    out = [
        b"Obj\x01",
        long_bytes(2),
        _text("avro.schema"),
        long_bytes(len(schema)),
        schema,
        _text("avro.codec"),
        _text(CODEC),
        b"\x00",
        marker,
    ]
    digests: list[str] = []
    block: list[bytes] = []
    size = 0

    def close_block() -> None:
        nonlocal size
        deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        data = deflate.compress(b"".join(block)) + deflate.flush()
        out.extend((long_bytes(len(block)), long_bytes(len(data)), data, marker))
        block.clear()
        size = 0

    for datum in datums:
        encoded = encode_record(datum)
        digests.append(sha256_hex(encoded)[:16])
        block.append(encoded)
        size += len(encoded)
        if size >= BLOCK_BYTES:
            close_block()
    if block:
        close_block()
    return b"".join(out), tuple(digests)


def encode_file(topic: str, partition: int, first_offset: int, datums: Iterable[Mapping[str, Any]]) -> bytes:
    """An Avro object container file of ``datums`` (see ``encode_file_and_digests``)."""
    return encode_file_and_digests(topic, partition, first_offset, datums)[0]


def write_file(directory: Path, name: str, data: bytes) -> None:
    """Put an archive file in place atomically (its manifest is written after it)."""
    atomic_write(directory / name, data)


def read_datums(path: Path) -> Iterator[dict[str, Any]]:
    """The datums of one archive file, in file order (fastavro checks each block's sync marker).

    Read with the schema the file carries, once that is proven to be the archive record's (in Parsing
    Canonical Form): twice as fast as resolving it against a reader schema.
    """
    with path.open("rb") as handle:
        reader = fastavro.reader(handle)
        if to_parsing_canonical_form(reader.writer_schema) != _canonical_form():
            raise ValueError("the file's schema is not the archive record's")
        for datum in reader:
            yield cast("dict[str, Any]", datum)


def archive_id(directory: Path) -> str | None:
    """The id in an archive's ``archive.json``; None when there is none."""
    path = directory / ARCHIVE_FILE
    if not path.is_file():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    return str(document["archive_id"])


def manifests_of(directory: Path, topic: str) -> list[Manifest]:
    """The manifests of ``topic`` (its name on the broker, or its catalogue name such as ``citizen``),
    ordered by partition and first offset. Manifests that do not parse are left out (``verify`` names them).
    """
    found = [
        link.manifest
        for link in chain(directory)
        if link.manifest is not None and topic in {link.manifest.topic, link.manifest.catalogue_topic}
    ]
    return sorted(found, key=lambda m: (m.partition, m.first_offset))


def iter_archived(directory: Path, topic: str) -> Iterator[ArchivedRecord]:
    """Every archived record of ``topic``, partition by partition (0 first), each in offset order.

    ``topic`` is the name on the broker or the catalogue's (``citizen``). Only files a manifest names are
    read; nothing is checked against the manifests here: ``bus verify --archive`` does that, and a replay
    that must be able to prove its input runs it first.
    """
    for records in archived_partitions(directory, topic):
        yield from records


def archived_partitions(directory: Path, topic: str) -> list[Iterator[ArchivedRecord]]:
    """Per partition of ``topic`` (0 first), its archived records in offset order, read lazily file by
    file (what a merge of partitions needs), as ``iter_archived`` reads them.
    """
    files: dict[int, list[str]] = {}
    for manifest in manifests_of(directory, topic):  # by partition, then first offset
        files.setdefault(manifest.partition, []).append(manifest.file)
    return [_records(directory, names) for _, names in sorted(files.items())]


def _records(directory: Path, files: list[str]) -> Iterator[ArchivedRecord]:
    for file in files:
        for datum in read_datums(directory / file):
            yield ArchivedRecord.from_avro(datum)
