"""The one table ``make bench`` ends with: each of our figures beside the Kafka limit it is bounded by.

Kafka's limits are those ``bench.limits`` measured on the same broker in the same run: the registry's
rate against what one consumer and one producer move (``ConsumerPerformance``, ``ProducerPerformance``),
its publish-to-view latency against one produce-and-consume hop (``EndToEndLatency``), SDK and raw
kafka-python publishing against ``ProducerPerformance``. A benchmark not run this time is shown from its
last file in bench/results/, marked with ``*``. Written to bench/results/summary.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from bench.common import RESULTS, print_table, write_result

MIB = 2**20


@dataclass(frozen=True)
class Row:
    """One line of the table; ``ratio`` is ours divided by the limit (None when there is no limit)."""

    measure: str
    ours: str
    limit: str = ""
    ratio: float | None = None
    goal: str = ""
    stale: bool = False


def ratio_text(value: float | None) -> str:
    """0.0056x, 0.49x, 9.6x, 960x: two significant digits below 10, never in scientific notation."""
    if value is None:
        return ""
    return f"{value:,.0f}x" if value >= 10 else f"{value:.2g}x"


def load(results: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The results of this run, completed from bench/results/ (name -> when recorded) for those not run."""
    merged = dict(results)
    stale: dict[str, str] = {}
    for name in (
        "kafka",
        "publish",
        "registry",
        "protection",
        "passport",
        "memory",
        "restart",
        "simulator",
        "audit",
        "replay",
    ):
        path = RESULTS / f"{name}.json"
        if name not in merged and path.exists():
            merged[name] = json.loads(path.read_text())
            stale[name] = merged[name].get("recorded_at", "?")
    return merged, stale


class Limits:
    """Kafka's figures of the run (``bench.limits``), and our figures divided by them."""

    def __init__(self, kafka: dict[str, Any] | None) -> None:
        self.kafka = kafka

    def of(self, ours: float, key: str) -> float | None:
        """``ours`` over Kafka's figure ``key``; None when Kafka was not measured."""
        return None if self.kafka is None else ours / float(self.kafka[key])

    def text(self, what: str, key: str, unit: str = "rec/s") -> str:
        """``what`` and Kafka's figure ``key``, for the limit column."""
        return "" if self.kafka is None else f"{what} {float(self.kafka[key]):,.0f} {unit}"


def registry_rows(r: dict[str, Any], k: Limits) -> list[Row]:
    """Rate against one consumer and one producer; latency against one produce-and-consume hop."""
    steady, start = r["throughput"]["steady_events_per_s"], r["throughput"]["events_per_s"]
    consumer = k.text("consumer", "consumer_fetch_records_per_s")
    out = [
        Row(
            "registry, events/s once folding",
            f"{steady:,.0f}",
            consumer,
            k.of(steady, "consumer_fetch_records_per_s"),
            ">= 5,000",
        ),
        Row(
            "registry, events/s once folding",
            f"{steady:,.0f}",
            k.text("producer", "producer_records_per_s"),
            k.of(steady, "producer_records_per_s"),
        ),
        Row(
            "registry, events/s from start",
            f"{start:,.0f}",
            k.text("consumer with group join", "consumer_records_per_s"),
            k.of(start, "consumer_records_per_s"),
        ),
    ]
    for lat in r["latency"]:
        out += latency_rows("registry, publish->view", lat, k, goal=lat["rate"] == 1_000)
    return out


def protection_rows(r: dict[str, Any], k: Limits) -> list[Row]:
    """The case view's rate on one and two workers against one consumer; latency against one hop."""
    consumer = k.text("consumer", "consumer_fetch_records_per_s")
    out = [
        Row(
            f"protection, events/s on {t['workers']} worker{'s' if t['workers'] > 1 else ''}",
            f"{t['events_per_s']:,.0f}",
            consumer,
            k.of(t["events_per_s"], "consumer_fetch_records_per_s"),
            ">= 5,000 per worker",
        )
        for t in r["throughput"]
    ]
    return out + latency_rows("protection, publish->case", r["latency"], k)


def passport_rows(r: dict[str, Any], k: Limits) -> list[Row]:
    """Fair booking's decisions per second against one consumer; request -> decision against one hop (a
    request crosses four: intake, phones, citizens, office-day, and back to the citizen).
    """
    rate = r["throughput"]["decisions_per_s"]
    out = [
        Row(
            "passport, decisions/s on 1 worker",
            f"{rate:,.0f}",
            k.text("consumer", "consumer_fetch_records_per_s"),
            k.of(rate, "consumer_fetch_records_per_s"),
            ">= 2,000",
        )
    ]
    return out + latency_rows("passport, request->decision", r["latency"], k)


def latency_rows(what: str, lat: dict[str, Any], k: Limits, *, goal: bool = True) -> list[Row]:
    """p50 and p99 of one latency run against one produce-and-consume hop on the same broker."""
    out = []
    for q in ("p50", "p99"):
        e2e = None if k.kafka is None else float(k.kafka["end_to_end"][f"{q}_ms"])
        out.append(
            Row(
                f"{what} {q} at {lat['rate']:,}/s, ms",
                f"{lat[f'{q}_ms']:,.0f}",
                "" if e2e is None else f"1 hop produce->consume {q} {e2e:,.0f} ms",
                None if not e2e else lat[f"{q}_ms"] / e2e,
                "<= 250" if q == "p99" and goal else "",
            )
        )
    return out


def publish_rows(p: dict[str, Any], k: Limits) -> list[Row]:
    """SDK and raw kafka-python against Kafka's own producer."""
    producer = k.text("producer", "producer_records_per_s")
    return [
        Row(
            "SDK publish, events/s",
            f"{p['sdk_median']:,.0f}",
            producer,
            k.of(p["sdk_median"], "producer_records_per_s"),
        ),
        Row(
            "raw kafka-python publish, events/s",
            f"{p['raw_median']:,.0f}",
            producer,
            k.of(p["raw_median"], "producer_records_per_s"),
        ),
        Row("SDK / raw kafka-python", f"{p['ratio']:.2f}x", "", None, ">= 0.70x"),
    ]


def audit_rows(a: dict[str, Any], k: Limits) -> list[Row]:
    """Archiving and verifying history against what one consumer reads (an archive run is one)."""
    consumer = k.text("consumer", "consumer_fetch_records_per_s")
    return [
        Row(
            f"bus archive of {a['records']:,} records, records/s",
            f"{a['archive_records_per_s']:,.0f}",
            consumer,
            k.of(a["archive_records_per_s"], "consumer_fetch_records_per_s"),
        ),
        Row(
            "bus verify --archive, records/s",
            f"{a['verify_records_per_s']:,.0f}",
            consumer,
            k.of(a["verify_records_per_s"], "consumer_fetch_records_per_s"),
        ),
    ]


def replay_rows(r: dict[str, Any], k: Limits) -> list[Row]:
    """Every view replayed over one reading of a million events, from the broker and from the archive,
    against what Kafka's own consumer reads of the same history (measured in the same benchmark).
    """
    del k  # the limit is the replay benchmark's own ConsumerPerformance, on the history it replays
    limit = float(r["kafka_consumer"]["records_per_s"])
    consumer = f"ConsumerPerformance {limit:,.0f} rec/s"
    out = []
    for where, key in (("Kafka", "from_kafka"), ("the archive", "from_archive")):
        run = r[key]
        out.append(
            Row(
                f"bus replay --view all from {where}, {run['records']:,} records: records/s "
                f"(peak RSS {run['rss_peak_mib']:,} MiB; 10M projected "
                f"{run['projected_seconds'] / 60:,.0f} min, {run['projected_rss_mib'] / 1024:,.1f} GiB)",
                f"{run['records_per_s']:,.0f}",
                consumer,
                run["records_per_s"] / limit,
                ">= 20,000",
            )
        )
    for name, label in (
        ("verify", "bus verify --archive"),
        ("archive", "bus archive"),
        ("read_only", "reading alone"),
    ):
        rate = r[name]["records_per_s"]
        out.append(Row(f"{label} of the replay's history, records/s", f"{rate:,.0f}", consumer, rate / limit))
    return out


def kafka_rows(k: dict[str, Any]) -> list[Row]:
    """Kafka's own figures, for the record."""
    size = f"{k['record_bytes']['total']:.0f} B"
    return [
        Row(
            f"Kafka ProducerPerformance, records/s ({size})",
            f"{k['producer_records_per_s']:,.0f}",
            f"{k['producer_mb_per_s']:.1f} MB/s; acks=all, idempotent, our linger and batch",
        ),
        Row(
            f"Kafka ConsumerPerformance, records/s ({size})",
            f"{k['consumer_fetch_records_per_s']:,.0f}",
            f"{k['consumer_fetch_mb_per_s']:.1f} MB/s; one consumer, 500 per poll",
        ),
    ]


def memory_rows(m: dict[str, Any], k: Limits) -> list[Row]:
    """Resident memory at each size (the worker's, the index's), its growth, fold and restore rates."""
    folded, indexed, g = m["fold"], m["index"], m["growth"]
    index_at = {p["citizens"]: p for p in indexed["points"]}
    out = []
    for p in folded["points"]:
        alone = index_at.pop(p["citizens"], None)
        beside = "" if alone is None else f"index alone {alone['rss_bytes'] / MIB:,.0f} MiB"
        out.append(
            Row(f"registry RSS at {p['citizens']:,} citizens, MiB", f"{p['rss_bytes'] / MIB:,.0f}", beside)
        )
    at = g["worker_rss_at"]
    for citizens, alone in sorted(index_at.items()):
        ours = f"{at['rss_bytes'] / MIB:,.0f}" if at["citizens"] == citizens else ""
        if ours and at["extrapolated"]:
            ours += " (extrapolated)"
        out.append(
            Row(
                f"registry RSS at {citizens:,} citizens, MiB",
                ours,
                f"index alone {alone['rss_bytes'] / MIB:,.0f} MiB (measured)",
            )
        )
    out.append(
        Row(
            "registry memory per citizen, bytes",
            f"{g['bytes_per_citizen']:,}",
            f"index alone {g['index_bytes_per_citizen']:,}; on disk {g['disk_bytes_per_citizen']:,}",
        )
    )
    if g.get("bytes_per_further_observation") is not None:
        out.append(
            Row(
                "registry memory per further observation, bytes",
                f"{g['bytes_per_further_observation']:,}",
                f"index alone {g['index_bytes_per_further_observation']:,}",
            )
        )
    last = folded["points"][-1]
    rate = last["fold_items_per_s"]
    out += [
        Row(
            f"registry fold in process (no Kafka) at {last['citizens']:,}, items/s",
            f"{rate:,}",
            k.text("consumer", "consumer_fetch_records_per_s"),
            k.of(rate, "consumer_fetch_records_per_s"),
        ),
        Row(
            f"registry index restore at {indexed['points'][-1]['citizens']:,}, items/s",
            f"{indexed['points'][-1]['restore_items_per_s']:,}",
        ),
    ]
    return out


def rows(results: dict[str, dict[str, Any]], stale: dict[str, str]) -> list[Row]:
    """Every figure we have, ours beside Kafka's where Kafka bounds it; ``stale`` ones marked.

    A file left by an older version of a benchmark, without the figures read here, is skipped and named.
    """
    k = Limits(results.get("kafka"))

    def restart(r: dict[str, Any]) -> list[Row]:
        ready = statistics.median(x["ready_s"] for x in r["rounds"])
        return [Row("registry restart to ready (median), s", f"{ready:.2f}", goal="< 5")]

    def simulator(r: dict[str, Any]) -> list[Row]:
        return [Row("simulator, events/s", f"{statistics.median(r['events_per_s']):,.0f}")]

    builders: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
        "registry": lambda r: registry_rows(r, k),
        "protection": lambda r: protection_rows(r, k),
        "passport": lambda r: passport_rows(r, k),
        "publish": lambda r: publish_rows(r, k),
        "kafka": kafka_rows,
        "memory": lambda r: memory_rows(r, k),
        "restart": restart,
        "simulator": simulator,
        "audit": lambda r: audit_rows(r, k),
        "replay": lambda r: replay_rows(r, k),
    }
    out: list[Row] = []
    for name, build in builders.items():
        if name not in results:
            continue
        try:
            out += [replace(row, stale=name in stale) for row in build(results[name])]
        except (KeyError, TypeError, IndexError):
            print(f"({name}: bench/results/{name}.json is of an older format; `python -m bench {name}`)")
    return out


def main(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Print the one table of this run's figures (older ones marked) and write bench/results/summary.json."""
    merged, stale = load(results)
    table = rows(merged, stale)
    k = merged.get("kafka")
    on = "" if k is None else f", Kafka {k['kafka_version']} (one local broker for the run)"
    title = f"mission service bus benchmarks: {os.cpu_count()} CPUs, Python {platform.python_version()}{on}"
    print_table(
        title,
        ["measure", "ours", "Kafka's limit (same broker, same settings)", "ours / limit", "goal"],
        [
            [
                f"{row.measure}{' *' if row.stale else ''}",
                row.ours,
                row.limit,
                ratio_text(row.ratio),
                row.goal,
            ]
            for row in table
        ],
    )
    if k is not None:
        size = k["record_bytes"]
        print(
            f"Kafka's records: {size['total']:.0f} B, the mean of our events on the wire "
            f"({size['value']:.0f} B Avro value + {size['key']:.0f} B key + {size['headers']:.0f} B headers)"
        )
    for name, when in sorted(stale.items()):
        print(f"* {name}: not run now; from bench/results/{name}.json, recorded {when}")
    result = {"rows": [asdict(row) for row in table], "not_run_now": stale}
    print(f"written to {write_result('summary', result)}")
    return result
