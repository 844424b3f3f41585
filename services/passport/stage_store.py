"""The fair-booking stages' state over a partition's store: one column per field of the stage.

Each stage (``phones``, ``citizens``, ``slots``) keeps its state in mappings with string keys; here they are
the columns of one ``PartitionStore`` (``services.runtime.store``), written with the partition's progress in
one atomic batch, so a worker taking a partition over reads nothing of its history:

- ``phones.done``: request id -> the ``Out`` it led to; ``phones.passed``: phone key -> times passed on;
- ``citizens.active``: citizen -> ``Booking``; ``citizens.pending``: citizen -> ``Request``;
  ``citizens.done``: request id -> the ``Out`` records its decision wrote;
- ``slots.quotas``: ``<office>|<service>`` -> from day -> capacity; ``slots.quota_ids``: quota ids applied;
  ``slots.taken``: ``<office>|<yyyy-mm-dd>|<service>`` -> request id -> queue number; ``slots.answered``:
  request id -> its answer's ``Out``; ``slots.released``: request ids whose slot was released.

Values are JSON written by the small encoders below (each record tagged with its class, dates and times in
ISO 8601, enums as their symbols): the store is the worker's own, the topics are the record of truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import date, datetime
from enum import Enum
from typing import Any, Final

import orjson

from services.contracts.passport import PassportService
from services.contracts.passport_booking import BookingRefusal
from services.passport.booking import (
    Answer,
    Ask,
    Cancel,
    Cancelled,
    Confirmed,
    Out,
    QuotaChange,
    Refused,
    Release,
    Request,
)
from services.passport.citizens import Booking, CitizenStage
from services.passport.phones import PhoneLimit, PhoneStage
from services.passport.slots import SlotStage
from services.runtime.store import PartitionStore

__all__ = [
    "CACHE_SIZE",
    "citizen_stage",
    "decode_booking",
    "decode_out",
    "decode_record",
    "encode_booking",
    "encode_out",
    "encode_record",
    "phone_stage",
    "slot_stage",
]

CACHE_SIZE: Final = 10_000
"""Decoded values kept per hot column (phones' recent passes, citizens' bookings and pending requests,
the office-days' quotas and holds)."""

StoredRecord = Request | Cancel | Ask | Release | QuotaChange | Answer | Confirmed | Refused | Cancelled

_READ: Final[dict[str, Callable[[Any], Any]]] = {
    "day": date.fromisoformat,
    "time": datetime.fromisoformat,
    "service": PassportService,
    "refusal": BookingRefusal,
}
_SHAPES: Final[dict[str, tuple[type[StoredRecord], dict[str, str]]]] = {
    "Request": (Request, {"day": "day", "service": "service", "time": "time"}),
    "Cancel": (Cancel, {"time": "time"}),
    "Ask": (Ask, {"day": "day", "service": "service", "time": "time"}),
    "Release": (Release, {"day": "day", "service": "service", "time": "time"}),
    "QuotaChange": (QuotaChange, {"service": "service", "from_day": "day", "time": "time"}),
    "Answer": (Answer, {"reason": "refusal", "time": "time"}),
    "Confirmed": (Confirmed, {"day": "day", "service": "service", "time": "time"}),
    "Refused": (Refused, {"day": "day", "reason": "refusal", "time": "time"}),
    "Cancelled": (Cancelled, {"day": "day", "time": "time"}),
}
"""Each stored record's class by its tag, and how its fields that are not plain JSON are read back (the
others are text, numbers, booleans or null as written)."""
_NAMES: Final = {name: tuple(f.name for f in fields(cls)) for name, (cls, _) in _SHAPES.items()}


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):  # a datetime is a date too: both keep their ISO form
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _record_data(record: StoredRecord) -> dict[str, object]:
    name = type(record).__name__
    data: dict[str, object] = {"$": name}
    for field_name in _NAMES[name]:
        data[field_name] = _plain(getattr(record, field_name))
    return data


def _record_of(data: dict[str, Any]) -> StoredRecord:
    cls, reads = _SHAPES[data["$"]]
    values = {}
    for field_name in _NAMES[data["$"]]:
        value = data[field_name]
        read = reads.get(field_name)
        values[field_name] = value if value is None or read is None else _READ[read](value)
    return cls(**values)


def _out_data(out: Out) -> dict[str, object]:
    return {"topic": out.topic, "key": out.key, "value": _record_data(out.value), "broadcast": out.broadcast}


def _out_of(data: dict[str, Any]) -> Out:
    return Out(data["topic"], data["key"], _record_of(data["value"]), bool(data["broadcast"]))


def encode_record(record: StoredRecord) -> bytes:
    """A stage record as the store keeps it."""
    return orjson.dumps(_record_data(record))


def decode_record(raw: bytes) -> StoredRecord:
    """Read back what ``encode_record`` wrote."""
    return _record_of(orjson.loads(raw))


def encode_out(out: Out) -> bytes:
    """One record a stage wrote, where and under which key."""
    return orjson.dumps(_out_data(out))


def decode_out(raw: bytes) -> Out:
    """Read back what ``encode_out`` wrote."""
    return _out_of(orjson.loads(raw))


def _encode_outs(outs: tuple[Out, ...]) -> bytes:
    return orjson.dumps([_out_data(out) for out in outs])


def _decode_outs(raw: bytes) -> tuple[Out, ...]:
    return tuple(_out_of(data) for data in orjson.loads(raw))


def encode_booking(booking: Booking) -> bytes:
    """A citizen's active booking."""
    return orjson.dumps({"confirmed": _record_data(booking.confirmed), "moved": booking.moved})


def decode_booking(raw: bytes) -> Booking:
    """Read back what ``encode_booking`` wrote."""
    data = orjson.loads(raw)
    confirmed = _record_of(data["confirmed"])
    if not isinstance(confirmed, Confirmed):
        raise TypeError("a stored booking holds no confirmation")
    return Booking(confirmed, bool(data["moved"]))


def _encode_request(request: Request) -> bytes:
    return encode_record(request)


def _decode_request(raw: bytes) -> Request:
    record = decode_record(raw)
    if not isinstance(record, Request):
        raise TypeError("a stored pending request is no request")
    return record


def _encode_times(times: tuple[datetime, ...]) -> bytes:
    return orjson.dumps([time.isoformat() for time in times])


def _decode_times(raw: bytes) -> tuple[datetime, ...]:
    return tuple(datetime.fromisoformat(time) for time in orjson.loads(raw))


def _encode_flag(flag: bool) -> bytes:  # noqa: FBT001 - a column's value
    return b"1" if flag else b"0"


def _decode_flag(raw: bytes) -> bool:
    return raw == b"1"


def _encode_capacities(rows: Mapping[date, int]) -> bytes:
    return orjson.dumps({day.isoformat(): capacity for day, capacity in rows.items()})


def _decode_capacities(raw: bytes) -> Mapping[date, int]:
    return {date.fromisoformat(day): int(capacity) for day, capacity in orjson.loads(raw).items()}


def _encode_numbers(held: Mapping[str, int]) -> bytes:
    return orjson.dumps(dict(held))


def _decode_numbers(raw: bytes) -> Mapping[str, int]:
    return {request_id: int(number) for request_id, number in orjson.loads(raw).items()}


def phone_stage(partition: PartitionStore, rules: PhoneLimit, *, cache_size: int = CACHE_SIZE) -> PhoneStage:
    """The ``passport.phones`` stage of ``partition``, its state in the partition's columns."""
    return PhoneStage(
        rules=rules,
        done=partition.column("phones.done", encode_out, decode_out),
        passed=partition.column("phones.passed", _encode_times, _decode_times, cache_size=cache_size),
    )


def citizen_stage(partition: PartitionStore, *, cache_size: int = CACHE_SIZE) -> CitizenStage:
    """The ``passport.requests`` stage of ``partition``, its state in the partition's columns."""
    return CitizenStage(
        active=partition.column("citizens.active", encode_booking, decode_booking, cache_size=cache_size),
        pending=partition.column("citizens.pending", _encode_request, _decode_request, cache_size=cache_size),
        done=partition.column("citizens.done", _encode_outs, _decode_outs),
    )


def slot_stage(partition: PartitionStore, *, cache_size: int = CACHE_SIZE) -> SlotStage:
    """The ``passport.slots`` stage of ``partition``, its state in the partition's columns."""
    return SlotStage(
        quotas=partition.column(
            "slots.quotas", _encode_capacities, _decode_capacities, cache_size=cache_size
        ),
        quota_ids=partition.column("slots.quota_ids", _encode_flag, _decode_flag),
        taken=partition.column("slots.taken", _encode_numbers, _decode_numbers, cache_size=cache_size),
        answered=partition.column("slots.answered", encode_out, decode_out),
        released=partition.column("slots.released", _encode_flag, _decode_flag),
    )
