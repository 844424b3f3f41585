"""What the generated Avro readers and writers share: walking a parsed schema while emitting Python source.

``modelreader`` and ``modelwriter`` each subclass ``SchemaSource`` with what reading or writing one kind of
value means; the walk (which kind a schema is, named types, recursion), the lines and the fresh names are
the same for both, and so is turning the finished source into a function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SchemaSource", "compile_generated"]


class SchemaSource:
    """The lines of one generated function and the constants they name, emitted while walking a schema.

    Each ``value``-like method returns False when the schema holds a type the subclass does not cover:
    the caller then generates nothing and keeps the general path.
    """

    def __init__(self, named: Mapping[str, Any], constants: dict[str, object]) -> None:
        self.named = named
        self.lines: list[str] = []
        self.constants = constants
        self.building: set[str] = set()
        """Records whose code is being emitted: meeting one again means recursion, which is not covered."""
        self.count = 0

    def emit(self, depth: int, line: str) -> None:
        """One line of source, indented ``depth`` levels."""
        self.lines.append("    " * depth + line)

    def fresh(self, prefix: str) -> str:
        """A variable name not used before in this function."""
        self.count += 1
        return f"{prefix}{self.count}"

    def value(self, schema: Any, var: str, depth: int) -> bool:
        """Emit the code for one value of ``schema`` in ``var``."""
        if isinstance(schema, str):
            if schema in self.named:
                return self.named_type(schema, var, depth)
            return self.primitive(schema, var, depth)
        if isinstance(schema, list):
            return self.union(schema, var, depth)
        return isinstance(schema, dict) and self.complex(schema, var, depth)

    def complex(self, schema: Mapping[str, Any], var: str, depth: int) -> bool:
        """A schema given as an object: a logical type, record, enum, array, map or primitive spelled out."""
        kind, logical = schema.get("type"), schema.get("logicalType")
        if logical is not None:
            return self.logical(kind, logical, var, depth)
        if kind == "record":
            return self.record(schema, var, depth)
        if kind == "enum":
            return self.enum(schema["symbols"], var, depth)
        if kind == "array":
            return self.array(schema["items"], var, depth)
        if kind == "map":
            return self.map(schema["values"], var, depth)
        return isinstance(kind, str) and self.primitive(kind, var, depth)

    def named_type(self, name: str, var: str, depth: int) -> bool:
        """A reference to a named type defined earlier in the schema."""
        if name in self.building:
            return False  # a recursive record
        return self.value(self.named[name], var, depth)

    def primitive(self, kind: str, var: str, depth: int) -> bool:
        """A primitive type by name."""
        raise NotImplementedError

    def logical(self, kind: object, logical: object, var: str, depth: int) -> bool:
        """A logical type over ``kind``."""
        raise NotImplementedError

    def record(self, schema: Mapping[str, Any], var: str, depth: int) -> bool:
        """A record, its fields in schema order."""
        raise NotImplementedError

    def enum(self, symbols: list[str], var: str, depth: int) -> bool:
        """An enum of these symbols."""
        raise NotImplementedError

    def array(self, items: Any, var: str, depth: int) -> bool:
        """An array of ``items``."""
        raise NotImplementedError

    def map(self, values: Any, var: str, depth: int) -> bool:
        """A map of string keys to ``values``."""
        raise NotImplementedError

    def union(self, branches: list[Any], var: str, depth: int) -> bool:
        """A union of ``branches``."""
        raise NotImplementedError


def compile_generated(generated: tuple[str, dict[str, object]] | None, name: str, filename: str) -> Any:
    """The function ``name`` that generated source defines, compiled with its constants as globals; None
    for no source (a schema not covered).
    """
    if generated is None:
        return None
    text, namespace = generated
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - source built from a schema alone
    return namespace[name]
