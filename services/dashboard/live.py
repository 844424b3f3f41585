"""The dashboard's live figures: a background reader in the front door's process that follows the compacted
figure topics and asks each worker's ``/stats``, and the board it keeps them on.

**Why one reader, not a read per request.** Every open page holds a server-sent event stream; were each
to read the topics, a dozen pages would be a dozen consumers reading the same records. One consumer in no
group (``group_id=None``, nothing committed: it starts from the beginning each time the front door does)
is assigned every partition of ``registry.counts``, ``traffic.figures``, ``deadletters.figures``,
``protection.stats`` and ``passport.figures`` and keeps the latest record per key on the ``FigureBoard``;
a topic that does not exist yet is looked for again every few seconds. A second thread asks each
processor's ``/stats`` (loopback) for its partitions' stored progress, end offset and lag. The board's
``version`` moves with every change; the streams (``services.dashboard.page``) send a page new figures
when it does.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client import Counter, Gauge

from services.bus.codec import AvroCodec
from services.bus.errors import BusError
from services.bus.logs import get_logger
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.deadletters import DeadLetterCountModel
from services.contracts.passport_views import PassportFiguresModel
from services.contracts.protection_views import ProtectionStatsModel
from services.contracts.registry import OfficeCountModel
from services.contracts.registry_fields import ViewModel
from services.contracts.traffic import OfficeTrafficModel
from services.dashboard.panels import Latest, PartitionLag, lag_rows

log = get_logger("dashboard.live")

MODELS: dict[str, type[ViewModel]] = {
    model.TOPIC: model
    for model in (
        OfficeCountModel,
        OfficeTrafficModel,
        DeadLetterCountModel,
        ProtectionStatsModel,
        PassportFiguresModel,
    )
}
"""The figure topics the board follows (catalogue names) and the contract of each."""
POLL_MS = 500
LOOK_AGAIN_SECONDS = 5.0
STATS_SECONDS = 5.0
STATS_TIMEOUT = 2.0

RECORDS_READ = Counter(
    "dashboard_figure_records_total",
    "Figure records read by the front door's live reader",
    ["topic", "outcome"],
)
READER_UP = Gauge("dashboard_figure_reader_up", "1 while the live reader is caught up with the figure topics")


class FigureBoard:
    """The latest figure record per key of each topic and each processor's partitions, thread-safe.

    ``live`` is False for a board nobody feeds (set once, as in the tests): a stream then sends the figures
    once and ends, where a fed board's stream goes on until the client leaves.
    """

    def __init__(self, *, live: bool = True) -> None:
        self.live = live
        self.ready = not live
        self.version = 0
        self._records: dict[str, dict[str, ViewModel]] = {topic: {} for topic in MODELS}
        self._lag: dict[str, list[PartitionLag] | None] = {}
        self._lock = threading.Lock()

    def put(self, topic: str, key: str, record: ViewModel | None) -> None:
        """The latest record under ``key`` of ``topic`` (None: a tombstone removed it)."""
        with self._lock:
            if record is None:
                self._records[topic].pop(key, None)
            else:
                self._records[topic][key] = record
            self.version += 1

    def put_all(self, topic: str, records: Iterable[ViewModel]) -> None:
        """Several records at once, each under its own record key (``record_key``)."""
        with self._lock:
            for record in records:
                self._records[topic][str(getattr(record, "record_key", ""))] = record
            self.version += 1

    def set_lag(self, processor: str, rows: list[PartitionLag] | None) -> None:
        """What ``processor``'s worker said of its partitions (None: it did not answer)."""
        with self._lock:
            if self._lag.get(processor, ...) != rows:
                self._lag[processor] = rows
                self.version += 1

    def latest(self) -> tuple[int, Latest]:
        """The board's version and a copy of what it holds."""
        with self._lock:
            records = {topic: list(held.values()) for topic, held in self._records.items()}
            return self.version, Latest(
                counts=records[OfficeCountModel.TOPIC],  # type: ignore[arg-type]
                traffic=records[OfficeTrafficModel.TOPIC],  # type: ignore[arg-type]
                deadletters=records[DeadLetterCountModel.TOPIC],  # type: ignore[arg-type]
                protection=records[ProtectionStatsModel.TOPIC],  # type: ignore[arg-type]
                passport=records[PassportFiguresModel.TOPIC],  # type: ignore[arg-type]
                lag=dict(self._lag),
            )


def parse_processors(text: str) -> dict[str, str]:
    """``name=http://host:port,...`` as a mapping; ValueError when a part is not ``name=url``."""
    found = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, equals, url = part.partition("=")
        if not equals or not name.strip() or not url.strip().startswith("http://"):
            raise ValueError("processors must be name=http://host:port, separated by commas")
        found[name.strip()] = url.strip().rstrip("/")
    return found


@dataclass
class FigureFeed:
    """The threads that fill a ``FigureBoard``: one reading the figure topics, one asking the workers."""

    settings: BusSettings
    board: FigureBoard
    processors: dict[str, str]
    """Processor name -> its worker's web address (``/stats`` is asked there)."""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start both threads (daemons: they never keep the process alive)."""
        for target, name in ((self._read, "figure-reader"), (self._ask, "stats-reader")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Ask both threads to stop and wait for them briefly."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    # the figure topics

    def _read(self) -> None:
        codec = AvroCodec(load_registry(self.settings.schemas_dir))
        topics = {self.settings.topic(name): name for name in MODELS}
        while not self._stop.is_set():
            try:
                consumer = KafkaConsumer(
                    bootstrap_servers=self.settings.bootstrap_servers,
                    enable_auto_commit=False,
                    group_id=None,
                    auto_offset_reset="earliest",
                )
            except KafkaError as exc:
                log.warning("figure_reader_unavailable", error=type(exc).__name__)
                self._stop.wait(LOOK_AGAIN_SECONDS)
                continue
            try:
                self._follow(consumer, codec, topics)
            except KafkaError as exc:
                READER_UP.set(0)
                log.warning("figure_reader_failed", error=type(exc).__name__)
                self._stop.wait(LOOK_AGAIN_SECONDS)
            finally:
                consumer.close()

    def _follow(self, consumer: KafkaConsumer, codec: AvroCodec, topics: dict[str, str]) -> None:
        assigned: set[TopicPartition] = set()
        ends: dict[TopicPartition, int] = {}
        looked = 0.0
        while not self._stop.is_set():
            if time.monotonic() - looked >= LOOK_AGAIN_SECONDS:
                looked = time.monotonic()
                found = {
                    TopicPartition(topic, p)
                    for topic in topics
                    for p in consumer.partitions_for_topic(topic) or ()
                }
                if found - assigned:
                    fresh = found - assigned
                    consumer.assign(sorted(found))
                    consumer.seek_to_beginning(*fresh)
                    ends.update(consumer.end_offsets(list(fresh)))
                    assigned = found
            batches = consumer.poll(timeout_ms=POLL_MS)
            for tp, messages in batches.items():
                self._apply(codec, topics[tp.topic], messages)
            if not self.board.ready and all(consumer.position(tp) >= end for tp, end in ends.items()):
                self.board.ready = True
                READER_UP.set(1)
                log.info("figure_reader_caught_up", partitions=len(assigned))

    def _apply(self, codec: AvroCodec, topic: str, messages: list[Any]) -> None:
        model = MODELS[topic]
        for message in messages:
            key = message.key.decode("utf-8", "replace") if message.key is not None else ""
            if message.value is None:
                self.board.put(topic, key, None)
                continue
            try:
                record = model.from_avro(codec.decode(message.value, expected=model.SCHEMA).record)
            except (BusError, ValueError):
                RECORDS_READ.labels(topic, "refused").inc()
                log.warning("figure_record_refused", topic=topic, partition=message.partition)
                continue
            RECORDS_READ.labels(topic, "read").inc()
            self.board.put(topic, key, record)

    # the workers' /stats

    def _ask(self) -> None:
        while not self._stop.is_set():
            for name, url in self.processors.items():
                self.board.set_lag(name, self._stats(name, url))
            self._stop.wait(STATS_SECONDS)

    @staticmethod
    def _stats(name: str, url: str) -> list[PartitionLag] | None:
        try:
            with urllib.request.urlopen(f"{url}/stats", timeout=STATS_TIMEOUT) as answer:  # noqa: S310 - configured loopback address
                return lag_rows(name, json.loads(answer.read()))
        except (OSError, ValueError):
            return None


def board_of(app: FastAPI) -> FigureBoard | None:
    """The board the app's figure endpoints read (None: no live figures in this process)."""
    board = getattr(app.state, "figure_board", None)
    return board if isinstance(board, FigureBoard) else None


def attach(app: FastAPI, board: FigureBoard, feed: FigureFeed | None = None) -> None:
    """Serve ``board`` on ``app``'s figure endpoints; with ``feed``, run it while the app runs (started and
    stopped by the app's lifespan, which uvicorn drives).
    """
    app.state.figure_board = board
    if feed is None:
        return
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> Any:
        feed.start()
        try:
            async with inner(running) as state:
                yield state
        finally:
            feed.stop()

    app.router.lifespan_context = lifespan


def feed_for(settings: BusSettings, processors: str) -> tuple[FigureBoard, FigureFeed]:
    """A board and the feed that fills it from the bus of ``settings`` and the workers in ``processors``."""
    board = FigureBoard()
    return board, FigureFeed(settings, board, parse_processors(processors))
