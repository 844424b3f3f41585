"""The registry's resident memory as citizens accumulate: one resolver, its index in memory, records on disk.

The registry projection is driven in process the way ``services.runtime.core`` drives it, without Kafka:
partition 0 of a rocksdict store is opened, items are applied, drained (records and figures become views)
and committed with their progress every ``batch_size`` items (the worker's batch, 2,000). Each citizen gets
one observation: a stay report (NIK, office reference, name-and-birth weak key, personal data, residence)
patterned on what ``observe`` makes of a simulated one, with its own valid NIK, office reference and birth
date, so a million are made in seconds rather than the simulator's hour. Birth dates fall within 60
years, so namesakes born on the same day (weak-key candidates) occur as they do among real people.

Two phases, each in a fresh interpreter (nothing left over from other benchmarks or from the other phase):

- ``fold``, the whole worker: VmRSS before the first citizen and at each checkpoint, the fold's items/s
  (making the items is not timed), the store's size on disk; then a second observation (a later stay
  report, same NIK and reference) for ``REPEATS`` of the citizens: what each further event of a known
  citizen adds, since the index keeps one link per observation. The fold runs at about 2,500 items/s
  here, so a million take seven minutes: by default it stops at 300,000 and the worker's RSS at a million
  is extrapolated from its growth between 100,000 and 300,000 (and says so); ``--full`` folds the million.
- ``index``: the same items, encoded as ``registry.observations`` carries them, read and fed to the
  resolver only (``RegistryProjection.read`` + ``restore``: what a worker does with the history when it
  takes the partition over), to a million, then the same second observations: the index's own memory,
  measured, and the restore rate (so the time a restart takes at that size, the topic's reading aside).

``python -m bench memory`` runs it; ``python -m bench.memory --help`` for the options.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import write_result
from services.bus.decoder import RawRecord
from services.bus.envelope import Envelope
from services.bus.events import BusEvent
from services.bus.keys import citizen_hasher
from services.bus.settings import BusSettings
from services.registry.facts import Observation
from services.registry.identifiers import nik_identifier, normalise_text, ref_identifier
from services.registry.intake import to_item
from services.registry.items import encode_item
from services.registry.projection import RegistryPartition, RegistryProjection
from services.registry.settings import RegistrySettings
from services.registry.topics import OBSERVATIONS
from services.runtime.store import Store
from services.sim.simulator import TrafficSimulator

FOLD_CHECKPOINTS = (100_000, 300_000)
FULL_FOLD_CHECKPOINTS = (100_000, 1_000_000)
INDEX_CHECKPOINTS = (100_000, 1_000_000)
REPEATS = 50_000
"""Citizens given a second observation after the last checkpoint (both phases)."""
TEMPLATE_EVENTS = 20_000
"""Simulated events whose stay reports the synthetic observations are patterned on."""
BIRTH_DAYS = 60 * 365
BIRTH_STEP = 7919
"""Prime, so ``i * BIRTH_STEP % BIRTH_DAYS`` visits every day once in each block of BIRTH_DAYS citizens."""
BORN = date(1960, 1, 1)
PROGRESS_EVERY = 100_000
MIB = 2**20


def vm_rss() -> int:
    """The resident set size of this process now, in bytes (``VmRSS`` of /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_rss() -> int:
    """The largest resident set this process had, in bytes (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def disk_bytes(path: Path) -> int:
    """What the files under ``path`` take."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@dataclass(frozen=True)
class Template:
    """A simulated stay report as the registry observed it, with its name and birth place normalised."""

    obs: Observation
    name: str
    place: str


class Citizens:
    """Synthetic stay reports of distinct citizens, patterned on simulated ones."""

    def __init__(self) -> None:
        self.hasher = citizen_hasher(BusSettings())
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        sim = TrafficSimulator(3, start=today - timedelta(days=365))  # the same templates all day
        self.templates: list[Template] = []
        for s in sim.next_batch(TEMPLATE_EVENTS):
            envelope = Envelope.new(source=s.source, type=s.event.SCHEMA, dataschema="urn:bench", time=s.time)
            obs = to_item(BusEvent(envelope, s.event, ""), self.hasher)
            if not isinstance(obs, Observation) or obs.stay is None:
                continue
            name, place = (normalise_text(obs.personal.get(k, "")) for k in ("full_name", "place_of_birth"))
            if "nik" in obs.personal and name and place:
                self.templates.append(Template(obs, name, place))
        if not self.templates:
            raise RuntimeError("the simulator made no stay report with a NIK, a name and a birth place")

    def observation(self, i: int, visit: int = 0) -> Observation:
        """Citizen ``i``'s stay report; ``visit`` > 0 is a later one (same NIK and reference, new event)."""
        template = self.templates[i % len(self.templates)]
        t = template.obs
        assert t.stay is not None
        # The birth day is a permutation within each block of BIRTH_DAYS citizens and the block is the
        # NIK's serial: every NIK is distinct and valid (the template's region, women's day + 40).
        birth = BORN + timedelta(days=i * BIRTH_STEP % BIRTH_DAYS)
        day = birth.day + (40 if t.personal.get("sex") == "FEMALE" else 0)
        nik = f"{t.personal['nik'][:6]}{day:02d}{birth:%m%y}{i // BIRTH_DAYS + 1:04d}"
        ref = f"BENCH-{i:08d}"
        weak = f"weak:{self.hasher(f'{template.name}|{birth.isoformat()}|{template.place}')}"  # = weak_key
        later = timedelta(days=30 * visit)
        return replace(
            t,
            event_id=f"00000000-0000-4{visit:03d}-8000-{i:012d}",
            time=t.time + later,
            identifiers=frozenset({nik_identifier(nik, self.hasher), ref_identifier(t.office, ref)}),
            weak_keys=frozenset({weak}),
            personal={**t.personal, "nik": nik, "date_of_birth": birth.isoformat()},
            stay=replace(t.stay, office_record_ref=ref, arrival_date=t.stay.arrival_date + later),
        )

    def batches(self, start: int, stop: int, size: int, visit: int = 0) -> Iterator[list[Observation]]:
        """Citizens ``start`` to ``stop`` (excluded) in batches of ``size``."""
        for lo in range(start, stop, size):
            yield [self.observation(i, visit) for i in range(lo, min(stop, lo + size))]


def _resolver_sizes(state: RegistryPartition) -> dict[str, int]:
    index = state.model.state
    return {
        "resolver_citizens": len(index.identifiers),
        "resolver_links": len(index.links),
        "candidates": len(index.candidates),
    }


def fold(checkpoints: tuple[int, ...], repeats: int, datadir: Path) -> dict[str, Any]:
    """Fold ``max(checkpoints)`` citizens into a store on disk, then a second stay of ``repeats`` of them."""
    config = RegistrySettings()
    citizens = Citizens()
    store = Store.on_disk(datadir / "state.rocksdb")
    projection = RegistryProjection(citizens.hasher, record_cache=config.record_cache)
    state = projection.open(store.partition(0))
    applied = 0

    def run(batch: list[Observation]) -> float:
        nonlocal applied
        began = time.perf_counter()
        for item in batch:
            projection.apply(state, item)
        projection.drain(state, datetime.now(UTC))
        applied += len(batch)
        state.columns.commit(applied)
        return time.perf_counter() - began

    gc.collect()
    before = vm_rss()
    points: list[dict[str, Any]] = []
    done, busy, wall = 0, 0.0, time.perf_counter()
    for target in sorted(checkpoints):
        step_busy = 0.0
        for batch in citizens.batches(done, target, config.batch_size):
            step_busy += run(batch)
            if applied % PROGRESS_EVERY == 0:
                print(
                    f"  memory: {applied:,} citizens, {vm_rss() / MIB:,.0f} MiB", file=sys.stderr, flush=True
                )
        rss = vm_rss()
        points.append(
            {
                "citizens": target,
                "rss_bytes": rss,
                "bytes_per_citizen": round((rss - before) / target),
                "fold_items_per_s": round((target - done) / step_busy),
                "fold_seconds": round(step_busy, 1),
                "wall_seconds": round(time.perf_counter() - wall, 1),
                "records": state.columns.record_count,
                "disk_bytes": disk_bytes(datadir),
                **_resolver_sizes(state),
            }
        )
        busy += step_busy
        done = target
    repeat: dict[str, Any] = {}
    if repeats:
        at = vm_rss()
        step_busy = sum(run(batch) for batch in citizens.batches(0, repeats, config.batch_size, visit=1))
        rss = vm_rss()
        repeat = {
            "observations": repeats,
            "rss_bytes": rss,
            "bytes_per_observation": round((rss - at) / repeats),
            "fold_items_per_s": round(repeats / step_busy),
            "records": state.columns.record_count,
            "disk_bytes": disk_bytes(datadir),
            **_resolver_sizes(state),
        }
    store.close()
    return {
        "before_rss_bytes": before,
        "points": points,
        "second_observation": repeat,
        "peak_rss_bytes": peak_rss(),
        "batch": config.batch_size,
        "record_cache": config.record_cache,
    }


def index(checkpoints: tuple[int, ...], repeats: int) -> dict[str, Any]:
    """The same citizens read from their encoded items and fed to the resolver only, as a restore does;
    then a second observation of ``repeats`` of them.
    """
    config = RegistrySettings()
    citizens = Citizens()
    store = Store.in_memory()  # a restore writes nothing
    projection = RegistryProjection(citizens.hasher, record_cache=config.record_cache)
    state = projection.open(store.partition(0))
    offset = 0

    def run(batch: list[Observation]) -> float:
        nonlocal offset
        records = [
            RawRecord(OBSERVATIONS, 0, offset + n, 0, None, encode_item(obs)) for n, obs in enumerate(batch)
        ]
        offset += len(records)
        began = time.perf_counter()
        for record in records:
            item = projection.read(record)
            if item is not None:
                projection.restore(state, item)
        return time.perf_counter() - began

    gc.collect()
    before = vm_rss()
    points: list[dict[str, Any]] = []
    done = 0
    for target in sorted(checkpoints):
        busy = sum(run(batch) for batch in citizens.batches(done, target, config.batch_size))
        rss = vm_rss()
        points.append(
            {
                "citizens": target,
                "rss_bytes": rss,
                "bytes_per_citizen": round((rss - before) / target),
                "restore_items_per_s": round((target - done) / busy),
                **_resolver_sizes(state),
            }
        )
        done = target
    repeat: dict[str, Any] = {}
    if repeats:
        at = vm_rss()
        busy = sum(run(batch) for batch in citizens.batches(0, repeats, config.batch_size, visit=1))
        rss = vm_rss()
        repeat = {
            "observations": repeats,
            "rss_bytes": rss,
            "bytes_per_observation": round((rss - at) / repeats),
            "restore_items_per_s": round(repeats / busy),
            **_resolver_sizes(state),
        }
    return {
        "before_rss_bytes": before,
        "points": points,
        "second_observation": repeat,
        "peak_rss_bytes": peak_rss(),
    }


def run_phase(phase: str, checkpoints: tuple[int, ...], repeats: int = 0) -> dict[str, Any]:
    """One phase in a fresh interpreter; its result is the last line it prints."""
    cmd = [sys.executable, "-m", "bench.memory", "--phase", phase, "--repeats", str(repeats)]
    out = subprocess.run([*cmd, *map(str, checkpoints)], check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def slope(points: list[dict[str, Any]]) -> int:
    """Bytes per citizen between the first and the last checkpoint: the growth, fixed costs left out."""
    first, last = points[0], points[-1]
    if last["citizens"] == first["citizens"]:
        return int(first["bytes_per_citizen"])
    return int((last["rss_bytes"] - first["rss_bytes"]) / (last["citizens"] - first["citizens"]))


def growth(folded: dict[str, Any], indexed: dict[str, Any]) -> dict[str, Any]:
    """How memory grows, and the worker's RSS at the index phase's largest size (extrapolated if need be)."""
    fold_points, index_points = folded["points"], indexed["points"]
    last_fold, last_index = fold_points[-1], index_points[-1]
    per_citizen = slope(fold_points)
    target = last_index["citizens"]
    measured = next((p for p in fold_points if p["citizens"] == target), None)
    estimate = last_fold["rss_bytes"] + per_citizen * (target - last_fold["citizens"])
    return {
        "bytes_per_citizen": per_citizen,
        "index_bytes_per_citizen": slope(index_points),
        "bytes_per_further_observation": folded["second_observation"].get("bytes_per_observation"),
        "index_bytes_per_further_observation": indexed["second_observation"].get("bytes_per_observation"),
        "disk_bytes_per_citizen": round(last_fold["disk_bytes"] / last_fold["citizens"]),
        "worker_rss_at": {
            "citizens": target,
            "rss_bytes": measured["rss_bytes"] if measured else estimate,
            "extrapolated": measured is None,
            "from": None
            if measured
            else f"{last_fold['citizens']:,} citizens measured + {per_citizen:,} B per citizen beyond",
        },
    }


def main(
    fold_checkpoints: tuple[int, ...] = FOLD_CHECKPOINTS,
    index_checkpoints: tuple[int, ...] = INDEX_CHECKPOINTS,
    repeats: int = REPEATS,
) -> dict[str, Any]:
    """Both phases; prints what they found, writes bench/results/memory.json."""
    began = time.perf_counter()
    folded = run_phase("fold", fold_checkpoints, repeats)
    indexed = run_phase("index", index_checkpoints, repeats)
    result = {
        "fold": folded,
        "index": indexed,
        "growth": growth(folded, indexed),
        "seconds": round(time.perf_counter() - began, 1),
    }
    for line in describe(result):
        print(f"memory: {line}")
    print(f"memory: written to {write_result('memory', result)}")
    return result


def describe(result: dict[str, Any]) -> list[str]:
    """What was measured, a line each, for the console."""
    folded, indexed, g = result["fold"], result["index"], result["growth"]
    lines = [f"before the first citizen {folded['before_rss_bytes'] / MIB:,.0f} MiB"]
    lines += [
        f"{p['citizens']:>9,} citizens: worker RSS {p['rss_bytes'] / MIB:,.0f} MiB, "
        f"fold {p['fold_items_per_s']:,} items/s, disk {p['disk_bytes'] / MIB:,.0f} MiB"
        for p in folded["points"]
    ]
    lines += [
        f"{p['citizens']:>9,} citizens: index alone {p['rss_bytes'] / MIB:,.0f} MiB, "
        f"restore {p['restore_items_per_s']:,} items/s"
        for p in indexed["points"]
    ]
    at = g["worker_rss_at"]
    how = f"extrapolated from {at['from']}" if at["extrapolated"] else "measured"
    lines.append(f"worker RSS at {at['citizens']:,} citizens: {at['rss_bytes'] / MIB:,.0f} MiB ({how})")
    lines.append(
        f"growth: {g['bytes_per_citizen']:,} B per citizen (index alone {g['index_bytes_per_citizen']:,}), "
        f"{g['bytes_per_further_observation']:,} B per further observation of a citizen "
        f"(index alone {g['index_bytes_per_further_observation']:,}); "
        f"disk {g['disk_bytes_per_citizen']:,} B per citizen"
    )
    return lines


def phase_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory",
        description="The registry's memory at 100,000 and 1,000,000 citizens (see bench/memory.py).",
    )
    parser.add_argument("--full", action="store_true", help="fold the whole million (about 7 minutes)")
    parser.add_argument("--fold", type=int, nargs="+", help="fold checkpoints (default 100000 300000)")
    parser.add_argument("--index", type=int, nargs="+", help="index checkpoints (default 100000 1000000)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="citizens given a second observation")
    parser.add_argument("--phase", choices=["fold", "index"], help=argparse.SUPPRESS)
    parser.add_argument("checkpoints", type=int, nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "index":
        result = index(tuple(sorted(args.checkpoints)), args.repeats)
    elif args.phase == "fold":
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            result = fold(tuple(sorted(args.checkpoints)), args.repeats, Path(tmp))
    else:
        folds = (
            tuple(sorted(args.fold))
            if args.fold
            else FULL_FOLD_CHECKPOINTS
            if args.full
            else FOLD_CHECKPOINTS
        )
        main(folds, tuple(sorted(args.index or INDEX_CHECKPOINTS)), args.repeats)
        return 0
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(phase_main(sys.argv[1:]))
