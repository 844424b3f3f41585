"""One record of each kind of bad input a consumer must refuse, built from a valid one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.bus.codec import MAGIC
from services.bus.envelope import format_time
from services.bus.publisher import Outgoing


def replace_header(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(k, value if k == name else v) for k, v in headers]


def bad_records(good: Outgoing) -> dict[str, tuple[bytes, list[tuple[str, bytes]]]]:
    """One record per kind of bad input, keyed by the reason code each must be refused with."""
    future = format_time(datetime.now(UTC) + timedelta(days=2)).encode()
    return {
        "MALFORMED": (b"\x00garbage that is not avro", good.headers),
        "UNKNOWN_SCHEMA": (MAGIC + b"\x01\x02\x03\x04\x05\x06\x07\x08" + good.value[10:], good.headers),
        "TRUNCATED": (good.value[: len(good.value) // 2], good.headers),
        "INVALID_ENVELOPE": (good.value, [(k, v) for k, v in good.headers if k != "ce_id"]),
        "UNKNOWN_SOURCE": (good.value, replace_header(good.headers, "ce_source", b"kbri-atlantis")),
        "FUTURE_EVENT": (good.value, replace_header(good.headers, "ce_time", future)),
    }
