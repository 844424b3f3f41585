"""``bus deadletter worker`` and ``bus deadletter figures``: the dead-letter figures view and its reading.

The view topic holds one absolute figure per group and per partition of ``bus.deadletter``; a reader sums
the latest figure of each partition per group (what ``combined`` does, and what a dashboard must do).
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Annotated

import typer

from services.bus.codec import AvroCodec
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings
from services.deadletters.figures import read_figures


def combined(settings: BusSettings) -> Counter[str]:
    """Group -> dead letters across every partition: the latest figure per (group, partition), summed."""
    return read_figures(settings, AvroCodec(load_registry(settings.schemas_dir)))


def deadletter_worker() -> None:
    """Run the dead-letter figures worker (faust worker with its HTTP shell) until Ctrl-C."""
    from services.deadletters.app import DeadLetterSettings, worker_main

    sys.argv = [sys.argv[0], "worker"]
    worker_main(get_settings(), DeadLetterSettings())


def deadletter_figures(
    reason: Annotated[str | None, typer.Option(help="Only this reason code")] = None,
) -> None:
    """Refused records per reason, component, source office and hour, summed over the partitions."""
    for group, count in sorted(combined(get_settings()).items()):
        if reason is None or group.startswith(f"{reason}|"):
            typer.echo(f"{count:>8}  {group}")
