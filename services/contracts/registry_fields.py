"""What the registry's contracts share: pseudonymous ids, timestamps, counts, plain Avro data, ViewModel.

Identifiers and ids are checked by pattern because they travel on topics that must never carry personal
data (decisions, access log, record keys): a raw NIK or passport number typed where a hash belongs is
refused, and the message names the rule, never the value.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, Field

from services.contracts.base import ContractModel
from services.contracts.common import AVRO_LONG_MAX, matching

__all__ = [
    "NAMESPACE",
    "AvroRecordModel",
    "CandidateId",
    "CitizenId",
    "Count",
    "DecisionId",
    "Identifier",
    "MergeId",
    "Timestamp",
    "ViewModel",
    "avro_record",
    "plain_avro",
]

NAMESPACE = "id.go.kemlu.bus.registry.v1"


def _utc_millis(value: datetime) -> datetime:
    """Aware UTC at millisecond precision: what timestamp-millis keeps, so a round trip is exact."""
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


Identifier = Annotated[
    str,
    matching(
        r"(?:nik|passport):[0-9a-f]{64}|(?:ref|app|case):.+",
        "identifier must be pseudonymous: 'nik:' or 'passport:' and a 64-hex-digit HMAC, "
        "or 'ref:', 'app:', 'case:' and an id",
    ),
]
CitizenId = Annotated[str, matching(r"cit-[0-9a-f]{20}", "citizen id must be 'cit-' and 20 hex digits")]
CandidateId = Annotated[str, matching(r"cand-[0-9a-f]{20}", "candidate id must be 'cand-' and 20 hex digits")]
MergeId = Annotated[str, matching(r"mrg-[0-9a-f]{20}", "merge id must be 'mrg-' and 20 hex digits")]
DecisionId = Annotated[
    str,
    matching(
        r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}",
        "decision id must be a code: letters, digits, '.', '_', ':', '-', at most 64 characters",
    ),
]
Timestamp = Annotated[datetime, AfterValidator(_utc_millis)]
Count = Annotated[int, Field(ge=0, le=AVRO_LONG_MAX)]


_AS_IS = frozenset({str, int, bool, float, bytes, type(None), date, datetime})
"""Types whose values are plain Avro data already."""


def plain_avro(value: object) -> Any:  # noqa: PLR0911 - one return per kind of datum, common ones first
    """Plain Avro datum: models as dicts in field order, enums as symbols, tuples as lists, recursively.

    The base models hold no collections; these contracts do (arrays of records, a map).
    """
    kind = type(value)
    if kind in _AS_IS:  # most values: checked by their exact type before any isinstance (a model's
        return value  # class check goes through its metaclass, the slowest test here)
    if kind is dict:
        return {key: plain_avro(item) for key, item in value.items()}  # type: ignore[attr-defined]
    if kind is list or kind is tuple:
        return [plain_avro(item) for item in value]  # type: ignore[attr-defined]
    if isinstance(value, ContractModel):
        return {name: plain_avro(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [plain_avro(item) for item in value]
    if isinstance(value, dict):
        return {key: plain_avro(item) for key, item in value.items()}
    return value


def avro_record(model: ContractModel) -> dict[str, Any]:
    """The fields of ``model`` in schema order as plain Avro data (what ``to_avro`` returns).

    pydantic's own dump (compiled) does the walk; ``plain_avro`` then only swaps tuples and enums, which
    halves the cost of a golden record's view, the registry core's most frequent encoding.
    """
    plain: dict[str, Any] = plain_avro(model.model_dump())
    return plain


class AvroRecordModel(ContractModel):
    """A contract model that is one whole record on a topic: its full name, its topic, to and from Avro."""

    SCHEMA: ClassVar[str]
    """Avro full name of the contract."""
    TOPIC: ClassVar[str]
    """Topic the record is published on."""

    def to_avro(self) -> dict[str, Any]:
        """The record ``fastavro.schemaless_writer`` takes (plain lists, dicts, symbols, dates, datetimes)."""
        return avro_record(self)

    @classmethod
    def from_avro(cls, record: dict[str, Any]) -> Self:
        """Validate a record as ``fastavro.schemaless_reader`` returns it."""
        return cls.model_validate(record)


class ViewModel(AvroRecordModel):
    """A record the registry publishes about its state, not an event: ``VIEW_MODELS``, not ``EVENT_MODELS``.

    Views go on topics the registry alone writes, with the same codec and CloudEvents headers as events.
    """
