"""Answering for every key with only some partitions: the workers of one processor ask each other.

A worker holds only the partitions of its input topic that its consumer group gave it, yet people ask
about a case or an application, not a partition. The worker that holds a key's partition answers from its
state; any other worker forwards the request there once and relays the answer (``PeerDesk.forward``). A
forwarded request is marked (``FORWARDED``) and never sent on: the worker it reached answers 421 "not held
here" instead, so two workers never pass a request to and fro.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from services.bus.logs import get_logger
from services.bus.partitioner import partition_for
from services.bus.reading import end_offsets
from services.runtime.core import PartitionCore, ViewRuntime
from services.runtime.credential import ServiceCredential

__all__ = ["FORWARDED", "MISDIRECTED", "SERVICE_UNAVAILABLE", "PeerDesk", "partition_of"]

log = get_logger("runtime.peers")
FORWARDED = "X-Bus-Forwarded"
"""Marks a request one worker forwarded to another: answered there from its own partitions, never sent on."""
MISDIRECTED = 421
SERVICE_UNAVAILABLE = 503
PEER_TIMEOUT = 10.0
"""Seconds a worker waits for another's answer before it says that worker did not answer."""


def partition_of(key: str, partitions: int) -> int:
    """The partition a key's records go to: the bus's partitioner (murmur2 of the key, as every producer of
    the bus and every Java client computes it).
    """
    return partition_for(key.encode(), partitions)


class PeerDesk:
    """A worker's HTTP side of one view runtime: which partitions it holds, and the other workers."""

    def __init__(
        self,
        runtime: ViewRuntime[Any, Any],
        app: Any,
        peers: list[str],
        not_ready: str,
        credential: ServiceCredential,
    ) -> None:
        self.runtime = runtime
        self.app = app
        self.peers = peers
        self.not_ready = not_ready
        self.credential = credential
        self._partitions: int | None = None

    @property
    def url(self) -> str:
        """The worker's own address."""
        return str(self.app.conf.canonical_url)

    async def partition_count(self) -> int:
        """How many partitions the input topic has (asked once: they never change)."""
        if self._partitions is None:
            ends = await asyncio.to_thread(end_offsets, self.runtime.settings, self.runtime.topic)
            self._partitions = len(ends)
        return self._partitions

    async def partition_of(self, key: str) -> int:
        """The partition of the input topic that holds ``key``."""
        return partition_of(key, await self.partition_count())

    def owned(self, partition: int) -> PartitionCore[Any, Any] | None:
        """The worker's core of ``partition`` if the group gave it the partition."""
        core = self.runtime.cores.get(partition)
        return core if core is not None and core.owned else None

    async def ask(self, url: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        """GET ``path`` of the worker at ``url`` (marked forwarded, with the service credential); its status
        and JSON answer, or a 503 of our own if it does not answer.
        """
        try:
            async with self.app.http_client.get(
                url.rstrip("/") + path,
                headers={**headers, **self.credential.header(), FORWARDED: self.url},
                timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT),
            ) as response:
                return response.status, await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("worker_not_answering", worker=url, error=type(exc).__name__)
            return SERVICE_UNAVAILABLE, {"error": f"the worker at {url} did not answer; try again shortly"}

    async def forward(self, web: Any, request: Any, partition: int, headers: dict[str, str]) -> Any:
        """The key's partition is not held here: relay the answer of the peer that holds it (``headers``
        passed on). A forwarded request is not sent on: 421 tells the forwarding worker "not held here".
        """
        topic = self.runtime.projection.input_topic
        if request.headers.get(FORWARDED):
            error = f"partition {partition} of {topic} is not held by this worker"
            return web.json({"error": error, "partition": partition}, status=MISDIRECTED)
        for peer in self.peers:
            status, answer = await self.ask(peer, request.path_qs, headers)
            if status != MISDIRECTED and (status != SERVICE_UNAVAILABLE or "partition" in answer):
                return web.json(answer, status=status)
        error = f"partition {partition} of {topic} is held by no worker that answers; {self.not_ready}"
        return web.json({"error": error, "partition": partition}, status=SERVICE_UNAVAILABLE)
