"""Base classes of the payload models, and the one way to turn their validation errors into text.

The models mirror the latest revision of each Avro contract in ``schemas/`` field by field
(``tests/unit/test_contracts.py`` proves it), so a model that validates is a record the codec can write.
Payloads are full of personal data, so nothing here may ever put an input value into an error text.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["ContractModel", "EventModel", "format_validation_error"]

_VALUE_ERROR_PREFIX = "Value error, "


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
    """
    parts: list[str] = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix(_VALUE_ERROR_PREFIX)
        parts.append(f"{path}: {message}" if path else message)
    return "; ".join(parts)
