"""Avro binary bodies written straight from a payload model, one writer generated per contract.

``AvroCodec.encode(fullname, model.to_avro())`` builds a dict of the model and then has fastavro walk it
against the schema, choosing each union branch by validating the value against every branch in turn: two
thirds of what preparing one event cost. The writer generated here once per contract (Python source, as
``dataclasses`` generates ``__init__``) reads the model's fields in schema order and appends their bytes,
with no call per field.

It writes only values whose bytes it knows to be the ones fastavro writes: exact ``str``, ``int`` within
the Avro range, ``bool``, ``None``, ``datetime.date`` for the ``date`` logical type, enum symbols,
nested contract models, and lists or tuples of strings, ints and booleans. For anything else (a model
built without validation, an ``int`` subclass, a date given as text) it raises ``Unfit`` (or the
``KeyError`` of a field the model lacks) and the caller takes the general path, which gives the same
bytes or the same error as before. A schema holding a type it does not cover (maps, floating point,
bytes, fixed, timestamps, unions other than null and one type, arrays of other items, recursion) gets
no writer at all.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, cast

from services.contracts.base import ContractModel

__all__ = ["Unfit", "Write", "long_bytes", "model_writer", "writer_source"]

Write = Callable[[bytearray, Any], None]
"""Appends the Avro binary form of a model to the buffer; raises for a value it does not take."""

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ITEM_TYPES = frozenset({"string", "int", "long", "boolean"})


class Unfit(Exception):
    """A value the generated writer does not write itself; the general path decides what becomes of it."""


def _varint(zigzag: int) -> bytes:
    """The base-128 varint of a non-negative number, least significant group first."""
    if zigzag < 0x80:
        return bytes((zigzag,))
    if zigzag < 0x4000:
        return bytes(((zigzag & 0x7F) | 0x80, zigzag >> 7))
    if zigzag < 0x200000:  # three groups: every date from 1970 +- 2,870 years
        return bytes(((zigzag & 0x7F) | 0x80, ((zigzag >> 7) & 0x7F) | 0x80, zigzag >> 14))
    out = bytearray()
    while zigzag > 0x7F:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


_SMALL = 4096
_SMALL_VARINTS = tuple(_varint(z) for z in range(_SMALL))
"""Varints below 4096: every string length below 2048 bytes (a length's zigzag is twice the length)."""


def long_bytes(value: int) -> bytes:
    """An Avro ``int`` or ``long``: zigzag, then varint. ``value`` must lie in the signed 64-bit range."""
    zigzag = (value << 1) ^ (value >> 63)
    return _SMALL_VARINTS[zigzag] if zigzag < _SMALL else _varint(zigzag)


class _Source:
    """The lines of one generated writer and the constants they name."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.lines: list[str] = []
        self.constants: dict[str, object] = {
            "Unfit": Unfit,
            "ContractModel": ContractModel,
            "Enum": enum.Enum,
            "date": date,
            "small": _SMALL_VARINTS,
            "varint": _varint,
            "long_bytes": long_bytes,
        }
        self.building: set[str] = set()
        self.count = 0

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def value(self, schema: Any, var: str, depth: int) -> bool:
        """Emit what writes ``var`` as ``schema``; False when the schema holds a type not covered."""
        if isinstance(schema, str):
            if schema in self.named:
                return self.named_type(schema, var, depth)
            return self.primitive(schema, var, depth)
        if isinstance(schema, list):
            return self.union(schema, var, depth)
        return isinstance(schema, dict) and self.complex(schema, var, depth)

    def complex(self, schema: Mapping[str, Any], var: str, depth: int) -> bool:
        """Emit what writes ``var`` as a schema given as an object (a record, enum, array or logical type)."""
        kind, logical = schema.get("type"), schema.get("logicalType")
        if logical is not None:
            return (kind, logical) == ("int", "date") and self.date(var, depth)
        if kind == "record":
            return self.record(schema, var, depth)
        if kind == "enum":
            return self.enum(schema["symbols"], var, depth)
        if kind == "array":
            return self.array(schema["items"], var, depth)
        return isinstance(kind, str) and self.primitive(kind, var, depth)

    def primitive(self, kind: str, var: str, depth: int) -> bool:
        emit = self.emit
        if kind == "string":
            data, size = self.fresh("data"), self.fresh("size")
            emit(depth, f"if type({var}) is not str: raise Unfit")
            emit(depth, f"{data} = {var}.encode()")
            emit(depth, f"{size} = len({data}) << 1")
            emit(depth, f"out += small[{size}] if {size} < {_SMALL} else varint({size})")
            emit(depth, f"out += {data}")
        elif kind in {"int", "long"}:
            low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
            emit(depth, f"if type({var}) is not int or not {low} <= {var} <= {high}: raise Unfit")
            emit(depth, f"out += long_bytes({var})")
        elif kind == "boolean":
            emit(depth, f"if {var} is True: out += b'\\x01'")
            emit(depth, f"elif {var} is False: out += b'\\x00'")
            emit(depth, "else: raise Unfit")
        elif kind == "null":
            emit(depth, f"if {var} is not None: raise Unfit")
        else:
            return False
        return True

    def date(self, var: str, depth: int) -> bool:
        self.emit(depth, f"if type({var}) is not date: raise Unfit")
        self.emit(depth, f"out += long_bytes({var}.toordinal() - {_EPOCH_ORDINAL})")
        return True

    def enum(self, symbols: list[str], var: str, depth: int) -> bool:
        table, symbol = self.fresh("symbols"), self.fresh("symbol")
        self.constants[table] = {name: long_bytes(i) for i, name in enumerate(symbols)}
        # ``to_avro`` hands on a member's value; ``_value_`` is what ``.value`` returns, minus the descriptor
        self.emit(depth, f"if isinstance({var}, Enum): {var} = {var}._value_")
        self.emit(depth, f"{symbol} = {table}.get({var}) if type({var}) is str else None")
        self.emit(depth, f"if {symbol} is None: raise Unfit")
        self.emit(depth, f"out += {symbol}")
        return True

    def array(self, items: Any, var: str, depth: int) -> bool:
        if not isinstance(items, str) or items not in _ITEM_TYPES:
            return False  # items ``to_avro`` would leave unconverted (enums, records) or dates: fastavro's
        item = self.fresh("item")
        self.emit(depth, f"if type({var}) is not list and type({var}) is not tuple: raise Unfit")
        self.emit(depth, f"if {var}:")
        self.emit(depth + 1, f"out += long_bytes(len({var}))")
        self.emit(depth + 1, f"for {item} in {var}:")
        self.primitive(items, item, depth + 2)
        self.emit(depth, "out += b'\\x00'")
        return True

    def union(self, branches: list[Any], var: str, depth: int) -> bool:
        if len(branches) != 2 or branches.count("null") != 1:
            return False
        null_index = branches.index("null")
        other = branches[1 - null_index]
        self.emit(depth, f"if {var} is None: out += {long_bytes(null_index)!r}")
        self.emit(depth, "else:")
        if isinstance(other, dict) and other.get("type") == "array":
            # fastavro reads a tuple in a union as (branch name, value)
            self.emit(depth + 1, f"if type({var}) is tuple: raise Unfit")
        self.emit(depth + 1, f"out += {long_bytes(1 - null_index)!r}")
        return self.value(other, var, depth + 1)

    def named_type(self, name: str, var: str, depth: int) -> bool:
        if name in self.building:
            return False  # a recursive record
        return self.value(self.named[name], var, depth)

    def record(self, schema: Mapping[str, Any], var: str, depth: int) -> bool:
        name, fields = str(schema.get("name")), schema["fields"]
        if not fields or name in self.building:
            return False
        self.building.add(name)
        state = self.fresh("state")
        # ``to_avro`` turns a nested contract model into a dict of its fields, and pydantic keeps exactly
        # those in ``__dict__``: a schema field the model lacks is a KeyError, for the general path
        self.emit(depth, f"if not isinstance({var}, ContractModel): raise Unfit")
        self.emit(depth, f"{state} = {var}.__dict__")
        for field in fields:
            value = self.fresh("value")
            self.emit(depth, f"{value} = {state}[{str(field['name'])!r}]")
            if not self.value(field["type"], value, depth):
                return False
        self.building.discard(name)
        return True


def writer_source(schema: Mapping[str, Any]) -> tuple[str, dict[str, object]] | None:
    """The source of the writer of a record schema as ``fastavro.parse_schema`` returns it, and the
    constants it names; None when the schema holds a type the writer does not cover.
    """
    source = _Source(schema.get("__named_schemas", {}))
    source.emit(0, "def write(out, model):")
    if not source.record(schema, "model", 1):
        return None
    return "\n".join(source.lines) + "\n", source.constants


def model_writer(schema: Mapping[str, Any]) -> Write | None:
    """The generated writer of a record schema, taking a contract model; None when not covered."""
    generated = writer_source(schema)
    if generated is None:
        return None
    text, namespace = generated
    exec(compile(text, "<avro model writer>", "exec"), namespace)  # noqa: S102 - source built above from the schema alone
    return cast("Write", namespace["write"])
