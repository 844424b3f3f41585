"""The operators' view holds to the code: Prometheus scrapes every process on the port its settings give,
and every Grafana expression names a metric the code really exports.

The metrics are found as Prometheus would see them: every module under ``services`` that uses
prometheus_client is imported and the default registry collected, plus the intake's collector (it exports
counters kept in shared memory); a family's series are named by its type (``_total`` for a counter,
``_bucket``/``_sum``/``_count`` for a histogram).
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.core import Metric

from services.dashboard.settings import DashboardSettings
from services.deadletters.app import DeadLetterSettings
from services.passport.settings import PassportSettings
from services.protection.settings import ProtectionSettings
from services.registry.settings import RegistrySettings
from services.runtime.intake import IntakeCollector, IntakeCounters
from services.traffic.app import TrafficSettings

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana" / "bus.json"
PROMETHEUS_OWN = frozenset({"up"})
"""Series Prometheus makes itself for every target."""
PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
)
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def processes() -> dict[str, int]:
    """Each process of the bus and its default port."""
    return {
        "registry": RegistrySettings().web_port,
        "deadletters": DeadLetterSettings().web_port,
        "protection": ProtectionSettings().web_port,
        "passport": PassportSettings().web_port,
        "traffic": TrafficSettings().web_port,
        "front-door": DashboardSettings().port,
    }


def series(family: Metric) -> set[str]:
    """The series names a family is scraped as."""
    return {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}


def exported() -> set[str]:
    """Every series name the code exports."""
    for path in sorted((ROOT / "services").rglob("*.py")):
        if "prometheus_client" in path.read_text():
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    names: set[str] = set()
    for family in REGISTRY.collect():
        names |= series(family)
    for family in IntakeCollector("any", IntakeCounters(), 30.0).collect():
        names |= series(family)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: its identifiers but functions, keywords, label matchers,
    grouping labels and range durations.
    """
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group() in PROMQL_WORDS:
            continue
        found.add(match.group())
    return found


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]


def test_prometheus_scrapes_every_process_on_its_settings_port() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in processes().items():
        job = jobs[name]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [target for group in job["static_configs"] for target in group["targets"]]
        assert targets == [f"127.0.0.1:{port}"], name
    assert set(jobs) == set(processes())


def test_every_grafana_expression_names_an_exported_metric() -> None:
    dashboard = json.loads(GRAFANA.read_text())
    known = exported() | PROMETHEUS_OWN
    used: set[str] = set()
    for expr in expressions(dashboard):
        names = metric_names(expr)
        assert names, expr
        assert names <= known, (expr, names - known)
        used |= names
    # the operators' essentials are charted
    assert {"runtime_consumer_lag", "runtime_ready", "bus_events_deadlettered_total"} <= used
    assert {"runtime_intake_stalled", "dashboard_lookups_total"} <= used


def test_every_panel_has_a_unique_id_and_the_datasource_variable() -> None:
    dashboard = json.loads(GRAFANA.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("sum by (processor) (rate(runtime_records_applied_total[5m]))", {"runtime_records_applied_total"}),
        ('up{job=~"a|b"}', {"up"}),
        (
            "histogram_quantile(0.95, sum by (le, kind) (rate(dashboard_lookup_seconds_bucket[5m])))",
            {"dashboard_lookup_seconds_bucket"},
        ),
    ],
)
def test_metric_names_are_read_from_expressions(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
