"""What every processor worker is configured with; each processor subclasses it with its own prefix."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings


class ProcessorSettings(BaseSettings):
    """Where a worker keeps its state, where its HTTP views listen, how it batches, who it is in its group."""

    datadir: Path
    web_port: int
    batch_size: int = Field(default=500, ge=1)
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

    def member_id(self, role: str) -> str:
        """The static membership id of this worker's ``role`` (``core``, ``intake``) in its group."""
        if self.instance_id:
            return f"{self.instance_id}-{role}"
        where = hashlib.sha256(str(self.datadir.resolve()).encode()).hexdigest()[:10]
        return f"{socket.gethostname()}-{where}-{role}"
