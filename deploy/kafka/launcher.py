"""Run official Apache Kafka brokers in KRaft mode on loopback, with nothing but the JDK.

The jars come from Maven Central through ``pom.xml`` beside this file (``fetch``; again when it changes).
Each node is a combined broker+controller; a cluster of N nodes on 127.0.0.1 is the same code with
``nodes=N``. Stdlib only, so it runs before any virtualenv exists:

    python deploy/kafka/launcher.py start [--nodes 3] [--port 9092] [--data-dir var/kafka]
    python deploy/kafka/launcher.py stop|status|fetch|log

Starting a running cluster is a no-op; a stale pid file or a half-formatted data directory is repaired.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB = HERE / "lib"
POM = HERE / "pom.xml"
FETCHED_FOR = ".pom.sha256"
"""In ``lib``: the digest of the ``pom.xml`` its jars were fetched for."""
DEFAULT_DATA = REPO / "var" / "kafka"
KAFKA_JAR_PREFIX = "kafka_2.13-"


class LauncherError(RuntimeError):
    """The broker could not be fetched, formatted, started or stopped."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def pom_digest(pom: Path = POM) -> str:
    """The sha256 of ``pom.xml``: the jars in ``lib`` were fetched for the pom with this digest."""
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def fetch_jars(lib: Path = LIB, *, quiet: bool = True, refresh: bool = False) -> Path:
    """Bring the jars ``pom.xml`` names into ``lib`` with Maven once; later calls find them cached.

    With ``refresh`` (``fetch``, ``make jars``) Maven runs again when ``pom.xml`` changed since the jars
    were fetched. The new set is fetched beside ``lib`` and then moved in: jars it adds appear, jars it no
    longer names (an older release) go, and the ones both name stay in place, so a broker started from
    ``lib`` meanwhile finds every jar it needs.
    """
    have = any(lib.glob(f"{KAFKA_JAR_PREFIX}*.jar"))
    stamp = lib / FETCHED_FOR
    if have and not (refresh and (not stamp.exists() or stamp.read_text().strip() != pom_digest())):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LauncherError("Maven (mvn) is not on PATH; it is needed once to fetch the Kafka jars")
    lib.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lib-staging-", dir=lib.parent) as tmp:
        staging = Path(tmp)
        cmd = [mvn, "-B", "dependency:copy-dependencies", f"-Dlib.dir={staging}"]
        if quiet:
            cmd.insert(1, "-q")
        subprocess.run(cmd, cwd=HERE, check=True)  # noqa: S603 - fixed argv, no shell
        fetched = {jar.name for jar in staging.glob("*.jar")}
        if not any(name.startswith(KAFKA_JAR_PREFIX) for name in fetched):
            raise LauncherError(f"Maven ran but fetched no {KAFKA_JAR_PREFIX}*.jar")
        for name in sorted(fetched):
            if not (lib / name).exists():
                (staging / name).replace(lib / name)
        for jar in lib.glob("*.jar"):
            if jar.name not in fetched:
                jar.unlink()
    stamp.write_text(pom_digest() + "\n")
    return lib


@dataclass
class Node:
    """One combined broker+controller process."""

    node_id: int
    port: int
    controller_port: int
    directory: Path

    @property
    def pid_file(self) -> Path:
        """Where the pid of the node's running process is recorded."""
        return self.directory / "kafka.pid"

    @property
    def log_dir(self) -> Path:
        """The node's logs: the broker's ``server.log`` and its ``stdout.log``."""
        return self.directory / "logs"

    @property
    def data_dir(self) -> Path:
        """The node's Kafka storage (``log.dirs``)."""
        return self.directory / "data"

    @property
    def server_log(self) -> Path:
        """The log the broker writes through log4j."""
        return self.log_dir / "server.log"

    def pid(self) -> int | None:
        """The recorded pid if that process is still alive; a stale pid file is removed."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid_alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None


@dataclass
class KafkaCluster:
    """N KRaft nodes on loopback; ``nodes=1`` is the dev broker, 3 the fault-test cluster."""

    data_dir: Path = DEFAULT_DATA
    nodes: int = 1
    port: int = 9092
    controller_port: int | None = None
    heap: str = "512m"
    lib: Path = LIB
    extra_config: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        cport = self.controller_port or self.port + self.nodes
        self._procs: dict[int, subprocess.Popen[bytes]] = {}  # children of this process, reaped on stop
        self.members = [
            Node(i + 1, self.port + i, cport + i, self.data_dir / f"node-{i + 1}") for i in range(self.nodes)
        ]

    @classmethod
    def on_free_ports(cls, data_dir: Path, nodes: int = 1, **kwargs: object) -> KafkaCluster:
        """A cluster whose ports are picked at random, for tests that must not clash with anything."""
        cluster = cls(data_dir=data_dir, nodes=nodes, port=free_port(), **kwargs)  # type: ignore[arg-type]
        for node in cluster.members:
            node.port, node.controller_port = free_port(), free_port()
        return cluster

    @property
    def bootstrap_servers(self) -> str:
        """The ``host:port`` list clients connect to, comma-separated."""
        return ",".join(f"127.0.0.1:{n.port}" for n in self.members)

    @property
    def voters(self) -> str:
        """The ``controller.quorum.voters`` value: each node's id and controller address."""
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.members)

    def running(self) -> bool:
        """True when every node's process is alive and accepts client connections."""
        return all(n.pid() is not None and port_open(n.port) for n in self.members)

    def cluster_id(self) -> str:
        """The cluster id, created once and kept beside the nodes (KRaft wants a base64 uuid)."""
        path = self.data_dir / "cluster.id"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cid = "-"
        while cid.startswith("-"):  # like Kafka's Uuid.randomUuid: never an id an argument parser misreads
            cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        path.write_text(cid)
        return cid

    def _properties(self, node: Node) -> str:
        replication = str(min(3, self.nodes))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": self.voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(node.data_dir),
            "num.partitions": "3",
            "default.replication.factor": replication,
            "min.insync.replicas": str(max(1, int(replication) - 1)),
            "offsets.topic.replication.factor": replication,
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": str(max(1, int(replication) - 1)),
            "transaction.state.log.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "log.retention.hours": "-1",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        }
        props.update(self.extra_config)
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _java(self, node: Node, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise LauncherError("java is not on PATH (OpenJDK 17 is needed)")
        return [
            java,
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{HERE / 'log4j.properties'}",
            f"-Dkafka.logs.dir={node.log_dir}",
            "-cp",
            f"{self.lib}/*",
            main,
            *args,
        ]

    def _format(self, node: Node, cluster_id: str) -> None:
        """Format the node's storage unless it already holds this cluster's metadata."""
        meta = node.data_dir / "meta.properties"
        if meta.exists() and f"cluster.id={cluster_id}" in meta.read_text():
            return
        shutil.rmtree(node.data_dir, ignore_errors=True)  # half-formatted or foreign: start clean
        node.data_dir.mkdir(parents=True)
        cmd = self._java(
            node,
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",
            f"--config={node.directory / 'server.properties'}",
        )
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if out.returncode != 0:
            raise LauncherError(f"formatting node {node.node_id} failed: {out.stdout}{out.stderr}")

    def start(self, timeout: float = 90.0) -> bool:
        """Start every node that is not running and wait until all accept connections.

        Returns True when this call started something, False when the cluster was already up.
        """
        if self.running():
            return False
        fetch_jars(self.lib)
        cluster_id = self.cluster_id()
        for node in self.members:
            if node.pid() is not None:
                continue
            node.log_dir.mkdir(parents=True, exist_ok=True)
            (node.directory / "server.properties").write_text(self._properties(node))
            self._format(node, cluster_id)
            with (node.log_dir / "stdout.log").open("ab") as out:
                proc = subprocess.Popen(  # noqa: S603 - fixed argv
                    self._java(node, "kafka.Kafka", str(node.directory / "server.properties")),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            self._procs[node.node_id] = proc
            node.pid_file.write_text(str(proc.pid))
        self.wait_ready(timeout)
        return True

    def wait_ready(self, timeout: float) -> None:
        """Block until every node listens, or raise with the tail of the first failing log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(port_open(n.port) for n in self.members):
                return
            for node in self.members:
                if node.pid() is None:
                    raise LauncherError(f"node {node.node_id} exited during start-up:\n{self.log_tail(node)}")
            time.sleep(0.25)
        raise LauncherError(f"Kafka did not accept connections within {timeout:.0f}s:\n{self.log_tail()}")

    def _reap(self, node: Node) -> None:
        proc = self._procs.pop(node.node_id, None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every node (a controlled shutdown), SIGKILL what is still alive after ``timeout``."""
        for node in self.members:
            pid = node.pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node in self.members:
            while node.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.2)
            pid = node.pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
            self._reap(node)
            node.pid_file.unlink(missing_ok=True)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node: the crash that fault tests need."""
        node = self.members[node_id - 1]
        pid = node.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)
            self._reap(node)
            node.pid_file.unlink(missing_ok=True)

    def log_tail(self, node: Node | None = None, lines: int = 60) -> str:
        """The last lines of a node's server log (stdout log when the server log is empty)."""
        chosen = node or self.members[0]
        for path in (chosen.server_log, chosen.log_dir / "stdout.log"):
            if path.exists() and path.stat().st_size:
                return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
        return "(no broker log yet)"


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: start, stop, status, fetch or log; returns the exit code."""
    parser = argparse.ArgumentParser(description="Run Apache Kafka (KRaft) on 127.0.0.1")
    parser.add_argument("command", choices=["start", "stop", "status", "fetch", "log"])
    parser.add_argument("--nodes", type=int, default=int(os.environ.get("KAFKA_NODES", "1")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("KAFKA_PORT", "9092")))
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("KAFKA_DATA_DIR", DEFAULT_DATA)))
    parser.add_argument("--heap", default=os.environ.get("KAFKA_HEAP", "512m"))
    args = parser.parse_args(argv)
    cluster = KafkaCluster(data_dir=args.data_dir, nodes=args.nodes, port=args.port, heap=args.heap)
    try:
        if args.command == "fetch":
            print(fetch_jars(cluster.lib, quiet=False, refresh=True))
        elif args.command == "start":
            started = cluster.start()
            state = "started" if started else "already running"
            print(f"kafka {state} on {cluster.bootstrap_servers} (data in {cluster.data_dir})")
        elif args.command == "stop":
            cluster.stop()
            print("kafka stopped")
        elif args.command == "status":
            print(f"kafka {'running' if cluster.running() else 'stopped'} on {cluster.bootstrap_servers}")
            return 0 if cluster.running() else 1
        else:
            print(cluster.log_tail(lines=200))
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
