"""What every processor worker is configured with; each processor subclasses it with its own prefix."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from services.reference.offices import is_known_office


class ProcessorSettings(BaseSettings):
    """Where a worker keeps its state, where its HTTP views listen, how it batches, who it is in its group."""

    datadir: Path
    web_port: int
    batch_size: int = Field(default=2_000, ge=1)
    """Records a core applies, publishes and stores as one chunk, and an intake polls at a time, when they
    are behind (a live trickle makes smaller chunks, after ``batch_within`` seconds). A view touched by
    several records of one chunk is published once: at 2,000 the registry's core sent 28% fewer records
    than at 500 for the same history, and was a fifth faster."""
    batch_within: float = Field(default=0.05, gt=0)
    source: str = "kemlu-pusat"
    """The office code the views are published under (``ce_source``)."""
    instance_id: str = ""
    """This worker's static membership id in its consumer groups (KIP-345): a worker restarted with the
    same id takes its partitions back at once instead of after the dead member's session times out. Empty:
    derived from the host name and the data directory, which is stable across restarts of one worker."""
    session_timeout: float = Field(default=10.0, gt=0)
    """Seconds before a worker that died and did not come back loses its partitions to the others."""
    stall_seconds: float = Field(default=30.0, gt=0)
    """An intake that has not committed for this long while records wait is reported stalled."""

    peer_ports: str = ""
    """The web ports of the processor's other workers on this host, comma-separated (``7068,7069``): each
    worker holds only some partitions, and asks the others for the rest."""

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        """Consumers refuse a record whose ``ce_source`` is no known office."""
        if not is_known_office(value):
            raise ValueError("source must be a known office or agency code")
        return value

    @field_validator("peer_ports")
    @classmethod
    def _ports(cls, value: str) -> str:
        """Whole numbers of valid ports, separated by commas."""
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() and 0 < int(part) < 65536 for part in parts):
            raise ValueError("peer_ports must be port numbers separated by commas")
        return ",".join(parts)

    def peers(self) -> list[str]:
        """The other workers' addresses (loopback, as every worker's web server is), this one left out."""
        ports = {int(part) for part in self.peer_ports.split(",") if part} - {self.web_port}
        return [f"http://127.0.0.1:{port}" for port in sorted(ports)]

    def member_id(self, role: str) -> str:
        """The static membership id of this worker's ``role`` (``core``, ``intake``) in its group."""
        if self.instance_id:
            return f"{self.instance_id}-{role}"
        where = hashlib.sha256(str(self.datadir.resolve()).encode()).hexdigest()[:10]
        return f"{socket.gethostname()}-{where}-{role}"
