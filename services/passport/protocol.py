"""Fair booking as a whole: the intake that starts it, and the pure model of every stage's topic.

The intake turns ``passport`` and ``passport.quotas`` events into the first stage's records. The model
holds each stage topic's partitions as queues and each partition's fold; any order of steps (one record off
the head of one partition) is an interleaving the real workers could produce, and a step that applies a
record again is a worker that crashed after writing and read it once more. The integration test compares
the broker's run with ``fold_partition`` fed each topic's partitions in offset order.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.contracts.passport_booking import AppointmentRequested, CancellationRequested, QuotaSet
from services.passport.booking import (
    DECISIONS,
    PHONES,
    REQUESTS,
    SLOTS,
    Answer,
    Ask,
    Cancel,
    Decision,
    Out,
    QuotaChange,
    Release,
    Request,
    citizen_of,
    no_identity_key,
)
from services.passport.citizens import CitizenStage
from services.passport.phones import PhoneLimit, PhoneStage, route_request
from services.passport.slots import SlotStage

__all__ = ["STAGE_TOPICS", "BookingModel", "fold_partition", "intake", "partition_of"]

STAGE_TOPICS = (PHONES, REQUESTS, SLOTS)
Stage = PhoneStage | CitizenStage | SlotStage


def intake(
    event: AppointmentRequested | CancellationRequested | QuotaSet,
    time: datetime,
    pseudonym: Callable[[str], str],
) -> Out:
    """The first stage record an event becomes (personal data stays behind: only keys travel on)."""
    if isinstance(event, QuotaSet):
        change = QuotaChange(
            event.quota_id, event.office, event.service, event.daily_capacity, event.from_date, time
        )
        return Out(SLOTS, event.office, change, broadcast=True)
    citizen = citizen_of(event.personal, pseudonym)
    if isinstance(event, CancellationRequested):
        cancel = Cancel(
            event.request_id, event.application_id, citizen, event.office, event.booking_code, time
        )
        return Out(REQUESTS, citizen or no_identity_key(event.request_id), cancel)
    request = Request(
        event.request_id,
        event.application_id,
        citizen,
        event.office,
        event.wished_date,
        event.service,
        event.channel.value,
        event.phone_key,
        event.requester_key is not None and citizen != f"nik:{event.requester_key}",
        event.reschedules,
        time,
    )
    if event.phone_key is not None:
        return Out(PHONES, event.phone_key, request)
    return route_request(request)


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for a key (the model's; Kafka's own hash differs, which no property depends on)."""
    return zlib.crc32(key.encode("utf-8")) % partitions


def _stage(topic: str, phone_limit: PhoneLimit) -> Stage:
    if topic == PHONES:
        return PhoneStage(rules=phone_limit)
    return CitizenStage() if topic == REQUESTS else SlotStage()


def _apply(stage: Stage, record: object) -> list[Out]:
    if isinstance(stage, PhoneStage) and isinstance(record, Request):
        return stage.apply(record)
    if isinstance(stage, CitizenStage) and isinstance(record, Request | Cancel | Answer):
        return stage.apply(record)
    if isinstance(stage, SlotStage) and isinstance(record, Ask | Release | QuotaChange):
        return stage.apply(record)
    raise TypeError(f"{type(record).__name__} does not belong on {type(stage).__name__}")


def fold_partition(topic: str, records: Iterable[object], phone_limit: PhoneLimit | None = None) -> list[Out]:
    """What one partition of a stage topic writes, folded from nothing over ``records`` in offset order."""
    stage = _stage(topic, phone_limit or PhoneLimit())
    return [out for record in records for out in _apply(stage, record)]


@dataclass
class BookingModel:
    """Every stage topic's partitions as queues, each partition's fold, and the decisions written."""

    partitions: int = 3
    phone_limit: PhoneLimit = field(default_factory=PhoneLimit)
    queues: dict[tuple[str, int], deque[object]] = field(default_factory=dict)
    stages: dict[tuple[str, int], Stage] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    log: dict[tuple[str, int], list[object]] = field(default_factory=dict)
    """Each partition's records in the order its fold applied them (again included): its offset order."""
    written: dict[tuple[str, int], list[Out]] = field(default_factory=dict)
    """What each partition's fold wrote, in order."""

    def __post_init__(self) -> None:
        """One queue and one fold per partition of each stage topic."""
        for topic in STAGE_TOPICS:
            for partition in range(self.partitions):
                self.queues[topic, partition] = deque()
                self.stages[topic, partition] = _stage(topic, self.phone_limit)
                self.log[topic, partition] = []
                self.written[topic, partition] = []

    def publish(self, out: Out) -> None:
        """Append a record where Kafka would: its key's partition, or every partition for a broadcast."""
        if out.topic == DECISIONS:
            if isinstance(out.value, Decision):
                self.decisions.append(out.value)
            return
        targets = range(self.partitions) if out.broadcast else [partition_of(out.key, self.partitions)]
        for partition in targets:
            self.queues[out.topic, partition].append(out.value)

    def ready(self) -> list[tuple[str, int]]:
        """The partitions with records waiting, in a fixed order."""
        return [place for place, queue in self.queues.items() if queue]

    def step(self, place: tuple[str, int], *, again: bool = False) -> None:
        """Apply the head record of one partition; ``again`` leaves it there (a crash before the commit)."""
        queue = self.queues[place]
        record = queue[0] if again else queue.popleft()
        self.log[place].append(record)
        for out in _apply(self.stages[place], record):
            self.written[place].append(out)
            self.publish(out)

    def run(self, choices: Sequence[int] = ()) -> list[Decision]:
        """Steps picked by ``choices`` (an index into the ready partitions; odd values apply again), then
        the rest in a fixed order until nothing waits; the decisions written, in order.
        """
        for choice in choices:
            ready = self.ready()
            if not ready:
                break
            self.step(ready[(choice // 2) % len(ready)], again=choice % 2 == 1)
        while ready := self.ready():
            self.step(ready[0])
        return self.decisions
