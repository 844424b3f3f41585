"""The Avro contracts in ``schemas/``: parsed once, indexed by full name, revision and fingerprint.

Layout: ``schemas/<domain>/v<major>/<Name>.<revision>.avsc``. The highest revision of a full name is the
reader schema; every revision stays a known writer schema so old data stays readable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form

from services.bus.envelope import dataschema_uri
from services.bus.errors import UnknownSchema

_FILE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.(?P<revision>[1-9][0-9]*)\.avsc$")
_CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return tuple(table)


_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """The Rabin CRC-64 fingerprint the Avro spec defines (Java's SchemaNormalization.fingerprint64)."""
    fp = _CRC64_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


@dataclass(frozen=True)
class Contract:
    """One revision of one event type."""

    fullname: str
    revision: int
    path: Path
    schema: dict[str, Any] = field(repr=False, compare=False)
    canonical: str = field(repr=False)
    fingerprint: int

    @cached_property
    def fingerprint_bytes(self) -> bytes:
        """The 8 bytes single-object encoding puts after ``C3 01``: the fingerprint, little-endian."""
        return self.fingerprint.to_bytes(8, "little")

    @property
    def fingerprint_hex(self) -> str:
        """The fingerprint as 16 hex digits of the unsigned 64-bit number (big-endian, like Java's)."""
        return f"{self.fingerprint:016x}"

    @cached_property
    def dataschema(self) -> str:
        """The ``ce_dataschema`` URI: full name and fingerprint of the writer schema (made once, read for
        every event published).
        """
        return dataschema_uri(self.fullname, self.fingerprint)

    @property
    def domain(self) -> str:
        """The domain of the event type (``citizen``, ``passport``, ...), read from its full name."""
        return self.fullname.split(".")[-3]


class ContractRegistry:
    """Every contract under a schemas directory, looked up without a schema-registry server."""

    def __init__(self, contracts: list[Contract]) -> None:
        self._by_fp: dict[int, Contract] = {}
        self._by_name: dict[str, list[Contract]] = {}
        for c in sorted(contracts, key=lambda c: (c.fullname, c.revision)):
            if c.fingerprint in self._by_fp:
                other = self._by_fp[c.fingerprint]
                raise ValueError(f"{c.path} has the same canonical form as {other.path}")
            self._by_fp[c.fingerprint] = c
            self._by_name.setdefault(c.fullname, []).append(c)

    @classmethod
    def load(cls, root: Path) -> ContractRegistry:
        """Parse every ``.avsc`` below ``root``; a misplaced or misnamed file is an error."""
        contracts = [_load_file(path, root) for path in sorted(root.rglob("*.avsc"))]
        if not contracts:
            raise ValueError(f"no .avsc contracts under {root}")
        return cls(contracts)

    def names(self) -> list[str]:
        """Every full name, sorted."""
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Contract]:
        for name in self.names():
            yield from self._by_name[name]

    def latest(self, fullname: str) -> Contract:
        """The reader schema of a full name."""
        try:
            return self._by_name[fullname][-1]
        except KeyError:
            raise UnknownSchema(f"no contract named {fullname}") from None

    def revisions(self, fullname: str) -> list[Contract]:
        """Every revision of a full name, oldest first; UnknownSchema when there is none."""
        self.latest(fullname)
        return list(self._by_name[fullname])

    def find(self, fingerprint: int) -> Contract | None:
        """The contract with that fingerprint, or None."""
        return self._by_fp.get(fingerprint)

    def by_fingerprint(self, fingerprint: int) -> Contract:
        """The writer schema a payload's fingerprint names; UnknownSchema when none has it."""
        try:
            return self._by_fp[fingerprint]
        except KeyError:
            raise UnknownSchema(f"no contract has fingerprint {fingerprint:016x}") from None


def _load_file(path: Path, root: Path) -> Contract:
    match = _FILE.match(path.name)
    if match is None:
        raise ValueError(f"{path}: contract files are named <Name>.<revision>.avsc")
    raw = json.loads(path.read_text(encoding="utf-8"))
    parsed = parse_schema(raw)
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise ValueError(f"{path}: an event contract is one Avro record")
    fullname = str(parsed["name"])
    rel = path.relative_to(root).parent.parts
    expected = ".".join(rel) + "." + match["name"]
    if not fullname.endswith(expected):
        raise ValueError(f"{path}: full name {fullname} does not match its place ({expected})")
    canonical = to_parsing_canonical_form(raw)
    return Contract(
        fullname=fullname,
        revision=int(match["revision"]),
        path=path,
        schema=parsed,
        canonical=canonical,
        fingerprint=crc64_avro(canonical.encode("utf-8")),
    )


@lru_cache(maxsize=4)
def load_registry(root: Path) -> ContractRegistry:
    """The registry for a schemas directory, parsed once per process."""
    return ContractRegistry.load(root)
