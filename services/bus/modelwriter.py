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
from datetime import UTC, date, datetime
from typing import Any, cast

from services.bus.codegen import SchemaSource, compile_generated
from services.contracts.base import ContractModel

__all__ = ["Unfit", "Write", "long_bytes", "model_writer", "writer_source"]

Write = Callable[[bytearray, Any], None]
"""Appends the Avro binary form of a model to the buffer; raises for a value it does not take."""

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ITEM_TYPES = frozenset({"string", "int", "long", "boolean"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIMESTAMPS = frozenset({"timestamp-millis", "timestamp-micros"})
_MISSING = object()


class Unfit(Exception):
    """A value the generated writer does not write itself; the general path decides what becomes of it."""


def _varint_bytes(zigzag: int) -> bytes:
    """The base-128 varint of a non-negative number, least significant group first, a byte at a time."""
    out = bytearray()
    while zigzag > 0x7F:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


_SMALL = 1 << 14
_SMALL_VARINTS = tuple(_varint_bytes(z) for z in range(_SMALL))
"""Varints below 16,384 (one or two bytes): every string length below 8,192 bytes (a length's zigzag is
twice the length)."""
_GROUPS = tuple(bytes(((z & 0x7F) | 0x80, (z >> 7) | 0x80)) for z in range(_SMALL))
"""Fourteen bits as the two varint bytes they are when more bytes follow."""


def _varint(zigzag: int) -> bytes:
    """The base-128 varint of a non-negative number: fourteen bits at a time from tables (a timestamp in
    milliseconds is six bytes: three lookups rather than six turns of a loop).
    """
    if zigzag < _SMALL:
        return _SMALL_VARINTS[zigzag]
    out = _GROUPS[zigzag & 0x3FFF]
    zigzag >>= 14
    while zigzag >= _SMALL:
        out += _GROUPS[zigzag & 0x3FFF]
        zigzag >>= 14
    return out + _SMALL_VARINTS[zigzag]


def long_bytes(value: int) -> bytes:
    """An Avro ``int`` or ``long``: zigzag, then varint. ``value`` must lie in the signed 64-bit range."""
    zigzag = (value << 1) ^ (value >> 63)
    return _SMALL_VARINTS[zigzag] if zigzag < _SMALL else _varint(zigzag)


class _Source(SchemaSource):
    """The lines of one generated writer and the constants they name."""

    def __init__(self, named: Mapping[str, Any], *, plain: bool = False) -> None:
        super().__init__(
            named,
            {
                "Unfit": Unfit,
                "ContractModel": ContractModel,
                "Enum": enum.Enum,
                "date": date,
                "small": _SMALL_VARINTS,
                "varint": _varint,
                "long_bytes": long_bytes,
                "MISSING": _MISSING,
                "datetime": datetime,
                "EPOCH": _EPOCH,
            },
        )
        self.plain = plain
        """Records as plain dicts (a view's Avro data) instead of contract models; maps, arrays of any
        covered item and UTC timestamps (millis and micros) are then covered too."""

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

    def logical(self, kind: object, logical: object, var: str, depth: int) -> bool:
        """Dates; UTC timestamps (millis, micros) in plain data only; no other logical type."""
        if self.plain and kind == "long" and logical in _TIMESTAMPS:
            return self.timestamp(var, depth, micros=logical == "timestamp-micros")
        return (kind, logical) == ("int", "date") and self.date(var, depth)

    def timestamp(self, var: str, depth: int, *, micros: bool) -> bool:
        """An aware datetime as fastavro writes it: whole milliseconds (rounded down) or microseconds since
        the epoch.
        """
        delta = self.fresh("delta")
        self.emit(depth, f"if type({var}) is not datetime or {var}.tzinfo is None: raise Unfit")
        self.emit(depth, f"{delta} = {var} - EPOCH")
        if micros:
            self.emit(
                depth,
                f"out += long_bytes(({delta}.days * 86400 + {delta}.seconds) * 1000000"
                f" + {delta}.microseconds)",
            )
        else:
            self.emit(
                depth,
                f"out += long_bytes(({delta}.days * 86400 + {delta}.seconds) * 1000"
                f" + {delta}.microseconds // 1000)",
            )
        return True

    def map(self, values: Any, var: str, depth: int) -> bool:
        """A map as fastavro writes it: one block of every entry in the dict's order, then the end (plain
        data only: a model's map is left to the general path).
        """
        if not self.plain:
            return False
        key, value = self.fresh("key"), self.fresh("value")
        self.emit(depth, f"if type({var}) is not dict: raise Unfit")
        self.emit(depth, f"if {var}:")
        self.emit(depth + 1, f"out += long_bytes(len({var}))")
        self.emit(depth + 1, f"for {key}, {value} in {var}.items():")
        self.primitive("string", key, depth + 2)
        if self._is_record(values):
            written = self.memo_value(values, value, depth + 2)
        else:
            written = self.value(values, value, depth + 2)
        if not written:
            return False
        self.emit(depth, "out += b'\\x00'")
        return True

    def _is_record(self, schema: Any) -> bool:
        named = self.named.get(schema) if isinstance(schema, str) else schema
        return isinstance(named, Mapping) and named.get("type") == "record"

    def memo_value(self, schema: Any, var: str, depth: int) -> bool:
        """A map's record value, its bytes written once per write for each object: a view whose entries
        share one object (every field won by one event shares that event's provenance) pays for it once.
        The objects live as long as the write does, so their ids name them.
        """
        memo, known, start = self.fresh("memo"), self.fresh("known"), self.fresh("start")
        self.lines.insert(1, f"    {memo} = {{}}")
        self.emit(depth, f"{known} = {memo}.get(id({var}))")
        self.emit(depth, f"if {known} is not None: out += {known}")
        self.emit(depth, "else:")
        self.emit(depth + 1, f"{start} = len(out)")
        if not self.value(schema, var, depth + 1):
            return False
        self.emit(depth + 1, f"{memo}[id({var})] = bytes(out[{start}:])")
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
        if not self.plain and (not isinstance(items, str) or items not in _ITEM_TYPES):
            return False  # items ``to_avro`` would leave unconverted (enums, records) or dates: fastavro's
        item = self.fresh("item")
        self.emit(depth, f"if type({var}) is not list and type({var}) is not tuple: raise Unfit")
        self.emit(depth, f"if {var}:")
        self.emit(depth + 1, f"out += long_bytes(len({var}))")
        self.emit(depth + 1, f"for {item} in {var}:")
        if not self.value(items, item, depth + 2):
            return False
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

    def record(self, schema: Mapping[str, Any], var: str, depth: int) -> bool:
        name, fields = str(schema.get("name")), schema["fields"]
        if not fields or name in self.building:
            return False
        self.building.add(name)
        state = self.fresh("state")
        # ``to_avro`` turns a nested contract model into a dict of its fields, and pydantic keeps exactly
        # those in ``__dict__``: a schema field the model lacks is a KeyError, for the general path
        if self.plain:  # a field missing from the dict: fastavro's defaults decide, on the general path
            self.emit(depth, f"if type({var}) is not dict: raise Unfit")
            self.emit(depth, f"{state} = {var}")
        else:
            self.emit(depth, f"if not isinstance({var}, ContractModel): raise Unfit")
            self.emit(depth, f"{state} = {var}.__dict__")
        for field in fields:
            value = self.fresh("value")
            if self.plain:  # a missing field as fastavro takes it: its default, else null if nullable
                absent = _absent_literal(field)
                self.emit(depth, f"{value} = {state}.get({str(field['name'])!r}, {absent})")
                if absent == "MISSING":
                    self.emit(depth, f"if {value} is MISSING: raise Unfit")
            else:
                self.emit(depth, f"{value} = {state}[{str(field['name'])!r}]")
            if not self.value(field["type"], value, depth):
                return False
        self.building.discard(name)
        return True


def _absent_literal(field: Mapping[str, Any]) -> str:
    """What fastavro writes for ``field`` missing from a plain record, as source: its default (a simple
    one), null when the type is nullable without a default, else ``MISSING`` (the general way decides).
    """
    if "default" in field:
        default = field["default"]
        simple = default is None or type(default) in {str, int, bool}
        return repr(default) if simple else "MISSING"
    nullable = isinstance(field["type"], list) and "null" in field["type"]
    return "None" if nullable else "MISSING"


def writer_source(schema: Mapping[str, Any], *, plain: bool = False) -> tuple[str, dict[str, object]] | None:
    """The source of the writer of a record schema as ``fastavro.parse_schema`` returns it, and the
    constants it names; None when the schema holds a type the writer does not cover. With ``plain``, the
    writer takes the record as plain Avro data (dicts) instead of a contract model.
    """
    source = _Source(schema.get("__named_schemas", {}), plain=plain)
    source.emit(0, "def write(out, model):")
    if not source.record(schema, "model", 1):
        return None
    return "\n".join(source.lines) + "\n", source.constants


def model_writer(schema: Mapping[str, Any], *, plain: bool = False) -> Write | None:
    """The generated writer of a record schema, taking a contract model (with ``plain``: the record as
    plain Avro data, what a view's hot path builds); None when not covered.
    """
    generated = writer_source(schema, plain=plain)
    return cast("Write | None", compile_generated(generated, "write", "<avro model writer>"))
