"""Running the registry worker as a real process against the test broker, and reading what it published."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from deploy.kafka.launcher import free_port
from services.bus.codec import AvroCodec
from services.bus.reading import end_offsets, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings

SERVICE_TOKEN = "integration-tests-service-credential"
"""The service credential every worker started here holds (``BUS_SERVICE_TOKEN``); the harness's requests
carry it, as the front door's do."""
SERVICE_HEADERS = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@dataclass
class ProcessorWorker:
    """``python -m services <command...>`` with its own port and data directory (a processor worker)."""

    settings: BusSettings
    datadir: Path
    port: int
    log: Path
    command: tuple[str, ...] = ("registry", "worker")
    env_prefix: str = "REGISTRY_"
    answers_on: str = "/registry/stats"
    instance: str = ""
    env: dict[str, str] = field(default_factory=dict)
    """Further environment of the worker's process (its processor's own settings)."""
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, settings: BusSettings, tmp: Path) -> Self:
        return cls(settings, tmp / "registry-data", free_port(), tmp / "registry.log")

    @classmethod
    def peer(
        cls, settings: BusSettings, tmp: Path, name: str, port: int, peers: list[int], *, processor: str
    ) -> Self:
        """``python -m services <processor> worker``, one of several: its own port, data directory and
        instance id, and every worker's port as its peers (``<PREFIX>_PEER_PORTS``).
        """
        prefix = {"cases": "PROTECTION_"}.get(processor, f"{processor.upper()}_")
        return cls(
            settings,
            tmp / f"{name}-data",
            port,
            tmp / f"{name}.log",
            command=(processor, "worker"),
            env_prefix=prefix,
            answers_on="/stats",
            instance=f"test-{name}",
            env={f"{prefix}PEER_PORTS": ",".join(str(p) for p in peers)},
        )

    def start(self) -> None:
        p = self.env_prefix
        env = {
            **os.environ,
            "BUS_BOOTSTRAP_SERVERS": self.settings.bootstrap_servers,
            "BUS_TOPIC_PREFIX": self.settings.topic_prefix,
            "BUS_PARTITIONS": str(self.settings.partitions),
            f"{p}WEB_PORT": str(self.port),
            f"{p}DATADIR": str(self.datadir),
            "BUS_SERVICE_TOKEN": SERVICE_TOKEN,
        }
        if self.instance:
            env[f"{p}INSTANCE_ID"] = self.instance
        env.update(self.env)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services", *self.command],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.wait_until(lambda: self.get(self.answers_on) is not None, 90, "the worker's HTTP views")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, path: str) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=SERVICE_HEADERS)
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def post(self, path: str, body: dict[str, Any], *, credential: bool = True) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(SERVICE_HEADERS if credential else {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def wait_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"{self.command[0]} worker exited ({self.process.returncode}):\n{self.tail()}"
                )
            if done():
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return ""
        return "".join(self.log.read_text(errors="replace").splitlines(keepends=True)[-lines:])


class RegistryWorker(ProcessorWorker):
    """``python -m services registry worker``."""


def read_views(settings: BusSettings, topic: str) -> dict[str, Any]:
    """The latest decoded view per key on a view topic (what compaction converges to)."""
    from services.contracts import VIEW_MODELS

    codec = AvroCodec(load_registry(settings.schemas_dir))
    latest: dict[str, Any] = {}
    for m in read_to_end(settings, settings.topic(topic)):
        decoded = codec.decode(m.value)
        latest[m.key.decode()] = VIEW_MODELS[decoded.writer.fullname].from_avro(decoded.record)
    return latest


def end_offset_sum(settings: BusSettings, topic: str) -> int:
    return sum(end_offsets(settings, settings.topic(topic)).values())
