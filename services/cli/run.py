"""``bus run`` (what ``make run`` starts): the dev broker, the topics, each processor in a process of its
own, the front door (the dashboard page), simulated traffic, and a live summary that asks each
processor's ``/stats`` how it is doing.

The processors are known here only by how to start them and where their ``/stats`` answers (the
``Processor`` list the command builds): every processor's ``/stats`` returns at least
``{"processor": name, "ready": bool, "summary": "one line for people"}``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from services.bus.catalogue import TopicSpec, create_topics
from services.bus.logs import get_logger
from services.bus.settings import REPO_ROOT, BusSettings
from services.cli.simulate import Stopper, run_simulator
from services.dashboard.accounts import Passwords, Role
from services.dashboard.settings import DashboardSettings
from services.dashboard.users import UserStore

log = get_logger("run")
STATS_TIMEOUT = 0.3
BAD_EVERY = 30.0
"""Seconds between two sets of bad records (one per dead-letter reason) in the simulated traffic."""
FIRST_USER = "desk"
"""The central-desk account ``bus run`` creates when the front door has no account yet (development only)."""
FRONT_DOOR = "dashboard"


@dataclass(frozen=True)
class Processor:
    """A processor as ``bus run`` knows it: ``bus <command...>`` starts it, ``stats_url`` describes it."""

    name: str
    command: tuple[str, ...]
    stats_url: str


def stats_line(processor: Processor) -> str:
    """One line from the processor's ``/stats``; a processor that does not answer says so."""
    try:
        with urllib.request.urlopen(processor.stats_url, timeout=STATS_TIMEOUT) as answer:  # noqa: S310 - loopback URL of our own
            stats = json.loads(answer.read())
    except (OSError, ValueError):
        return "starting or not answering"
    ready = "" if stats.get("ready") else " (not ready: rebuilding)"
    return f"{stats.get('summary', '')}{ready}"


def start_processors(processors: tuple[Processor, ...], log_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """Each processor in its own process (they scale and fail independently), logs under ``log_dir``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}
    for processor in processors:
        name = processor.name
        with (log_dir / f"{name}.log").open("ab") as out:
            children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "services", *processor.command],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
    return children


def stop_processors(children: dict[str, subprocess.Popen[bytes]], timeout: float = 20.0) -> None:
    """Terminate the children still running; kill any not gone within ``timeout`` seconds."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for name, child in children.items():
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("processor_killed", processor=name)
            child.kill()
            child.wait()


def first_user(settings: DashboardSettings) -> tuple[str, str] | None:
    """On a front door without any account (a first ``make run``), a central-desk account with a random
    password, returned once to be printed once (only its hash is kept); None when accounts exist.
    """
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    store = UserStore(settings.users_db, passwords)
    if store.accounts():
        return None
    password = secrets.token_urlsafe(12)
    store.add(FIRST_USER, Role.CENTRAL_DESK, password=password)
    return FIRST_USER, password


def start_front_door(log_dir: Path) -> subprocess.Popen[bytes]:
    """``bus dashboard`` in a process of its own, its cookies without ``Secure``: the development front door
    is reached over plain HTTP on loopback, where a browser would not send a Secure cookie back.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DASHBOARD_SECURE_COOKIES": "false"}
    with (log_dir / f"{FRONT_DOOR}.log").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services", "dashboard"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )


def front_door_line(address: str) -> str:
    """The front door's line under the live figures: where it answers, and whether it does."""
    try:
        with urllib.request.urlopen(f"{address}/api/health", timeout=STATS_TIMEOUT) as answer:  # noqa: S310 - loopback URL of our own
            answer.read()
    except OSError:
        return f"{address} (starting or not answering)"
    return f"{address} (log in there)"


def announce(address: str, credentials: tuple[str, str] | None) -> None:
    """Print where the front door answers and, the first time only, the account created for it."""
    print(f"\nThe dashboard: {address}")  # noqa: T201 - what the developer needs before the live table
    if credentials is not None:
        username, password = credentials
        print(  # noqa: T201 - shown this once: only its hash is kept
            f"First user (development only, shown once): {username} / {password}\n"
            f"More: .venv/bin/bus users add <name> --role central-desk"
        )
    else:
        print("Log in with an account of `.venv/bin/bus users list`.")  # noqa: T201 - as above


def run_bus(
    settings: BusSettings,
    processors: tuple[Processor, ...],
    *,
    topics: tuple[TopicSpec, ...],
    rate: float,
    seed: int,
    start_broker: bool,
) -> None:
    """Everything `make run` promises: broker, topics, processors, simulator; Ctrl-C stops it all cleanly.

    Every topic of the bus and of its processors (``topics``) exists before any processor starts: one
    processor reads another's view topic (the protection intake reads ``registry.citizens``), and a
    consumer that subscribed before a topic existed would learn of it only at its next metadata refresh.
    """
    from deploy.kafka.launcher import KafkaCluster

    stopper = Stopper()
    cluster = KafkaCluster() if start_broker else None
    started = cluster.start() if cluster is not None else False
    if cluster is not None:
        log.info("kafka_up", bootstrap=cluster.bootstrap_servers, started=started)
    create_topics(settings, topics)
    children = start_processors(processors, REPO_ROOT / "var" / "log")
    log.info("processors_started", processors=list(children), logs=str(REPO_ROOT / "var" / "log"))
    door = DashboardSettings(secure_cookies=False)
    address = f"http://{door.host}:{door.port}"
    credentials = first_user(door)
    children[FRONT_DOOR] = start_front_door(REPO_ROOT / "var" / "log")
    announce(address, credentials)
    try:

        def watch() -> dict[str, str]:
            return {**{p.name: stats_line(p) for p in processors}, FRONT_DOOR: front_door_line(address)}

        run_simulator(
            settings, rate=rate, seed=seed, live=True, stopper=stopper, watch=watch, bad_every=BAD_EVERY
        )
    finally:
        stop_processors(children)
        log.info("processors_stopped")
        if cluster is not None and started:
            cluster.stop()
            log.info("kafka_stopped")
