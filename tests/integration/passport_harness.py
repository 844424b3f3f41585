"""Running passport workers against the test broker, the race traffic they are given, and what they must
equal: the pure model of the booking protocol fed each stage topic's partitions in offset order, and
figures counted independently from the raw requests.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from services.bus.codec import AvroCodec
from services.bus.keys import citizen_hasher
from services.bus.publisher import EventMeta, Outgoing, Publisher
from services.bus.reading import end_offsets, read_range, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts import VIEW_MODELS
from services.contracts.common import Channel, Personal
from services.contracts.passport import PassportService
from services.contracts.passport_booking import AppointmentRequested, QuotaSet
from services.contracts.passport_items import BookingItemModel
from services.passport.booking import DECISIONS, Cancelled, Confirmed, Refused
from services.passport.decisions import decision_record
from services.passport.items import from_item
from services.passport.protocol import STAGE_TOPICS, fold_partition
from services.reference.nik import generate_nik
from services.reference.offices import immigration_offices
from tests.integration.registry_harness import ProcessorWorker

SERVICE = PassportService.NEW


def passport_worker(
    settings: BusSettings, tmp: Path, name: str, port: int, peers: list[int]
) -> ProcessorWorker:
    """``python -m services passport worker`` with its own port, data directory, instance id and peers."""
    return ProcessorWorker.peer(settings, tmp, name, port, peers, processor="passport")


@dataclass
class Race:
    """Requests racing for the quota of a few offices on one day, and what is known of each beforehand."""

    day: date
    capacity: dict[str, int]
    quotas: list[QuotaSet] = field(default_factory=list)
    requests: list[AppointmentRequested] = field(default_factory=list)
    phone_of: dict[str, str | None] = field(default_factory=dict)
    citizen_of: dict[str, str | None] = field(default_factory=dict)
    """Request id -> the NIK it is for (None: no identity)."""
    not_applicant: set[str] = field(default_factory=set)


def race(
    settings: BusSettings,
    *,
    offices: int,
    capacity: int,
    citizens: int,
    repeats: int,
    touts: int,
    per_tout: int,
    nameless: int,
    proxies: int,
    seed: int = 7,
) -> Race:
    """``citizens`` applicants with a NIK and a phone of their own (one in ten walks in), ``repeats`` of them
    asking again, ``touts`` phones sending ``per_tout`` requests each for other people, ``nameless``
    requests with neither NIK nor passport number, ``proxies`` booked by someone else; ``offices`` offices
    with ``capacity`` places each on one day. Request order is shuffled.
    """
    rng = random.Random(seed)
    hasher = citizen_hasher(settings)
    codes = [office.code for office in immigration_offices()[:offices]]
    day = datetime.now(UTC).date() + timedelta(days=7)
    result = Race(day=day, capacity=dict.fromkeys(codes, capacity))
    for code in codes:
        quota = QuotaSet(
            quota_id=str(uuid.UUID(int=rng.getrandbits(128))),
            office=code,
            service=SERVICE,
            daily_capacity=capacity,
            from_date=day - timedelta(days=1),
            officer_id="officer-quota",
        )
        result.quotas.append(quota)

    def nik() -> str:
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        return generate_nik(rng, date_of_birth=born, sex=rng.choice(["MALE", "FEMALE"]))

    def ask(personal: Personal, phone: str | None, requester: str | None) -> AppointmentRequested:
        request_id = str(uuid.UUID(int=rng.getrandbits(128)))
        channel = Channel.WALK_IN if phone is None else Channel.WHATSAPP
        request = AppointmentRequested(
            request_id=request_id,
            application_id=f"APP-{request_id[:13]}",
            office=rng.choice(codes),
            wished_date=day,
            service=SERVICE,
            channel=channel,
            phone_key=phone,
            requester_key=requester,
            personal=personal,
        )
        result.phone_of[request_id] = phone
        result.citizen_of[request_id] = personal.nik
        return request

    def phone() -> str:
        return hasher(f"+6281{rng.randrange(10**9):09d}")

    people = [nik() for _ in range(citizens)]
    requests = [
        ask(Personal(nik=number), None if rng.random() < 0.1 else phone(), hasher(number))
        for number in people
    ]
    requests.extend(ask(Personal(nik=n), phone(), hasher(n)) for n in rng.sample(people, repeats))
    for tout in range(touts):
        calo = hasher(f"+62899000{tout:04d}")
        requests.extend(ask(Personal(nik=nik()), calo, None) for _ in range(per_tout))
    requests.extend(ask(Personal(full_name="Tanpa Identitas"), phone(), None) for _ in range(nameless))
    for _ in range(proxies):
        request = ask(Personal(nik=nik()), phone(), hasher(nik()))
        result.not_applicant.add(request.request_id)
        requests.append(request)
    rng.shuffle(requests)
    result.requests = requests
    return result


def publish(settings: BusSettings, race: Race, *, chunk: int = 2_000, pause: float = 0.0) -> None:
    """The quotas first, then the requests (their event times a second apart, all in the last hours)."""
    now = datetime.now(UTC)
    start = now - timedelta(seconds=len(race.requests) + 60)
    with Publisher(settings) as publisher:
        publisher.send_prepared(
            [publisher.prepare(q, EventMeta(source=q.office, time=start)) for q in race.quotas]
        )
        for lo in range(0, len(race.requests), chunk):
            batch: list[Outgoing] = [
                publisher.prepare(r, EventMeta(source=r.office, time=start + timedelta(seconds=lo + n + 1)))
                for n, r in enumerate(race.requests[lo : lo + chunk])
            ]
            publisher.send_prepared(batch)
            if pause:
                time.sleep(pause)


def _codec(settings: BusSettings) -> AvroCodec:
    return AvroCodec(load_registry(settings.schemas_dir))


def decisions(settings: BusSettings) -> list[Any]:
    """Every record of ``passport.decisions``, as its view model (duplicates included)."""
    codec = _codec(settings)
    found = []
    for message in read_to_end(settings, settings.topic(DECISIONS)):
        decoded = codec.decode(message.value)
        found.append(VIEW_MODELS[decoded.writer.fullname].from_avro(decoded.record))
    return found


def wait_for_decisions(
    settings: BusSettings, requests: int, timeout: float, alive: Callable[[], None]
) -> list[Any]:
    """Poll ``passport.decisions`` until every request has a decision; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while time.monotonic() < deadline:
        alive()
        seen = decisions(settings)
        if len({d.request_id for d in seen}) >= requests:
            return seen
        time.sleep(2)
    decided = len({d.request_id for d in seen})
    raise AssertionError(f"only {decided} of {requests} requests decided after {timeout:.0f} s")


def stage_records(settings: BusSettings, topic: str) -> dict[int, list[Any]]:
    """Each partition of a stage topic as the stage records it holds, in offset order."""
    codec = _codec(settings)
    found: dict[int, list[Any]] = {}
    full = settings.topic(topic)
    for partition, end in sorted(end_offsets(settings, full).items()):
        records = read_range(settings, full, partition, 0, end)
        found[partition] = [
            from_item(
                BookingItemModel.from_avro(codec.decode(m.value, expected=BookingItemModel.SCHEMA).record)
            )
            for m in records
        ]
    return found


def model_decisions(settings: BusSettings) -> dict[str, dict[str, Any]]:
    """The decisions the pure protocol writes when each stage topic's partitions, as the broker holds them,
    are folded in offset order: decision id -> the decision's record (as JSON data).
    """
    written: dict[str, dict[str, Any]] = {}
    for topic in STAGE_TOPICS:
        for records in stage_records(settings, topic).values():
            for out in fold_partition(topic, records):
                if isinstance(out.value, Confirmed | Refused | Cancelled):
                    model = decision_record(out.value)
                    written[model.decision_id] = model.model_dump(mode="json")
    return written


def refusals(found: list[Any]) -> Counter[str]:
    """Refusals by reason, one per decision id."""
    unique = {d.decision_id: d for d in found}
    return Counter(str(d.reason) for d in unique.values() if hasattr(d, "wished_date"))
