"""``bus tail``: a topic as decoded JSON lines, read without a consumer group (it commits nothing).

No record ends a tail: one that does not decode, or that the client library cannot even parse, is shown
as a line with its error, and the tail goes on.
"""

from __future__ import annotations

import time

import typer

from services.bus.consumer import Unreadable, poll_raw
from services.bus.decoder import EventDecoder
from services.bus.errors import BusError
from services.bus.reading import assign_all, group_less
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.jsonview import dumps, event_to_json, raw_to_json


def tail_topic(
    settings: BusSettings, topic: str, *, from_beginning: bool, limit: int, idle: float, show_personal: bool
) -> None:
    """Print a topic's records as JSON lines; stop after ``limit`` of them or ``idle`` quiet seconds."""
    decoder = EventDecoder(settings, load_registry(settings.schemas_dir))
    shown, last = 0, time.monotonic()
    with group_less(settings) as consumer:
        assign_all(consumer, settings.topic(topic), from_beginning=from_beginning)
        while not limit or shown < limit:
            polled = poll_raw(consumer, timeout_ms=500)
            if not polled and idle and time.monotonic() - last > idle:
                return
            for raw in polled:
                if isinstance(raw, Unreadable):
                    line = {**raw_to_json(raw.raw), "error": f"{raw.error.reason}: {raw.error.message}"}
                else:
                    try:
                        line = event_to_json(decoder.decode(raw), raw, show_personal=show_personal)
                    except BusError as exc:
                        line = {**raw_to_json(raw), "error": f"{exc.reason}: {exc.message}"}
                if "error" in line and not show_personal:
                    line.pop("value_base64")
                typer.echo(dumps(line))
                shown += 1
                last = time.monotonic()
                if limit and shown >= limit:
                    return
