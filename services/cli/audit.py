"""``bus replay`` (any view rebuilt from history, as of any time) and ``bus audit access`` (who looked a
citizen up, when and why): the auditors' commands.

Rows go to stdout (JSON lines or CSV), progress and errors to stderr. A view's personal parts are redacted
unless ``--show-personal`` asks for them, as ``bus tail`` does; a NIK given to ``access`` is only hashed.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from services.audit.history import Outcome
    from services.audit.replay import ViewPlan
    from services.bus.settings import BusSettings

ALL = "all"
"""``--view all``: every view, over one reading of the history."""

audit_app = typer.Typer(
    help="Auditors: who looked up a citizen; replay any view as of any time.", no_args_is_help=True
)


class Format(StrEnum):
    """How rows are written."""

    JSONL = "jsonl"
    CSV = "csv"


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time with its zone (``2026-12-03T08:00:00Z``), as UTC; BadParameter otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise typer.BadParameter("not an ISO 8601 time, e.g. 2026-12-03T08:00:00Z") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the time zone, e.g. 2026-12-03T08:00:00Z or +07:00")
    return moment.astimezone(UTC)


def write_rows(rows: list[dict[str, object]], fmt: Format, columns: list[str]) -> None:
    """``rows`` on stdout: one JSON object a line, or CSV with a header (nested values as JSON text)."""
    if fmt is Format.JSONL:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for v in row.values()]
        )


def _replay(
    settings: BusSettings, view: str, as_of: datetime | None, *, reading_event: bool, archive: Path | None
) -> dict[str, Outcome]:
    """Replay ``view`` (or every view, for ``all``: one reading of history for them all) with a progress
    bar on stderr; view name -> outcome.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from services.audit import history, views
    from services.audit.parallel import replay_split
    from services.audit.replay import Reading
    from services.protection.settings import ProtectionSettings

    reading = Reading.EVENT if reading_event else Reading.APPENDED
    levels = ProtectionSettings().service_levels()
    names = views.VIEWS if view == ALL else (view,)
    on_broker = None if archive is not None else partial(history.input_partitions, settings)
    plans = views.plans(names, settings, levels=levels, partitions_of=on_broker)
    total: int | None = None
    if archive is None:
        sources = {settings.topic(t) for p in plans for t in p.sources}
        total = history.history_size(settings, sorted(sources))
    columns = (
        TextColumn("replay {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(view, total=total)

        def progress(done: int) -> None:
            bar.update(task, completed=done)

        def run(chosen: Sequence[ViewPlan], heard: Callable[[int], None] | None) -> dict[str, Outcome]:
            if archive is None:
                return history.replay_views_kafka(
                    settings, chosen, as_of=as_of, reading=reading, progress=heard
                )
            return history.replay_views_archive(archive, chosen, as_of=as_of, reading=reading, progress=heard)

        return replay_split(run, plans, progress)


def replay(
    *,
    view: Annotated[
        str, typer.Option(help="registry, deadletters, protection, passport, or all (one reading for all)")
    ],
    as_of: Annotated[
        str | None, typer.Option(help="Only what the bus had appended by then (ISO 8601 with its zone)")
    ] = None,
    event_time: Annotated[
        bool, typer.Option("--event-time", help="Read --as-of on the events' own time (ce_time)")
    ] = False,
    from_archive: Annotated[
        Path | None, typer.Option(help="Replay an archive directory instead of the broker's topics")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="jsonl or csv")] = Format.JSONL,
    show_personal: Annotated[bool, typer.Option(help="Print the views' personal parts")] = False,
) -> None:
    """Rebuild a view from history by the live worker's own projection; print its final state."""
    from services.audit.views import VIEWS
    from services.bus.logs import get_logger
    from services.bus.settings import get_settings
    from services.cli.jsonview import redacted

    if view not in (*VIEWS, ALL):
        raise typer.BadParameter(f"one of {', '.join(VIEWS)} or {ALL}", param_hint="--view")
    if event_time and as_of is None:
        raise typer.BadParameter("--event-time reads --as-of: give both", param_hint="--event-time")
    moment = None if as_of is None else parse_moment(as_of)
    if from_archive is not None and not from_archive.is_dir():
        raise typer.BadParameter("not a directory", param_hint="--from-archive")
    outcomes = _replay(get_settings(), view, moment, reading_event=event_time, archive=from_archive)
    rows: list[dict[str, object]] = [
        {"topic": r.topic, "key": r.key, "value": r.value if show_personal else redacted(r.value)}
        for outcome in outcomes.values()
        for r in outcome.rows
    ]
    write_rows(rows, fmt, ["topic", "key", "value"])
    for name, outcome in outcomes.items():
        get_logger("audit").info("replayed", view=name, rows=len(outcome.rows), **outcome.counts.describe())


@audit_app.command("access")
def access(
    *,
    citizen: Annotated[str, typer.Option(help="The citizen's NIK (hashed, never shown) or citizen id")],
    fmt: Annotated[Format, typer.Option("--format", help="jsonl or csv")] = Format.JSONL,
) -> None:
    """Every lookup of a citizen recorded on registry.access: when, who, from which office, why."""
    from services.audit.access import AccessRow, citizen_of, lookups_of
    from services.bus.keys import citizen_hasher
    from services.bus.settings import get_settings

    settings = get_settings()
    try:
        citizen_id = citizen_of(citizen, citizen_hasher(settings))
    except ValueError as exc:
        raise typer.BadParameter(
            f"neither a citizen id (cit-...) nor a NIK: {exc}", param_hint="--citizen"
        ) from None
    rows: list[dict[str, object]] = [dict(row.as_dict()) for row in lookups_of(settings, citizen_id)]
    write_rows(rows, fmt, list(AccessRow.__dataclass_fields__))
