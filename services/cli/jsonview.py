"""Events as JSON for people and scripts (``bus tail``, ``bus deadletter list``), personal data redacted.

Redaction is the default because terminals get screenshotted and logs get shipped; an operator who needs
the personal part asks for it explicitly.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from services.bus.decoder import RawRecord
from services.bus.envelope import format_time
from services.bus.events import BusEvent

REDACTED = "<redacted>"


def redacted(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every value of its ``personal`` part replaced (absent ones stay null)."""
    personal = data.get("personal")
    if not isinstance(personal, dict):
        return data
    return {**data, "personal": {k: (REDACTED if v is not None else None) for k, v in personal.items()}}


def event_to_json(event: BusEvent, raw: RawRecord, *, show_personal: bool = False) -> dict[str, Any]:
    """A decoded event with where it was read and its envelope; personal data redacted unless asked."""
    data = event.payload.model_dump(mode="json")
    if not show_personal:
        data = redacted(data)
    env = event.envelope
    return {
        "topic": raw.topic,
        "partition": raw.partition,
        "offset": raw.offset,
        "key": event.key,
        "id": env.id,
        "source": env.source,
        "type": env.type,
        "time": format_time(env.time),
        "subject": env.subject,
        "dataschema": env.dataschema,
        "traceparent": env.traceparent,
        "extensions": dict(env.extensions),
        "data": data,
    }


def raw_to_json(raw: RawRecord) -> dict[str, Any]:
    """A record that did not decode: headers as text, the value as base64 (it may hold personal data)."""
    return {
        "topic": raw.topic,
        "partition": raw.partition,
        "offset": raw.offset,
        "headers": {k: v.decode("utf-8", "replace") for k, v in raw.headers},
        "value_bytes": len(raw.value or b""),
        "value_base64": base64.b64encode(raw.value).decode() if raw.value else None,
    }


def dumps(obj: dict[str, Any]) -> str:
    """``obj`` as one line of JSON, non-ASCII characters kept readable."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)
