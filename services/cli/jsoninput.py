"""Events written by hand or by another system as JSON, turned into validated models for publishing.

Accepted: one object, a list of objects, or JSON lines; each object is
``{"type": ..., "source": ..., "time"?: ..., "id"?: ..., "data": {...}}`` (CloudEvents' structured shape), or
just the ``data`` part when ``--type`` and ``--source`` are given on the command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.bus.envelope import parse_time
from services.bus.errors import InvalidEnvelope, InvalidEvent, MalformedPayload
from services.bus.events import model_for
from services.bus.publisher import EventMeta
from services.contracts import EVENT_MODELS
from services.contracts.base import EventModel, format_validation_error


@dataclass(frozen=True)
class JsonEvent:
    """One event read from JSON: the validated payload and the envelope attributes it gave."""

    payload: EventModel
    meta: EventMeta


def resolve_type(name: str) -> str:
    """A full name, or a unique suffix of one (``citizen.v1.StayReported``, ``StayReported``)."""
    if name in EVENT_MODELS:
        return name
    matches = [full for full in EVENT_MODELS if full.endswith("." + name)]
    if len(matches) == 1:
        return matches[0]
    raise InvalidEnvelope(f"unknown event type {name!r}" if not matches else f"ambiguous event type {name!r}")


def parse_documents(text: str) -> list[dict[str, Any]]:
    """The objects in ``text``: one object, a list of them or JSON lines; MalformedPayload otherwise."""
    text = text.strip()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        try:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise MalformedPayload(f"input is not JSON (line {exc.lineno}, column {exc.colno})") from None
    else:
        docs = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(d, dict) for d in docs):
        raise MalformedPayload("each event must be a JSON object")
    return docs


def to_event(doc: dict[str, Any], *, type_: str | None = None, source: str | None = None) -> JsonEvent:
    """Validate one document; errors name the field and never echo its value."""
    if "data" in doc:
        data, type_name, src = doc["data"], doc.get("type", type_), doc.get("source", source)
    else:
        data, type_name, src = doc, type_, source
    if not type_name or not src:
        raise InvalidEnvelope("an event needs a type and a source (in the JSON or as --type/--source)")
    fullname = resolve_type(str(type_name))
    try:
        payload = model_for(fullname).model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(f"{fullname.rsplit('.', 1)[-1]}: {format_validation_error(exc)}") from None
    time = parse_time(str(doc["time"])) if doc.get("time") and "data" in doc else None
    return JsonEvent(
        payload, EventMeta(source=str(src), time=time, event_id=doc.get("id") if "data" in doc else None)
    )
