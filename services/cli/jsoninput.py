"""Events written by hand or by another system as JSON, turned into validated models for publishing.

Accepted: one object, a list of objects, or JSON lines; each object is
``{"type": ..., "source": ..., "time"?: ..., "id"?: ..., "traceparent"?: ..., "data": {...}}`` (CloudEvents'
structured shape, with the distributed-tracing extension), or
just the ``data`` part when ``--type`` and ``--source`` are given on the command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.bus.envelope import is_traceparent, is_uuid, parse_time
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
    """A full name, or a unique suffix of one (``citizen.v1.StayReported``, ``StayReported``).

    An unknown name is not repeated in the error: it is whatever was typed, a NIK pasted in the wrong
    place included.
    """
    if name in EVENT_MODELS:
        return name
    matches = sorted(full for full in EVENT_MODELS if full.endswith("." + name))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidEnvelope(f"ambiguous event type: it names {len(matches)} types ({', '.join(matches)})")
    raise InvalidEnvelope("unknown event type (give an Avro full name from schemas/, or its last part)")


def parse_documents(text: str) -> list[dict[str, Any]]:
    """The objects in ``text``: one object, a list of them or JSON lines; MalformedPayload otherwise."""
    text = text.strip()
    try:
        doc = _loads(text)
    except json.JSONDecodeError:
        try:
            docs = [_loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise MalformedPayload(f"input is not JSON (line {exc.lineno}, column {exc.colno})") from None
    else:
        docs = doc if isinstance(doc, list) else [doc]
    if not docs or not all(isinstance(d, dict) for d in docs):
        raise MalformedPayload("each event must be a JSON object")
    return docs


def _loads(text: str) -> Any:
    """``json.loads``, with nesting deep enough to exhaust the stack refused like any other bad input."""
    try:
        return json.loads(text)
    except RecursionError:
        raise MalformedPayload("input is nested too deeply") from None


def to_event(doc: dict[str, Any], *, type_: str | None = None, source: str | None = None) -> JsonEvent:
    """Validate one document; errors name the field and never echo its value.

    A full document (with ``data``) may give ``id`` (a UUID), ``time`` (RFC 3339 in UTC) and
    ``traceparent`` (W3C trace context: a replay or a test vector keeps its trace); a bare ``data``
    document takes its type and source from the arguments.
    """
    full = "data" in doc
    if full:
        data, type_name, src = doc["data"], doc.get("type", type_), doc.get("source", source)
    else:
        data, type_name, src = doc, type_, source
    if not type_name or not src:
        raise InvalidEnvelope("an event needs a type and a source (in the JSON or as --type/--source)")
    if not isinstance(type_name, str) or not isinstance(src, str):
        raise InvalidEnvelope("an event's type and source are strings")
    fullname = resolve_type(type_name)
    try:
        payload = model_for(fullname).model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(f"{fullname.rsplit('.', 1)[-1]}: {format_validation_error(exc)}") from None
    time, event_id, trace = (doc.get("time"), doc.get("id"), doc.get("traceparent")) if full else (None,) * 3
    if time is not None and not isinstance(time, str):
        raise InvalidEnvelope("time is an RFC 3339 string in UTC, e.g. 2026-11-23T08:30:15.123Z")
    if event_id is not None and not is_uuid(event_id):
        raise InvalidEnvelope("id is not a UUID (the 36-character form)")
    if trace is not None and not is_traceparent(trace):
        raise InvalidEnvelope("traceparent is not W3C trace context (00-<32 hex>-<16 hex>-<2 hex>)")
    moment = parse_time(time, utc_only=True) if time else None
    return JsonEvent(payload, EventMeta(source=src, time=moment, event_id=event_id, traceparent=trace))
