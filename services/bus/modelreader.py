"""Avro binary bodies read straight into plain Avro data, one reader generated per contract.

The mirror of ``services.bus.modelwriter``: ``AvroCodec.decode`` had fastavro walk the schema for every
record it read (the registry's items, the events an intake decodes), dispatching on the schema's dicts
field by field. The reader generated here once per contract (Python source, as ``dataclasses`` generates
``__init__``) reads the fields in schema order with no call per field, and returns what
``fastavro.schemaless_reader`` returns for a record written with the same schema: the record as a dict in
field order, enum symbols and union values as themselves, ``date``, ``timestamp-millis`` and
``timestamp-micros`` as fastavro's ``date`` and aware UTC ``datetime``.

It reads only bytes whose meaning it knows to be the one fastavro gives them: varints of at most 64 bits
(``int`` within its 32-bit range), strings of a non-negative length inside the data and valid UTF-8,
union and enum indexes in range, booleans 0 or 1, array and map blocks of a positive count (a negative
count, which Avro allows with a block size, is fastavro's). For anything else it raises (``Unfit``, or
the error of the read that failed) and the caller takes the general path, which gives the same record or
the same error as before. A schema holding a type it does not cover (floating point, bytes, fixed, other
logical types, recursion) gets no reader at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from services.bus.codegen import SchemaSource, compile_generated

__all__ = ["Read", "Unfit", "long_at", "model_reader", "reader_source", "varint_at"]

Read = Callable[[bytes, int], tuple[dict[str, Any], int]]
"""Reads one record from the data at the position; returns it and the position after it."""

_INT_RANGE = (-(2**31), 2**31 - 1)
_DAYS_SHIFT = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_BYTE = 64
"""Union branches and enum symbols whose index is one varint byte (zigzag: below 64)."""
_LAST_SHIFT = 63
"""Where the tenth byte of a varint goes: only its lowest bit still fits in 64 bits."""


class Unfit(Exception):
    """Bytes the generated reader does not read itself; the general path decides what they are."""


def varint_at(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` (zigzag still applied) and the position after it. Unfit for one past
    ten bytes or a tenth byte above 1 (past 64 bits: what fastavro makes of those is its own affair).
    """
    byte = data[pos]
    n = byte & 0x7F
    shift = 7
    pos += 1
    while byte & 0x80:
        byte = data[pos]
        pos += 1
        if shift == _LAST_SHIFT and byte > 1:
            raise Unfit
        n |= (byte & 0x7F) << shift
        shift += 7
    return n, pos


def long_at(data: bytes, pos: int) -> tuple[int, int]:
    """The Avro ``long`` at ``pos`` and the position after it (Unfit as ``varint_at``)."""
    n, pos = varint_at(data, pos)
    return (n >> 1) ^ -(n & 1), pos


class _Source(SchemaSource):
    """The lines of one generated reader and the constants they name."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        super().__init__(
            named,
            {
                "Unfit": Unfit,
                "long_at": long_at,
                "varint_at": varint_at,
                "date_of": date.fromordinal,
                "timedelta": timedelta,
                "EPOCH": _EPOCH,
            },
        )

    def long(self, var: str, depth: int) -> None:
        """A zigzag varint: one byte inline, longer ones by ``long_at``."""
        byte = self.fresh("byte")
        self.emit(depth, f"{byte} = data[pos]")
        self.emit(depth, f"if {byte} < 0x80:")
        self.emit(depth + 1, f"{var} = ({byte} >> 1) ^ -({byte} & 1)")
        self.emit(depth + 1, "pos += 1")
        self.emit(depth, f"else: {var}, pos = long_at(data, pos)")

    def primitive(self, kind: str, var: str, depth: int) -> bool:
        emit = self.emit
        if kind == "string":
            length, end = self.fresh("length"), self.fresh("end")
            emit(depth, f"{length} = data[pos]")
            emit(depth, f"if {length} < 0x80: pos += 1")
            emit(depth, "elif data[pos + 1] < 0x80:  # two bytes: a length below 8,192")
            emit(depth + 1, f"{length} = ({length} & 0x7F) | (data[pos + 1] << 7)")
            emit(depth + 1, "pos += 2")
            emit(depth, f"else: {length}, pos = varint_at(data, pos)")
            emit(depth, f"{end} = pos + ({length} >> 1)")
            emit(depth, f"if {length} & 1 or {end} > size: raise Unfit")
            emit(depth, f"{var} = data[pos:{end}].decode()")
            emit(depth, f"pos = {end}")
        elif kind in {"int", "long"}:
            self.long(var, depth)
            if kind == "int":
                low, high = _INT_RANGE
                emit(depth, f"if not {low} <= {var} <= {high}: raise Unfit")
        elif kind == "boolean":
            byte = self.fresh("byte")
            emit(depth, f"{byte} = data[pos]")
            emit(depth, "pos += 1")
            emit(depth, f"if {byte} == 1: {var} = True")
            emit(depth, f"elif {byte} == 0: {var} = False")
            emit(depth, "else: raise Unfit")
        elif kind == "null":
            emit(depth, f"{var} = None")
        else:
            return False
        return True

    def logical(self, kind: object, logical: object, var: str, depth: int) -> bool:
        """Dates and UTC timestamps (millis, micros) as fastavro makes them; no other logical type."""
        raw = self.fresh("raw")
        if (kind, logical) == ("int", "date"):
            self.primitive("int", raw, depth)
            self.emit(depth, f"{var} = date_of({raw} + {_DAYS_SHIFT})")
        elif (kind, logical) == ("long", "timestamp-millis"):
            self.long(raw, depth)
            self.emit(depth, f"{var} = EPOCH + timedelta(microseconds={raw} * 1000)")
        elif (kind, logical) == ("long", "timestamp-micros"):
            self.long(raw, depth)
            self.emit(depth, f"{var} = EPOCH + timedelta(microseconds={raw})")
        else:
            return False
        return True

    def enum(self, symbols: list[str], var: str, depth: int) -> bool:
        """An index of one byte (below 64) looked up in a table of every byte; any other is Unfit."""
        if len(symbols) > _ONE_BYTE:
            return False
        table = self.fresh("symbols")
        self.constants[table] = tuple(
            symbols[byte >> 1] if byte % 2 == 0 and byte >> 1 < len(symbols) else None for byte in range(256)
        )
        self.emit(depth, f"{var} = {table}[data[pos]]")
        self.emit(depth, "pos += 1")
        self.emit(depth, f"if {var} is None: raise Unfit")
        return True

    def blocks(self, var: str, depth: int, made: str) -> tuple[str, int]:
        """The head of a block loop (positive counts only); returns the loop variable and the depth of its
        body, which must read one entry into ``var``'s container.
        """
        count = self.fresh("count")
        self.emit(depth, f"{var} = {made}")
        self.long(count, depth)
        self.emit(depth, f"while {count}:")
        self.emit(depth + 1, f"if {count} < 0: raise Unfit")
        self.emit(depth + 1, f"for _ in range({count}):")
        return count, depth + 2

    def array(self, items: Any, var: str, depth: int) -> bool:
        item = self.fresh("item")
        count, inner = self.blocks(var, depth, "[]")
        if not self.value(items, item, inner):
            return False
        self.emit(inner, f"{var}.append({item})")
        self.long(count, depth + 1)
        return True

    def map(self, values: Any, var: str, depth: int) -> bool:
        key, value = self.fresh("key"), self.fresh("value")
        count, inner = self.blocks(var, depth, "{}")
        self.primitive("string", key, inner)
        if not self.value(values, value, inner):
            return False
        self.emit(inner, f"{var}[{key}] = {value}")
        self.long(count, depth + 1)
        return True

    def union(self, branches: list[Any], var: str, depth: int) -> bool:
        """The branch index as its one byte (zigzag: twice the index); any other byte is Unfit."""
        if len(branches) > _ONE_BYTE:
            return False
        tag = self.fresh("tag")
        self.emit(depth, f"{tag} = data[pos]")
        self.emit(depth, "pos += 1")
        for i, branch in enumerate(branches):
            self.emit(depth, f"{'if' if i == 0 else 'elif'} {tag} == {2 * i}:")
            if not self.value(branch, var, depth + 1):
                return False
        self.emit(depth, "else: raise Unfit")
        return True

    def record(self, schema: Mapping[str, Any], var: str, depth: int) -> bool:
        name, fields = str(schema.get("name")), schema["fields"]
        if name in self.building:
            return False
        self.building.add(name)
        values = []
        for field in fields:
            value = self.fresh("value")
            if not self.value(field["type"], value, depth):
                return False
            values.append(f"{str(field['name'])!r}: {value}")
        self.emit(depth, f"{var} = {{{', '.join(values)}}}")
        self.building.discard(name)
        return True


def reader_source(schema: Mapping[str, Any]) -> tuple[str, dict[str, object]] | None:
    """The source of the reader of a record schema as ``fastavro.parse_schema`` returns it, and the
    constants it names; None when the schema holds a type the reader does not cover.
    """
    source = _Source(schema.get("__named_schemas", {}))
    source.emit(0, "def read(data, pos):")
    source.emit(1, "size = len(data)")
    if schema.get("type") != "record" or not source.record(schema, "record", 1):
        return None
    source.emit(1, "return record, pos")
    return "\n".join(source.lines) + "\n", source.constants


def model_reader(schema: Mapping[str, Any]) -> Read | None:
    """The generated reader of a record schema (bytes written with that very schema into plain Avro data,
    as fastavro reads them); None when not covered.
    """
    return cast("Read | None", compile_generated(reader_source(schema), "read", "<avro model reader>"))
