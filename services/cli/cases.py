"""``bus cases ...``: the protection-case view for people: one case with its whole history, an office's open
cases, overdue cases, the figures, and the worker itself.

The lists come from the worker's HTTP views (any worker answers for every case: see
``services.protection.web``; summaries, no personal data). A case's answer shows personal data, so it is
asked of the front door with the user's token (``services.cli.front_door``): the lookup is recorded on
``protection.access`` under the account the token proves, with the purpose given. The figures are read
from ``protection.stats`` itself: the latest record per key, summed over partitions
(``services.protection.figures.sum_partitions``), as any reader must.
"""

from __future__ import annotations

import sys
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer

from services.bus.codec import AvroCodec
from services.bus.reading import latest_views
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings
from services.cli.front_door import FrontDoorClient, TokenMissing, user_token
from services.cli.view_client import ViewClient, client_call
from services.contracts.protection_views import ProtectionStatsModel
from services.protection.figures import desk_figures, sum_partitions
from services.protection.settings import ProtectionSettings
from services.protection.views import ENTRY_FIELDS


@dataclass(frozen=True)
class CasesClient(ViewClient):
    """Calls a protection worker's HTTP views; failures raise LookupError."""

    name: str = "case view"

    @classmethod
    def from_env(cls) -> CasesClient:
        """A client of the local protection worker, on the web port its settings give."""
        return cls(f"http://127.0.0.1:{ProtectionSettings().web_port}")


def combined(settings: BusSettings) -> tuple[dict[str, int], datetime | None]:
    """Figure group -> count across every partition (the latest record per key of ``protection.stats``,
    summed), and the latest ``as_of`` among them: how far the partitions' clocks have gone.
    """
    codec = AvroCodec(load_registry(settings.schemas_dir))
    latest = latest_views(
        settings,
        ProtectionStatsModel.TOPIC,
        lambda value: ProtectionStatsModel.from_avro(codec.decode(value).record),
    )
    now = max((view.as_of for view in latest.values()), default=None)
    return sum_partitions(latest.values()), now


def _event(entry: dict[str, Any]) -> str:
    return f"{entry['time']}  {entry['type']:<21}  {entry['office']:<22} by {entry['source']}"


def _details(entry: dict[str, Any]) -> str:
    return " ".join(f"{name}={entry[name]}" for name in ENTRY_FIELDS if entry.get(name) is not None)


def render_case(case: dict[str, Any], *, show_personal: bool) -> str:
    """A ``ProtectionCase`` (as JSON) for people: the case, its citizen, every hand-over, every event applied
    and refused, its breaches, and its personal part (or that it is redacted).
    """
    overdue = f"OVERDUE (breach {case['overdue_id']})" if case["overdue"] else "within its service level"
    lines = [
        f"case {case['case_id']}  {case['status']}  held by {case['office'] or '-'}",
        f"  citizen      {case['citizen_id'] or '- (no registry citizen holds its NIK or passport number)'}",
        f"  category     {case['category']}, urgency {case['urgency']}, channel {case['channel']}",
        f"  country      {case['country'] or '-'}",
        f"  officer      {case['officer_id'] or '-'}, escalation {case['escalation'] or '-'}",
        f"  opened       {case['opened_at'] or '-'} by {case['opened_by'] or '-'}",
        f"  last action  {case['last_action_at'] or '-'} ({case['last_action_id'] or '-'})",
        f"  deadline     {case['deadline'] or '-'}: {overdue}",
    ]
    if case["closed_at"]:
        lines.append(f"  closed       {case['closed_at']}, outcome {case['outcome']}")
    lines.append(f"hand-overs ({len(case['handovers'])}):")
    lines.extend(
        f"  {h['time']}  {h['from_office']} -> {h['to_office']}  {h['reason']}  by {h['officer_id']}"
        f"  [{h['event_id']}]"
        for h in case["handovers"]
    )
    lines.append(f"history ({len(case['history'])} applied):")
    lines.extend(f"  {_event(e)}  {_details(e)}  [{e['event_id']}]" for e in case["history"])
    lines.append(f"refused ({len(case['refused'])} not applied):")
    lines.extend(f"  {_event(r)}  {r['refusal']}  [{r['event_id']}]" for r in case["refused"])
    lines.append(f"breaches ({len(case['breaches'])}):")
    lines.extend(
        f"  {b['overdue_id']}  deadline {b['deadline']}, found {b['detected_at']}, "
        + (f"cleared {b['cleared_at']} by {b['cleared_by']}" if b["cleared_id"] else "not cleared")
        for b in case["breaches"]
    )
    personal = case.get("personal")
    if personal is None:
        lines.append("personal: none")
    elif not show_personal:
        lines.append("personal: <redacted>")
    else:
        subject = {k: v for k, v in (personal.get("subject") or {}).items() if v is not None}
        lines.append(f"personal: subject {subject or '-'}")
        lines.extend(f"  note {n['time']} [{n['event_id']}]: {n['text']}" for n in personal.get("notes", ()))
    return "\n".join(lines)


def render_list(cases: list[dict[str, Any]]) -> list[str]:
    """One line per listed case (summaries: no personal data)."""
    return [
        f"{c['case_id']}  {c['status']:<6}  {c['office']:<22}  {c['urgency'] or '-':<8}  "
        f"{c['category'] or '-':<20}  deadline {c['deadline'] or '-'}{'  OVERDUE' if c['overdue'] else ''}"
        f"  hand-overs {c['handovers']}  citizen {c['citizen_id'] or '-'}"
        for c in cases
    ]


def cases_worker() -> None:
    """Run the protection-case worker (faust worker with its intake and HTTP views) until Ctrl-C."""
    from services.protection.app import worker_main

    sys.argv = [sys.argv[0], "worker"]
    worker_main(get_settings(), ProtectionSettings())


def cases_show(
    case_id: Annotated[str, typer.Argument(help="The case id")],
    *,
    purpose: Annotated[
        str, typer.Option(help="Why you look (required; recorded): CITIZEN_PROTECTION, AUDIT, ...")
    ],
    token: Annotated[str | None, typer.Option(help="Your API token (else BUS_TOKEN)")] = None,
    show_personal: Annotated[bool, typer.Option(help="Print personal data unredacted")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ProtectionCase as JSON")] = False,
) -> None:
    """One case: who holds it, every hand-over, every event applied or refused (with the reason), its
    breaches and the citizen it belongs to. Asked of the front door with your token; the lookup is recorded
    on protection.access under your account.
    """
    try:
        client = FrontDoorClient.from_env(user_token(token))
    except TokenMissing as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    case = client_call(lambda: client.case(case_id, purpose))["case"]
    if as_json:
        typer.echo(CasesClient.render(case, show_personal=show_personal))
    else:
        typer.echo(render_case(case, show_personal=show_personal))


def cases_office(code: Annotated[str, typer.Argument(help="Office code, e.g. kbri-kuala-lumpur")]) -> None:
    """The office's called and open cases, overdue first, then by deadline."""
    client = CasesClient.from_env()
    answer = client_call(lambda: client.get(f"/protection/offices/{urllib.parse.quote(code, safe='')}/cases"))
    cases = answer["cases"]
    overdue = sum(1 for case in cases if case["overdue"])
    typer.echo(f"{code}: {len(cases)} called or open cases, {overdue} overdue")
    for line in render_list(cases):
        typer.echo(line)


def cases_overdue() -> None:
    """Every overdue case of every office, the longest overdue first."""
    client = CasesClient.from_env()
    cases = client_call(lambda: client.get("/protection/overdue"))["cases"]
    typer.echo(f"{len(cases)} overdue cases")
    for line in render_list(cases):
        typer.echo(line)


def cases_figures(
    *,
    groups: Annotated[bool, typer.Option(help="Also print every figure group with its count")] = False,
    figure: Annotated[str | None, typer.Option(help="Print the groups of this figure only")] = None,
) -> None:
    """The desk's figures from protection.stats, summed over partitions (exact: the latest absolute value
    per partition); "today" (WIB) and "the last 24 hours" by the latest partition clock.
    """
    totals, now = combined(get_settings())
    desk = desk_figures(totals, now)
    median = desk["median_minutes_to_close"]
    typer.echo(f"as of {desk['as_of'] or '-'} (today in Western Indonesian Time: {desk['today'] or '-'})")
    typer.echo(f"{'open cases':<26}{desk['open_cases']:>8}")
    typer.echo(f"{'overdue cases':<26}{desk['overdue_cases']:>8}")
    typer.echo(f"{'opened today':<26}{desk['opened_today']:>8}")
    typer.echo(f"{'closed today':<26}{desk['closed_today']:>8}")
    typer.echo(f"{'median time to close':<26}{'-' if median is None else f'{median:,.1f} minutes':>8}")
    typer.echo(f"{'hotline calls, last 24 h':<26}{desk['hotline_calls_24h']:>8}")
    for office, count in sorted(desk["open_by_office"].items(), key=lambda kv: (-kv[1], kv[0])):
        typer.echo(
            f"{'  open at ' + office:<40}{count:>6}  overdue {desk['overdue_by_office'].get(office, 0)}"
        )
    if groups or figure is not None:
        for group, count in totals.items():
            if figure is None or group.startswith(f"{figure}|"):
                typer.echo(f"{count:>8}  {group}")
