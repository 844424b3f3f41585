"""Base classes of the payload models, and the one way to turn their validation errors into text.

The models mirror the latest revision of each Avro contract in ``schemas/`` field by field
(``tests/unit/test_contracts.py`` proves it), so a model that validates is a record the codec can write.
Payloads are full of personal data, so nothing here may ever put an input value into an error text.
"""

from __future__ import annotations

import difflib
import enum
import re
from functools import cache
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["ContractModel", "EventModel", "format_validation_error"]

_VALUE_ERROR_PREFIX = "Value error, "
_SHORTEST_ECHO = 4
"""Inputs shorter than this may appear in a message by chance (a digit, a letter), not as an echo."""
_FIELD_SHAPED = re.compile(r"[a-z_]{1,40}")
"""What every contract field name looks like; an unknown key of another shape (digits, capitals, spaces,
``@``: a NIK, a passport number, a name, an e-mail typed as a key) is never repeated in an error.
"""


class ContractModel(BaseModel):
    """A frozen model of an Avro record: unknown fields are refused, inputs never appear in ``str(error)``.

    ``hide_input_in_errors`` is set on every model because pydantic takes it from the outermost model
    being validated: a nested ``Personal`` alone could not keep a bad NIK out of the error text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class EventModel(ContractModel):
    """The payload of one bus event; the envelope (id, source, time, type) travels in headers instead."""

    SCHEMA: ClassVar[str]
    """Avro full name of the contract, e.g. ``id.go.kemlu.bus.citizen.v1.StayReported``."""
    TOPIC: ClassVar[str]
    """Domain topic the event goes to: ``citizen``, ``passport`` or ``protection``."""

    def to_avro(self) -> dict[str, Any]:
        """The record ``fastavro.schemaless_writer`` takes: enums as symbols, dates and datetimes as is."""
        return _avro_record(self)

    @classmethod
    def from_avro(cls, record: dict[str, Any]) -> Self:
        """Validate a record as ``fastavro.schemaless_reader`` returns it (or a producer supplies it)."""
        return cls.model_validate(record)


def _avro_record(model: ContractModel) -> dict[str, Any]:
    """The fields of ``model`` in schema order, nested records included, as plain Avro data."""
    return {name: _avro_value(getattr(model, name)) for name in type(model).model_fields}


def _avro_value(value: object) -> Any:
    """Plain Avro datum for one field value."""
    if isinstance(value, ContractModel):
        return _avro_record(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def format_validation_error(exc: ValidationError) -> str:
    """``path: message`` per error, joined by ``; `` - for logs and dead letters, so never an input value.

    Inputs, context and documentation URLs are left out; our own validators' messages never quote the
    value, and pydantic's built-in messages only quote the constraint (a pattern, the allowed symbols).
    An unknown field's name is input too (a NIK typed as a key): it is shown only if it is shaped like a
    field name (lower-case letters and underscores), otherwise its place is named and at most the contract
    field it resembles is suggested. A message that quotes its input anyway (a future pydantic) is
    replaced by the error's type.
    """
    parts: list[str] = []
    for error in exc.errors(include_url=False, include_context=False):
        loc = error["loc"]
        if error["type"] == "extra_forbidden":
            name = str(loc[-1]) if loc else ""
            if _FIELD_SHAPED.fullmatch(name) is None:
                loc, message = loc[:-1], "an unknown field, its name withheld" + _suggestion(name)
            else:
                message = "unknown field, not in the contract" + _suggestion(name)
        else:
            message = error["msg"].removeprefix(_VALUE_ERROR_PREFIX)
            if _echoes(message, error.get("input")):
                message = f"invalid ({error['type']})"
        path = ".".join(str(part) for part in loc)
        parts.append(f"{path}: {message}" if path else message)
    return "; ".join(parts)


def _echoes(message: str, value: object) -> bool:
    """Whether ``message`` contains ``value`` as written (a string, or a number's digits)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    text = str(value)
    return len(text) >= _SHORTEST_ECHO and text in message


def _suggestion(name: str) -> str:
    """`` (did you mean <field>?)`` when a contract field other than ``name`` is close to it."""
    close = [c for c in difflib.get_close_matches(name, _field_names(), n=2, cutoff=0.8) if c != name]
    return f" (did you mean {close[0]}?)" if close else ""


@cache
def _field_names() -> tuple[str, ...]:
    """Every field name of every contract model: the only names an error may suggest."""
    names: set[str] = set()
    pending: list[type[ContractModel]] = [ContractModel]
    while pending:
        model = pending.pop()
        names.update(model.model_fields)
        pending.extend(model.__subclasses__())
    return tuple(sorted(names))
