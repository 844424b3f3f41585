"""The dashboard's figures, pure: what the figure topics hold now, summed over partitions and cut to what
one principal may see.

Each panel follows the role matrix (``accounts.MATRIX``): citizens abroad and the passport service with
``REGISTRY_COUNTS``, traffic with ``REGISTRY_COUNTS`` or ``BUS_HEALTH``, protection cases with ``CASES``,
dead letters with ``DEADLETTER_FIGURES``, consumer lag with ``BUS_HEALTH``; a panel the role may not see is
``null``. An office-scoped account (or a request narrowed to one office) gets that office's figures only:
no country figures (they mix offices), no other office's row. Figures are absolute values read from the
compacted topics, the latest record per key, summed over partitions by each view's own reader
(``services.passport.figures.sum_partitions``, ``services.protection.figures.sum_partitions``,
``services.traffic.figures.sum_partitions``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.deadletters import DeadLetterCountModel
from services.contracts.passport_views import PassportFiguresModel
from services.contracts.protection_views import ProtectionStatsModel
from services.contracts.registry import CountDimension, OfficeCountModel
from services.contracts.traffic import OfficeTrafficModel
from services.dashboard.accounts import Permission, Principal
from services.passport import figures as passport_figures
from services.protection import figures as protection_figures
from services.traffic import figures as traffic_figures

DOMAINS = ("citizen", "passport", "protection")
Counts = dict[str, Annotated[int, Field(ge=0)]]


class Panel(BaseModel):
    """A part of the figures answer: exactly the declared fields, nothing more."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CitizensPanel(Panel):
    """Citizens abroad (the registry's counts): in total, per office, per country (central scope only)."""

    abroad: int
    by_office: Counts
    by_country: Counts


class OfficeTraffic(Panel):
    """One office's records over the last hour per domain topic, in the current minute, when last heard."""

    office: str
    last_hour: Counts
    this_minute: int
    last_heard: datetime | None


class TrafficPanel(Panel):
    """Records per minute by domain topic (the last 60 minutes, oldest first), per office, and how many of
    the representative offices in scope were heard from in the last hour.
    """

    minutes: list[datetime]
    series: dict[str, list[int]]
    offices: list[OfficeTraffic]
    heard_last_hour: int
    offices_in_scope: int


class DeadLettersPanel(Panel):
    """Refused records in total, per reason and per component (summed over partitions and hours)."""

    total: int
    by_reason: Counts
    by_component: Counts


class PartitionLag(Panel):
    """One input partition of one processor's stage: the stored progress, the end offset, the lag."""

    processor: str
    stage: str
    partition: int
    progress: int
    end: int
    lag: int
    ready: bool


class LagPanel(Panel):
    """Consumer lag of every processor's partitions (from each worker's ``/stats``), and which did not
    answer.
    """

    partitions: list[PartitionLag]
    unanswered: list[str]


class ProtectionPanel(Panel):
    """Protection cases open and overdue, per holding office."""

    open_cases: int
    overdue_cases: int
    open_by_office: Counts
    overdue_by_office: Counts


class PassportPanel(Panel):
    """The passport service: slots held (quota used) per office over every day, refusals per reason,
    passports ready and not collected per office.
    """

    quota_used_by_office: dict[str, int]
    refusals_by_reason: Counts
    ready_not_collected_by_office: Counts


class LiveFigures(Panel):
    """Everything the dashboard shows, within the principal's scope; a panel the role may not see is null."""

    scope: str
    office: str | None
    as_of: datetime
    citizens: CitizensPanel | None
    traffic: TrafficPanel | None
    deadletters: DeadLettersPanel | None
    lag: LagPanel | None
    protection: ProtectionPanel | None
    passport: PassportPanel | None


@dataclass(frozen=True)
class Latest:
    """What the figure topics hold now (the latest record per key) and what the workers' ``/stats`` said
    (processor -> its partitions, None when it did not answer).
    """

    counts: list[OfficeCountModel] = field(default_factory=list)
    traffic: list[OfficeTrafficModel] = field(default_factory=list)
    deadletters: list[DeadLetterCountModel] = field(default_factory=list)
    protection: list[ProtectionStatsModel] = field(default_factory=list)
    passport: list[PassportFiguresModel] = field(default_factory=list)
    lag: dict[str, list[PartitionLag] | None] = field(default_factory=dict)


def _positive(counts: Counter[str] | dict[str, int]) -> dict[str, int]:
    return {key: n for key, n in sorted(counts.items()) if n > 0}


def citizens_panel(records: Iterable[OfficeCountModel], office: str | None) -> CitizensPanel:
    """The registry's counts, or one office's own (then ``abroad`` is that office's)."""
    abroad, by_office, by_country = 0, Counter[str](), Counter[str]()
    for record in records:
        if record.dimension is CountDimension.TOTAL:
            abroad = record.citizens
        elif record.dimension is CountDimension.OFFICE:
            by_office[record.key] = record.citizens
        else:
            by_country[record.key] = record.citizens
    if office is None:
        return CitizensPanel(abroad=abroad, by_office=_positive(by_office), by_country=_positive(by_country))
    own = by_office.get(office, 0)
    return CitizensPanel(abroad=own, by_office=_positive({office: own}), by_country={})


def traffic_panel(records: Iterable[OfficeTrafficModel], office: str | None, now: datetime) -> TrafficPanel:
    """Records per minute by domain and office, and the representative offices heard from lately."""
    scope = frozenset({office}) if office is not None else None
    totals = traffic_figures.sum_partitions(records, now, DOMAINS, scope)
    representative = traffic_figures.representative_offices()
    in_scope = representative & scope if scope is not None else representative
    rows = [
        OfficeTraffic(
            office=name,
            last_hour=_positive(totals.last_hour.get(name, Counter())),
            this_minute=totals.this_minute.get(name, 0),
            last_heard=totals.last_heard.get(name),
        )
        for name in totals.last_heard
    ]
    rows.sort(key=lambda row: (-sum(row.last_hour.values()), row.office))
    return TrafficPanel(
        minutes=totals.minutes,
        series=totals.series,
        offices=rows,
        heard_last_hour=len(totals.heard_within(in_scope)),
        offices_in_scope=len(in_scope),
    )


def deadletters_panel(records: Iterable[DeadLetterCountModel], office: str | None) -> DeadLettersPanel:
    """Dead letters summed over partitions (latest per key), by reason and by component."""
    by_reason, by_component = Counter[str](), Counter[str]()
    for record in records:
        if office is None or record.source == office:
            by_reason[record.reason] += record.count
            by_component[record.component] += record.count
    return DeadLettersPanel(
        total=sum(by_reason.values()), by_reason=_positive(by_reason), by_component=_positive(by_component)
    )


def protection_panel(records: Iterable[ProtectionStatsModel], office: str | None) -> ProtectionPanel:
    """Open and overdue cases per holding office, summed over partitions."""
    desk = protection_figures.desk_figures(protection_figures.sum_partitions(records), None)
    opened: dict[str, int] = desk["open_by_office"]
    overdue: dict[str, int] = desk["overdue_by_office"]
    if office is not None:
        opened = {k: n for k, n in opened.items() if k == office}
        overdue = {k: n for k, n in overdue.items() if k == office}
    return ProtectionPanel(
        open_cases=sum(opened.values()),
        overdue_cases=sum(overdue.values()),
        open_by_office=_positive(opened),
        overdue_by_office=_positive(overdue),
    )


def passport_panel(records: Iterable[PassportFiguresModel], office: str | None) -> PassportPanel:
    """Slots held, refusals and passports waiting, summed over partitions and days."""
    used, waiting, refusals = Counter[str](), Counter[str](), Counter[str]()
    for (where, _day), day in passport_figures.sum_partitions(records).items():
        if office is not None and where != office:
            continue
        used[where] += day.quota_used
        waiting[where] += day.ready_not_collected
        refusals.update(day.refusals)
    return PassportPanel(
        quota_used_by_office={k: n for k, n in sorted(used.items()) if n},
        refusals_by_reason=_positive(refusals),
        ready_not_collected_by_office=_positive(waiting),
    )


def lag_panel(lag: dict[str, list[PartitionLag] | None]) -> LagPanel:
    """Every processor's partitions as its worker reported them; the processors that did not answer."""
    rows = [row for name in sorted(lag) for row in lag[name] or []]
    return LagPanel(partitions=rows, unanswered=sorted(name for name, rows in lag.items() if rows is None))


def lag_rows(processor: str, stats: object) -> list[PartitionLag]:
    """The partitions of a worker's ``/stats`` body (each stage's, for a worker of several); ValueError when
    the body is not what the runtime's shell answers.
    """
    if not isinstance(stats, dict):
        raise ValueError("not a /stats body")  # noqa: TRY004 - the caller treats any malformed body alike
    stages = stats.get("stages") or {str(stats.get("processor", processor)): stats}
    rows = []
    try:
        for stage, body in sorted(stages.items()):
            for partition, part in sorted(body["partitions"].items(), key=lambda item: int(item[0])):
                rows.append(
                    PartitionLag(
                        processor=processor,
                        stage=str(stage),
                        partition=int(partition),
                        progress=int(part["progress"]),
                        end=int(part["end"]),
                        lag=int(part["lag"]),
                        ready=bool(part["ready"]),
                    )
                )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError("not a /stats body") from exc
    return rows


def figures_for(latest: Latest, principal: Principal, office: str | None, now: datetime) -> LiveFigures:
    """The figures ``principal`` may see, within its scope, narrowed to ``office`` when given (the caller
    has checked that the office is within the principal's scope).
    """
    office = principal.office or office
    people = principal.may(Permission.REGISTRY_COUNTS)
    return LiveFigures(
        scope=principal.scope,
        office=office,
        as_of=now,
        citizens=citizens_panel(latest.counts, office) if people else None,
        traffic=traffic_panel(latest.traffic, office, now)
        if people or principal.may(Permission.BUS_HEALTH)
        else None,
        deadletters=deadletters_panel(latest.deadletters, office)
        if principal.may(Permission.DEADLETTER_FIGURES)
        else None,
        lag=lag_panel(latest.lag) if principal.may(Permission.BUS_HEALTH) else None,
        protection=protection_panel(latest.protection, office) if principal.may(Permission.CASES) else None,
        passport=passport_panel(latest.passport, office) if people else None,
    )
