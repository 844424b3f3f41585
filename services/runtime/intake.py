"""A processor's intake: domain events in, the view's own items out, committed only once acknowledged.

Stateless, so it runs as a plain consume-transform-produce loop on kafka-python with explicit commits:
every item of a poll is acknowledged by the broker (acks=all) before that poll's offsets are committed,
so a crash at any point redelivers, never loses (the view drops what it has already applied by id).
Refused records are dead-lettered (and acknowledged) by ``BusConsumer`` before their offsets move on, and a
valid event the transform fails on is dead-lettered as ``PROCESSING_FAILED``: one defect never stalls the
stream. It runs in a process of its own beside the worker's faust core (decoding gets a core of its own)
and reports what it does through shared memory (``IntakeCounters``), which the worker serves on
``/metrics`` and ``/stats``: an intake that has not committed for a while although records wait is stalled.

Why not a faust agent: faust-streaming acknowledges, and so commits, messages it skips as fetched in an
older consumer generation after a rebalance. A worker SIGKILLed and restarted while its dead member was
still in the group lost 47 of 10,000 events that way; this loop lost none in the same test.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from kafka import KafkaProducer
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.bus.codec import AvroCodec
from services.bus.consumer import BusConsumer
from services.bus.errors import BusError, ProcessingFailed
from services.bus.events import ViewEvent
from services.bus.logs import get_logger
from services.bus.publisher import producer_config
from services.bus.settings import BusSettings
from services.runtime.collector import tune_collector
from services.runtime.publishing import wait_acknowledged
from services.runtime.resume import handled, seed_group, source_headers

log = get_logger("intake")
RETRY_SECONDS = 2.0
HUNG_SECONDS = 90.0
"""How long the intake's loop may not go round before the worker kills and restarts it: above every bound
of one round (a commit or an acknowledgement waits at most the request timeout, 30 s, and ``ACK_TIMEOUT``,
60 s); a first deploy's seeding from a large output topic may take longer, and is then started again."""


@dataclass(frozen=True)
class Forward:
    """One item for the target topic: its bytes under ``key`` (its partition by the bus's partitioner),
    or a copy to every partition of the target with ``broadcast`` (state every partition must hold).
    """

    key: str
    value: bytes
    broadcast: bool = False
    topic: str | None = None
    """Catalogue name of the topic it goes to: the spec's ``target`` when None, else one of its
    ``routes`` (a view whose stages each read a topic of their own)."""
    item: Any = field(default=None, compare=False, repr=False)
    """What ``value`` encodes, as the view's ``read`` gives it back: for a reader in the same process
    (the auditors' replay), which would otherwise decode the bytes just encoded; never sent."""


Transform = Callable[[Any], bytes | Sequence[Forward] | None]
"""What the view makes of one accepted event (a ``BusEvent``; the view model itself for a record of a view
topic): the bytes of its item (keyed by the event id), the items to forward, or None to follow nothing.
"""


@dataclass(frozen=True)
class IntakeSpec:
    """Everything an intake process needs; picklable, because the process is spawned."""

    name: str
    """The processor's name (``registry``): the intake is ``<name>-intake`` in groups and dead letters."""
    sources: tuple[str, ...]
    """Catalogue names of the topics read."""
    target: str
    """Catalogue name of the topic the items go to."""
    transform: Callable[[BusSettings], Transform]
    """A module-level factory (picklable by reference) making the transform in the intake's process."""
    batch_size: int
    member_id: str
    """Static group membership id (KIP-345): a restarted intake takes its partitions back at once."""
    session_timeout: float
    view_sources: tuple[str, ...] = ()
    """Catalogue names of view topics also read (another processor's published state): each record is
    decoded as its view model (``BusConsumer(views=...)``) and handed to the transform as that model."""
    routes: tuple[str, ...] = ()
    """Catalogue names of the other topics a ``Forward`` may name besides ``target``."""

    @property
    def targets(self) -> tuple[str, ...]:
        """Every topic the intake writes to: ``target`` first, then the ``routes``."""
        return (self.target, *(route for route in self.routes if route != self.target))

    @property
    def component(self) -> str:
        """The intake's name in dead letters and consumer groups."""
        return f"{self.name}-intake"


class Counter(IntEnum):
    """The slots of ``IntakeCounters``."""

    CONSUMED = 0
    DEADLETTERED = 1
    FAILED = 2
    FORWARDED = 3
    COMMITTED_AT = 4
    WAITING = 5
    RESTARTS = 6
    ALIVE_AT = 7
    """When the intake last got records, or held partitions with nothing waiting (or started): the worker
    restarts an intake that stopped, also one whose consumer never got its partitions."""


class IntakeCounters:
    """Counters shared by the intake process and the worker that serves them (lock-free doubles: one
    writer per slot).
    """

    def __init__(self) -> None:
        self.values: Any = multiprocessing.get_context("spawn").Array("d", len(Counter), lock=False)
        self.values[Counter.COMMITTED_AT] = self.values[Counter.ALIVE_AT] = time.time()

    def add(self, slot: Counter, amount: float = 1.0) -> None:
        """Add ``amount`` to ``slot``."""
        self.values[slot] += amount

    def set(self, slot: Counter, value: float) -> None:
        """Set ``slot`` to ``value``."""
        self.values[slot] = value

    def get(self, slot: Counter) -> float:
        """The value of ``slot``."""
        return float(self.values[slot])

    def stalled(self, bound: float, now: float | None = None) -> bool:
        """Whether records wait while nothing was committed for longer than ``bound`` seconds."""
        idle = (now or time.time()) - self.get(Counter.COMMITTED_AT)
        return self.get(Counter.WAITING) > 0 and idle > bound

    def describe(self, bound: float) -> dict[str, Any]:
        """The counters as ``/stats`` shows them."""
        return {
            "consumed": int(self.get(Counter.CONSUMED)),
            "dead_lettered": int(self.get(Counter.DEADLETTERED)),
            "failed": int(self.get(Counter.FAILED)),
            "forwarded": int(self.get(Counter.FORWARDED)),
            "waiting": int(self.get(Counter.WAITING)),
            "seconds_since_commit": round(time.time() - self.get(Counter.COMMITTED_AT), 1),
            "restarts": int(self.get(Counter.RESTARTS)),
            "stalled": self.stalled(bound),
        }


class IntakeCollector(Collector):
    """Exports an intake's counters from the worker's process on ``/metrics``."""

    def __init__(self, name: str, counters: IntakeCounters, stall_bound: float) -> None:
        self.name = name
        self.counters = counters
        self.stall_bound = stall_bound

    def collect(self) -> Iterator[Metric]:
        """The intake's counters and gauges, labelled by processor."""
        c = self.counters
        for slot, help_text in (
            (Counter.CONSUMED, "Events the intake accepted from the domain topics"),
            (Counter.DEADLETTERED, "Records the intake refused (in bus.deadletter with the reason)"),
            (Counter.FAILED, "Valid events the intake's transform failed on (PROCESSING_FAILED)"),
            (Counter.FORWARDED, "Items the intake forwarded to the view's topic, acknowledged"),
            (Counter.RESTARTS, "Times the intake's loop or process started over after an error"),
        ):
            family = CounterMetricFamily(
                f"runtime_intake_{slot.name.lower()}", help_text, labels=["processor"]
            )
            family.add_metric([self.name], c.get(slot))
            yield family
        waiting = GaugeMetricFamily(
            "runtime_intake_waiting",
            "Records fetched or known on the broker, not yet committed",
            labels=["processor"],
        )
        waiting.add_metric([self.name], c.get(Counter.WAITING))
        yield waiting
        since = GaugeMetricFamily(
            "runtime_intake_seconds_since_commit",
            "Seconds since the intake last committed",
            labels=["processor"],
        )
        since.add_metric([self.name], time.time() - c.get(Counter.COMMITTED_AT))
        yield since
        stalled = GaugeMetricFamily(
            "runtime_intake_stalled",
            "1 while records wait and nothing was committed for a while",
            labels=["processor"],
        )
        stalled.add_metric([self.name], 1.0 if c.stalled(self.stall_bound) else 0.0)
        yield stalled


class Intake:
    """The loop; ``run`` returns once ``should_stop`` says so, and starts over after an error."""

    def __init__(
        self,
        settings: BusSettings,
        spec: IntakeSpec,
        counters: IntakeCounters,
        should_stop: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.counters = counters
        self.transform = spec.transform(settings)
        self.should_stop = should_stop

    def run(self) -> None:
        """Loop until told to stop; after an error, wait and start over from the committed offsets."""
        while not self.should_stop():
            self.counters.set(Counter.ALIVE_AT, time.time())
            try:
                self._loop()
            except Exception:  # broker gone, coordinator moved...: log, wait, start over from the commit
                log.exception("intake_failed", processor=self.spec.name, retry_in_s=RETRY_SECONDS)
                self.counters.add(Counter.RESTARTS)
                time.sleep(RETRY_SECONDS)

    def _loop(self) -> None:
        settings, spec, counters = self.settings, self.spec, self.counters
        targets = {name: settings.topic(name) for name in spec.targets}
        group = f"{settings.topic_prefix}{settings.client_id}-{spec.component}"
        sources = [settings.topic(t) for t in spec.sources]

        def alive() -> None:
            counters.set(Counter.ALIVE_AT, time.time())

        seed_group(
            settings, group, sources, lambda: handled(settings, list(targets.values()), spec.component, alive)
        )
        with ExitStack() as clients:
            producer = KafkaProducer(**producer_config(settings))
            clients.callback(producer.close, 60.0)
            consumer = clients.enter_context(
                BusConsumer(
                    spec.sources,
                    group_id=group,
                    component=spec.component,
                    settings=settings,
                    max_poll_records=spec.batch_size,
                    group_instance_id=spec.member_id,
                    session_timeout_ms=int(spec.session_timeout * 1000),
                    heartbeat_interval_ms=int(spec.session_timeout * 1000 / 4),
                    views=spec.view_sources,
                )
            )
            partitions = {
                name: sorted(producer.partitions_for(topic) or ()) for name, topic in targets.items()
            }
            watch = CoordinatorWatch(bound=spec.session_timeout * 3)
            while not self.should_stop():
                watch.check(_coordinator_known(consumer), time.monotonic())
                refused_before = consumer.deadletters.sent
                records = consumer.poll_records(timeout_ms=200, max_records=spec.batch_size)
                counters.add(Counter.DEADLETTERED, consumer.deadletters.sent - refused_before)
                behind = self._behind(consumer)
                counters.set(Counter.WAITING, len(records) + behind)
                if records or (consumer.consumer.assignment() and not behind):
                    counters.set(Counter.ALIVE_AT, time.time())  # moving, or assigned with nothing to do
                futures: list[Any] = []
                for raw, event in records:
                    counters.add(Counter.CONSUMED)
                    try:
                        made = self.transform(event.view if isinstance(event, ViewEvent) else event)
                        forwards = _forwards(event.id, made)
                    except Exception as exc:  # noqa: BLE001 - a defect met by one valid event must not stall the rest
                        consumer.refuse(
                            raw, ProcessingFailed(f"{event.type}: {type(exc).__name__} in {spec.component}")
                        )
                        counters.add(Counter.FAILED)
                        continue
                    for forward in forwards:
                        headers = [*item_headers(consumer.decoder.codec, forward.value), *source_headers(raw)]
                        name = forward.topic or spec.target
                        to: list[int | None] = list(partitions[name]) if forward.broadcast else [None]
                        futures.extend(
                            producer.send(
                                targets[name],
                                key=forward.key.encode(),
                                value=forward.value,
                                headers=headers,
                                partition=partition,
                            )
                            for partition in to
                        )
                wait_acknowledged(producer, futures)  # raises if the broker refused one: nothing is committed
                consumer.commit()
                counters.add(Counter.FORWARDED, len(futures))
                counters.set(Counter.COMMITTED_AT, time.time())
                counters.set(Counter.WAITING, behind)  # what the poll left: the records it took are done

    @staticmethod
    def _behind(consumer: BusConsumer) -> int:
        """Records on the broker past the consumer's position, as the last fetches reported them."""
        behind = 0
        for tp in consumer.consumer.assignment():
            highwater = consumer.consumer.highwater(tp)
            if highwater is not None:
                behind += max(0, highwater - consumer.consumer.position(tp))
        return behind


class CoordinatorLost(Exception):
    """The consumer has not known its group coordinator for too long: start over with a new client."""


@dataclass
class CoordinatorWatch:
    """Raises ``CoordinatorLost`` once the coordinator stayed unknown for ``bound`` seconds.

    kafka-python 3.0 can spin for good looking up a coordinator whose first connection failed (a broker
    just started): each lookup finds the node, finds it disconnected in its reconnect backoff, declares it
    dead and looks it up again, never connecting. The intake then polls nothing and commits nothing with
    nothing counted as waiting, so it looked healthy; a new client connects at once.
    """

    bound: float
    unknown_since: float | None = None

    def check(self, known: bool, now: float) -> None:  # noqa: FBT001 - a state, not an option
        """Note whether the coordinator is known at ``now``; raise if it has been unknown too long."""
        if known:
            self.unknown_since = None
        elif self.unknown_since is None:
            self.unknown_since = now
        elif now - self.unknown_since > self.bound:
            raise CoordinatorLost(f"no group coordinator for {self.bound:.0f} s")


def _coordinator_known(consumer: BusConsumer) -> bool:
    """Whether kafka-python's consumer knows and is connected to its group coordinator (its private
    coordinator object; a client without one is taken as knowing, so the watch never fires wrongly).
    """
    coordinator = getattr(consumer.consumer, "_coordinator", None)
    unknown = getattr(coordinator, "coordinator_unknown", None)
    return unknown is None or not unknown()


def _forwards(event_id: str, made: bytes | Sequence[Forward] | None) -> Sequence[Forward]:
    """What a transform returned as forwards: bare bytes are one item keyed by the event id."""
    if made is None:
        return ()
    if isinstance(made, bytes):
        return (Forward(event_id, made),)
    return made


def item_headers(codec: AvroCodec, item: bytes) -> list[tuple[str, bytes]]:
    """``content-type``, ``ce_type`` and ``ce_dataschema`` of an item framed with a contract of ``schemas/``
    (what a reader needs to know the record without decoding it); none for anything else.
    """
    try:
        contract = codec.writer_of(item)
    except BusError:
        return []
    return [
        ("content-type", b"application/avro"),
        ("ce_type", contract.fullname.encode()),
        ("ce_dataschema", contract.dataschema.encode()),
    ]


def intake_main(settings: BusSettings, spec: IntakeSpec, counters: IntakeCounters, parent_pid: int) -> None:
    """The intake process: its own interpreter, so decoding does not share a GIL with the core.

    Stops on SIGTERM or SIGINT, and by itself if the worker that started it is gone (even SIGKILLed).
    """
    tune_collector()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    Intake(
        settings, spec, counters, should_stop=lambda: stopping.is_set() or os.getppid() != parent_pid
    ).run()


class IntakeProcess:
    """The intake's process as the worker holds it: started, watched (restarted if it died), stopped."""

    def __init__(self, settings: BusSettings, spec: IntakeSpec, counters: IntakeCounters) -> None:
        self.settings = settings
        self.spec = spec
        self.counters = counters
        self.process: Any = None

    def start(self) -> None:
        """Spawn the intake process."""
        self.process = multiprocessing.get_context("spawn").Process(
            target=intake_main,
            args=(self.settings, self.spec, self.counters, os.getpid()),
            name=self.spec.component,
        )
        self.process.start()

    def watch(self, now: float | None = None) -> None:
        """Restart the intake if its process died, or if its loop has not gone round for ``HUNG_SECONDS``
        (counted as a restart): a client call that never returns (kafka-python has some without a bound)
        must not leave the view without input, silently. Killing it loses nothing: it commits only what
        the broker acknowledged, and a new one resumes after what was forwarded.
        """
        if self.process is None:
            return
        if not self.process.is_alive():
            log.error("intake_died", processor=self.spec.name, exitcode=self.process.exitcode)
        elif (now or time.time()) - self.counters.get(Counter.ALIVE_AT) > HUNG_SECONDS:
            log.error("intake_hung", processor=self.spec.name, silent_s=HUNG_SECONDS)
            self.process.kill()
            self.process.join()
        else:
            return
        self.counters.add(Counter.RESTARTS)
        self.counters.set(Counter.ALIVE_AT, time.time())
        self.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the intake to stop (SIGTERM), and kill it if it does not within ``timeout`` seconds."""
        if self.process is None:
            return
        self.process.terminate()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
