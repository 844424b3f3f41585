"""``bus passport ...``: the passport service for people: "is my passport ready?", the daily figures, and
the worker itself.

The status is asked of the front door (``services.cli.front_door``), which relays it from a passport
worker (their port answers it only to the front door); it is given to whoever knows the application id and
the applicant's birth date, sent in a header, never in the URL: it is the citizen's own answer, so no
account is needed (a token given with ``--token`` or ``BUS_TOKEN`` is sent all the same). The
figures are read from ``passport.figures`` itself: the latest record per key, summed over partitions, as
any reader must.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import date
from typing import Annotated, Any

import typer

from services.bus.codec import AvroCodec
from services.bus.reading import latest_views
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings
from services.cli.front_door import TOKEN_ENV, FrontDoorClient
from services.cli.view_client import client_call
from services.contracts.passport_views import PassportFiguresModel
from services.passport.figures import OfficeDayFigures, median_days, sum_partitions
from services.passport.settings import PassportSettings


def render_status(answer: dict[str, Any]) -> str:
    """The answer for people, in Indonesian and then in English."""
    ready = answer["ready_from"] or "-"
    lines = [
        f"permohonan / application {answer['application_id']}  {answer['status']}",
        f"  kantor / office   {answer['office_name']} ({answer['office']})",
        f"  siap / ready      {ready}{' (perkiraan / expected)' if answer['expected'] else ''}",
    ]
    if answer.get("booking_code"):
        queue = answer.get("queue_number")
        lines.append(
            f"  jadwal / booking  {answer['booking_code']}, {answer.get('booked_day') or '-'}"
            f"{f', antrean / queue {queue}' if queue is not None else ''}"
        )
    if answer.get("booking_refusal"):
        lines.append(f"  ditolak / refused {answer['booking_refusal']}")
    lines += ["", f"  {answer['text_id']}"]
    lines.extend(f"    - {item}" for item in answer["bring_id"])
    lines.append(f"  {answer['text_en']}")
    lines.extend(f"    - {item}" for item in answer["bring_en"])
    return "\n".join(lines)


def passport_worker() -> None:
    """Run the passport worker (fair booking's stages, the status view, its intake and HTTP view)."""
    from services.passport.app import worker_main

    sys.argv = [sys.argv[0], "worker"]
    worker_main(get_settings(), PassportSettings())


def passport_status(
    application_id: Annotated[str, typer.Argument(help="The application id")],
    *,
    birth_date: Annotated[
        str, typer.Option(help="The applicant's birth date, YYYY-MM-DD (the second factor; sent in a header)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON")] = False,
    token: Annotated[str | None, typer.Option(help="An API token (else BUS_TOKEN; not required)")] = None,
) -> None:
    """Is my passport ready? The status, the office, when it is or will be ready, what to bring (asked of
    the front door).
    """
    try:
        day = date.fromisoformat(birth_date)
    except ValueError:
        typer.echo("error: --birth-date must be YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    client = FrontDoorClient.from_env(token or os.environ.get(TOKEN_ENV))
    answer = client_call(lambda: client.passport_status(application_id, day.isoformat()))
    typer.echo(FrontDoorClient.render(answer) if as_json else render_status(answer))


def read_figures(settings: BusSettings) -> dict[tuple[str, date], OfficeDayFigures]:
    """The figures across the bus per (office, day): the latest ``passport.figures`` record per key (office,
    day and partition), summed over partitions.
    """
    codec = AvroCodec(load_registry(settings.schemas_dir))
    latest = latest_views(
        settings,
        PassportFiguresModel.TOPIC,
        lambda value: PassportFiguresModel.from_avro(codec.decode(value).record),
    )
    return sum_partitions(latest.values())


def figures_json(office: str, day: date, figures: OfficeDayFigures) -> dict[str, Any]:
    """One office-day as JSON: the counts, refusals by reason and the exact median days to ready."""
    return {
        "office": office,
        "day": day.isoformat(),
        "quota_used": figures.quota_used,
        "bookings": figures.bookings,
        "freed": figures.freed,
        "refusals": dict(sorted(figures.refusals.items())),
        "ready_not_collected": figures.ready_not_collected,
        "median_days_to_ready": median_days(figures.ready_days),
    }


def passport_figures(
    *,
    office: Annotated[str | None, typer.Option(help="Only this office code")] = None,
    day: Annotated[str | None, typer.Option(help="Only this local day, YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per office-day")] = False,
) -> None:
    """Daily figures per office: quota used, bookings, refusals by reason (touts' TOO_MANY_REQUESTS
    included), passports ready but not collected, median days from submission to ready.
    """
    wanted = None if day is None else date.fromisoformat(day)
    chosen = {
        place: figures
        for place, figures in read_figures(get_settings()).items()
        if (office is None or place[0] == office) and (wanted is None or place[1] == wanted)
    }
    if as_json:
        for (code, when), figures in chosen.items():
            typer.echo(json.dumps(figures_json(code, when, figures), ensure_ascii=False))
        return
    refused: Counter[str] = Counter()
    typer.echo(
        f"{'office':<28}{'day':<12}{'used':>6}{'booked':>8}{'freed':>7}{'waiting':>9}{'median':>8}  refusals"
    )
    for (code, when), figures in chosen.items():
        refused += figures.refusals
        median = median_days(figures.ready_days)
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(figures.refusals.items()))
        typer.echo(
            f"{code:<28}{when.isoformat():<12}{figures.quota_used:>6}{figures.bookings:>8}{figures.freed:>7}"
            f"{figures.ready_not_collected:>9}{'-' if median is None else f'{median:g}':>8}  {reasons}"
        )
    total = sum(f.bookings for f in chosen.values())
    typer.echo(f"\n{len(chosen)} office-days, {total} bookings; refusals by reason:")
    for reason, n in sorted(refused.items(), key=lambda item: (-item[1], item[0])):
        typer.echo(f"  {reason:<24}{n:>8}")
