"""The three fair-booking stages as runtime projections over the store: each partition's log fed through
open, read, apply, drain and commit writes what its pure fold writes; a crash before the commit (the pending
batch discarded, the partition opened again) writes the same records again and the state goes on as if
nothing happened; refused records change nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bus.codec import AvroCodec
from services.bus.decoder import RawRecord
from services.bus.errors import BusError, MalformedPayload, UnknownSchema, WrongTopic
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings, get_settings
from services.contracts.passport import PassportService
from services.contracts.passport_booking import BookingRefusal, QuotaSet
from services.passport.booking import (
    DECISIONS,
    PHONES,
    REQUESTS,
    SLOTS,
    Answer,
    Ask,
    Cancel,
    Cancelled,
    Confirmed,
    Out,
    QuotaChange,
    Refused,
    Release,
    Request,
    booking_code,
    no_identity_key,
)
from services.passport.citizens import Booking
from services.passport.decisions import decision_record
from services.passport.items import StageRecord, to_item
from services.passport.phones import PhoneLimit
from services.passport.protocol import BookingModel, Stage, fold_partition
from services.passport.stage_projections import (
    ITEM_SCHEMA,
    PhonesProjection,
    RequestsProjection,
    SlotsProjection,
    StagePartition,
)
from services.passport.stage_store import (
    citizen_stage,
    decode_booking,
    decode_out,
    decode_record,
    encode_booking,
    encode_out,
    encode_record,
    phone_stage,
    slot_stage,
)
from services.runtime.core import ViewRuntime
from services.runtime.projection import Projection, ViewRecord
from services.runtime.store import PartitionStore, Store
from tests.unit.passport.strategies import DAYS, OFFICES, START, Scenario, scenarios, schedules
from tests.unit.passport.test_stages import decisions, reason, request

CODEC = AvroCodec(load_registry(get_settings().schemas_dir))
NOW = datetime(2030, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AnyProjection = Projection[Any, StageRecord]


def projection_of(topic: str) -> AnyProjection:
    """The projection of a stage topic, over the given codec."""
    if topic == PHONES:
        return PhonesProjection(PhoneLimit(), codec=CODEC, cache_size=4)
    if topic == REQUESTS:
        return RequestsProjection(codec=CODEC, cache_size=4)
    return SlotsProjection(codec=CODEC, cache_size=4)


def raw(topic: str, offset: int, value: bytes | None) -> RawRecord:
    """A record as Kafka would hand it over."""
    return RawRecord(topic, 0, offset, 1_700_000_000_000 + offset, b"key", value)


def encoded(record: StageRecord) -> bytes:
    """A stage record as a worker writes it on its topic."""
    item = to_item(record)
    return CODEC.encode(item.SCHEMA, item.to_avro())


def records_of(topic: str, log: list[object]) -> list[RawRecord]:
    """A partition's log as the records the projection reads."""
    found = []
    for offset, record in enumerate(log):
        assert isinstance(record, Request | Cancel | Ask | Answer | Release | QuotaChange)
        found.append(raw(topic, offset, encoded(record)))
    return found


def expected(out: Out) -> ViewRecord:
    """What must be published for a record a stage wrote (said here again, independently)."""
    value = out.value
    if isinstance(value, Confirmed | Refused | Cancelled):
        return ViewRecord(
            DECISIONS,
            value.application_id,
            decision_record(value),
            event_id=value.decision_id,
            time=value.time,
        )
    assert not out.broadcast
    return ViewRecord(out.topic, out.key, to_item(value))


def first_out(record: Request | Cancel) -> Out:
    """Where a channel's record goes first (what the intake does, without the personal data)."""
    if isinstance(record, Request) and record.phone_key is not None:
        return Out(PHONES, record.phone_key, record)
    return Out(REQUESTS, record.citizen or no_identity_key(record.request_id), record)


def model_run(scenario: Scenario, schedule: list[int]) -> BookingModel:
    """The scenario through the pure model on the schedule (odd choices apply a record again)."""
    model = BookingModel(partitions=2)
    for quota in scenario.quotas:
        model.publish(Out(SLOTS, quota.office, quota, broadcast=True))
    for record in scenario.inputs:
        model.publish(first_out(record))
    model.run(schedule)
    return model


def apply_all(projection: AnyProjection, state: Any, records: list[RawRecord]) -> list[ViewRecord]:
    """Read and apply ``records``, then drain."""
    for record in records:
        item = projection.read(record)
        assert item is not None
        projection.apply(state, item)
    return projection.drain(state, NOW)


def feed(projection: AnyProjection, records: list[RawRecord], cuts: list[int]) -> list[ViewRecord]:
    """The partition's records in chunks ending at ``cuts`` (and the end), each drained and committed."""
    store = Store.in_memory().partition(0)
    state = projection.open(store)
    views: list[ViewRecord] = []
    ends = sorted({cut for cut in cuts if 0 < cut < len(records)} | {len(records)})
    start = 0
    for end in ends:
        views += apply_all(projection, state, records[start:end])
        store.commit(end)
        start = end
    return views


def pending(store: PartitionStore) -> dict[str, dict[str, object]]:
    """Every column's pending batch."""
    return {name: dict(column.pending) for name, column in store.columns.items() if column.pending}


class TestFold:
    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules(), cuts=st.lists(st.integers(0, 24), max_size=6))
    def test_each_partition_writes_its_fold(
        self, scenario: Scenario, schedule: list[int], cuts: list[int]
    ) -> None:
        """Every partition of every stage topic, its log (records read again included) fed through the
        projection in chunks, publishes exactly its fold's records in order, and what the live model wrote.
        """
        model = model_run(scenario, schedule)
        for (topic, partition), log in model.log.items():
            views = feed(projection_of(topic), records_of(topic, log), cuts)
            assert views == [expected(out) for out in fold_partition(topic, log)]
            assert views == [expected(out) for out in model.written[topic, partition]]
            for view in views:  # each one publishable with its contract
                assert CODEC.decode(CODEC.encode(view.view.SCHEMA, view.view.to_avro())).writer

    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules(max_steps=60))
    def test_stored_values_read_back_the_same(self, scenario: Scenario, schedule: list[int]) -> None:
        """Every record read and written, as the store encodes it, decodes to the same record."""
        model = model_run(scenario, schedule)
        for log in model.log.values():
            for record in log:
                assert isinstance(record, Request | Cancel | Ask | Answer | Release | QuotaChange)
                assert decode_record(encode_record(record)) == record
        for outs in model.written.values():
            for out in outs:
                assert decode_out(encode_out(out)) == out
                if isinstance(out.value, Confirmed):
                    booking = Booking(out.value, moved=out.value.reschedules is not None)
                    assert decode_booking(encode_booking(booking)) == booking


class TestCrash:
    @SETTINGS
    @given(
        scenario=scenarios(),
        schedule=schedules(),
        cuts=st.lists(st.tuples(st.integers(1, 24), st.booleans()), min_size=1, max_size=6),
    )
    def test_a_crash_before_the_commit_changes_nothing(
        self, scenario: Scenario, schedule: list[int], cuts: list[tuple[int, bool]]
    ) -> None:
        """At each cut a worker may die after publishing, before committing: its successor opens the
        partition again (the pending batch gone), applies the chunk again and publishes the same records;
        after each commit the partition is opened afresh over what is stored, and the whole run publishes
        what an uninterrupted one does.
        """
        model = model_run(scenario, schedule)
        for (topic, _), log in model.log.items():
            records = records_of(topic, log)
            projection = projection_of(topic)
            uninterrupted = feed(projection, records, [])
            memory = Store.in_memory()
            store = memory.partition(0)
            state = projection.open(store)
            crashes = dict(cuts)
            views: list[ViewRecord] = []
            start = 0
            for end in sorted({cut for cut in crashes if cut < len(records)} | {len(records)}):
                chunk = records[start:end]
                first = apply_all(projection, state, chunk)
                if crashes.get(end, False):
                    store.discard()
                    state = projection.open(store)
                    assert apply_all(projection, state, chunk) == first
                store.commit(end)
                views += first
                store = Store(memory.backend).partition(0)  # a new worker: nothing but what is stored
                assert store.progress == end
                state = projection.open(store)
                start = end
            assert views == uninterrupted


@dataclass
class StoredModel(BookingModel):
    """The pure model with each partition's stage over its own store: committed after every step and
    opened again over what is stored (no cache), so a change not written back to its column is lost.
    """

    stores: dict[tuple[str, int], Store] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The model's queues, then every stage over a store of its own."""
        super().__post_init__()
        for place in self.stages:
            self.stores[place] = Store.in_memory()
            self.stages[place] = self.reopen(place)

    def reopen(self, place: tuple[str, int]) -> Stage:
        """The stage of ``place`` as a new worker would open it."""
        self.stores[place] = Store(self.stores[place].backend)
        partition = self.stores[place].partition(0)
        topic, _ = place
        if topic == PHONES:
            return phone_stage(partition, self.phone_limit, cache_size=0)
        if topic == REQUESTS:
            return citizen_stage(partition, cache_size=0)
        return slot_stage(partition, cache_size=0)

    def step(self, place: tuple[str, int], *, again: bool = False) -> None:
        """One step of the model, committed, and the stage opened again."""
        super().step(place, again=again)
        self.stores[place].partition(0).commit(len(self.log[place]))
        self.stages[place] = self.reopen(place)


class TestStoredStages:
    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules())
    def test_stored_stages_decide_as_the_plain_ones(self, scenario: Scenario, schedule: list[int]) -> None:
        """Every partition's stage over the store, committed and opened again after each record, writes
        what the plain stage writes, on any schedule.
        """
        plain, stored = BookingModel(partitions=2), StoredModel(partitions=2)
        for model in (plain, stored):
            for quota in scenario.quotas:
                model.publish(Out(SLOTS, quota.office, quota, broadcast=True))
            for record in scenario.inputs:
                model.publish(first_out(record))
            model.run(schedule)
        assert stored.written == plain.written
        assert stored.decisions == plain.decisions

    def test_one_reschedule_and_cancellations_survive_the_store(self) -> None:
        """A moved booking stays moved, a freed slot stays free, a cancelled booking stays gone."""
        model = StoredModel()
        found = decisions(
            model,
            request("r1"),
            request("r2", reschedules=booking_code("r1"), day=DAYS[1]),
            request("r3", "nik:b"),
            request("r4", reschedules=booking_code("r2")),
            Cancel("c1", "app-r2", "nik:a", request("r1").office, booking_code("r2"), START),
            request("r5", "nik:c", day=DAYS[1]),
            capacity=1,
        )
        assert isinstance(found["r2"], Confirmed)
        assert isinstance(found["r3"], Confirmed)
        assert reason(found["r4"]) is BookingRefusal.RESCHEDULE_USED
        assert isinstance(found["c1"], Cancelled)
        assert isinstance(found["r5"], Confirmed)
        assert found["r5"].queue_number == 1


class TestRefused:
    def committed(self, topic: str, records: list[StageRecord]) -> tuple[AnyProjection, PartitionStore, Any]:
        """A partition of ``topic`` with ``records`` applied and committed."""
        projection = projection_of(topic)
        store = Store.in_memory().partition(0)
        state = projection.open(store)
        apply_all(projection, state, [raw(topic, n, encoded(r)) for n, r in enumerate(records)])
        store.commit(len(records))
        return projection, store, state

    def quota(self) -> QuotaChange:
        return QuotaChange("q1", OFFICES[0], PassportService.NEW, 2, DAYS[0], START)

    def request(self, request_id: str = "r1", phone: str | None = "phone-1") -> Request:
        return Request(
            request_id,
            f"app-{request_id}",
            "nik:a",
            OFFICES[0],
            DAYS[0],
            PassportService.NEW,
            "WHATSAPP",
            phone,
            False,  # noqa: FBT003 - a record's field
            None,
            START,
        )

    def ask(self) -> Ask:
        return Ask("r1", "nik:a", OFFICES[0], DAYS[0], PassportService.NEW, START)

    @pytest.mark.parametrize(
        ("topic", "wrong"),
        [(PHONES, "ask"), (PHONES, "quota"), (REQUESTS, "ask"), (SLOTS, "request"), (SLOTS, "answer")],
    )
    def test_wrong_kind_refused_before_anything_changed(self, topic: str, wrong: str) -> None:
        """A record of a kind that belongs on another stage topic is refused at ``read`` naming the kind
        and the topic, and by ``apply`` before anything changed.
        """
        first = self.quota() if topic == SLOTS else self.request()
        projection, store, state = self.committed(topic, [first])
        records: dict[str, StageRecord] = {
            "ask": self.ask(),
            "quota": self.quota(),
            "request": self.request(),
            "answer": Answer("r1", "nik:a", 1, None, START, OFFICES[0]),
        }
        record = records[wrong]
        kind = to_item(record).kind.value
        with pytest.raises(WrongTopic) as refused:
            projection.read(raw(topic, 1, encoded(record)))
        assert kind in refused.value.message
        assert topic in refused.value.message
        with pytest.raises(BusError):
            projection.apply(state, record)
        assert pending(store) == {}
        assert projection.drain(state, NOW) == []

    @pytest.mark.parametrize("topic", [PHONES, REQUESTS, SLOTS])
    def test_garbage_refused(self, topic: str) -> None:
        """Bytes that are no BookingItem, another contract, an item without a field its kind needs or
        with a value its contract forbids: each refused, naming no value, and nothing changed.
        """
        projection, store, _ = self.committed(topic, [self.quota() if topic == SLOTS else self.request()])
        quota_set = QuotaSet(
            quota_id="q9",
            office=OFFICES[0],
            service=PassportService.NEW,
            daily_capacity=3,
            from_date=DAYS[0],
            officer_id="officer-1",
        )
        kind = "ASK" if topic == SLOTS else "REQUEST"
        item = to_item(self.ask() if topic == SLOTS else self.request("secret-id"))
        no_day = {**item.to_avro(), "day": None, "request_id": "secret-id"}
        bad_office = {**item.to_avro(), "office": "Not An Office!", "request_id": "secret-id"}
        payloads: list[tuple[bytes | None, type[BusError]]] = [
            (None, MalformedPayload),
            (b"", MalformedPayload),
            (b"garbage", MalformedPayload),
            (encoded(self.quota())[:-3], MalformedPayload),
            (CODEC.encode(quota_set.SCHEMA, quota_set.to_avro()), UnknownSchema),
            (CODEC.encode(ITEM_SCHEMA, no_day), MalformedPayload),
            (CODEC.encode(ITEM_SCHEMA, bad_office), MalformedPayload),
        ]
        if topic != SLOTS:
            pigeon = {**item.to_avro(), "channel": "PIGEON-secret-id"}
            payloads.append((CODEC.encode(ITEM_SCHEMA, pigeon), MalformedPayload))
        if topic == REQUESTS:
            cancel = to_item(Cancel("secret-id", "app-1", "nik:a", OFFICES[0], "CODE", START)).to_avro()
            answer = to_item(Answer("secret-id", "nik:a", None, None, START, OFFICES[0])).to_avro()
            payloads.extend(
                (CODEC.encode(ITEM_SCHEMA, {**wrong, "reason": "Not An Office"}), MalformedPayload)
                for wrong in (cancel, answer)
            )
        for payload, error in payloads:
            with pytest.raises(error) as refused:
                projection.read(raw(topic, 1, payload))
            assert "secret-id" not in refused.value.message
            assert "Not An Office" not in refused.value.message
        with pytest.raises(MalformedPayload) as incomplete:
            projection.read(raw(topic, 1, payloads[5][0]))
        assert f"{kind} item without day" in incomplete.value.message
        assert pending(store) == {}


class Sent:
    """A publisher's future: the record sent, published once ``wait`` is acknowledged."""

    def __init__(self, view: ViewRecord) -> None:
        self.view = view


class Publisher:
    """Keeps what was acknowledged; the ``wait`` calls numbered in ``fail`` are not acknowledged."""

    producer = None

    def __init__(self, fail: set[int]) -> None:
        self.published: list[ViewRecord] = []
        self.waits = 0
        self.fail = fail

    def send(self, topic: str, key: str, view: Any, *, event_id: str | None, time: datetime | None) -> Sent:
        return Sent(ViewRecord(topic, key, view, event_id, time))

    async def wait(self, futures: list[Sent]) -> None:
        self.waits += 1
        if self.waits in self.fail:
            raise RuntimeError("the broker did not acknowledge")
        self.published.extend(future.view for future in futures)


class DeadLetters:
    """Keeps (offset, reason, message) of each refused record."""

    topic = "unit.deadletters"

    def __init__(self) -> None:
        self.letters: list[tuple[int, str, str]] = []

    def send(self, record: RawRecord, error: BusError) -> None:
        self.letters.append((record.offset, error.reason, error.message))


@dataclass
class LocalRuntime(ViewRuntime[Any, StageRecord]):
    """The runtime over one partition whose records are a list."""

    log: list[RawRecord] = field(default_factory=list)

    def end_offset(self, partition: int) -> int:  # noqa: ARG002 - one partition
        return len(self.log)

    def read(self, partition: int, start: int, end: int) -> list[RawRecord]:  # noqa: ARG002 - one partition
        return self.log[start:end]


class TestOnTheRuntime:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenario=scenarios(), schedule=schedules(), fail=st.integers(1, 6), batch=st.integers(1, 5))
    def test_the_core_publishes_the_fold_and_dead_letters_the_rest(
        self, scenario: Scenario, schedule: list[int], fail: int, batch: int
    ) -> None:
        """The runtime's core over a ``passport.requests`` partition with a wrong-kind record and garbage
        in it, the broker failing once, the worker started again over its store: what was acknowledged is
        the fold of the partition's good records, and the two bad ones are dead-lettered with their reasons.
        """
        model = model_run(scenario, schedule)
        log = model.log[REQUESTS, 0]
        records: list[bytes | None] = [encoded(r) for r in log if isinstance(r, Request | Cancel | Answer)]
        bad = {min(1, len(records)): b"garbage", len(records) // 2 + 1: encoded(TestRefused().ask())}
        for offset in sorted(bad):
            records.insert(offset, bad[offset])
        topic_log = [raw(REQUESTS, offset, value) for offset, value in enumerate(records)]
        memory, publisher, letters = Store.in_memory(), Publisher({fail}), DeadLetters()

        def worker() -> LocalRuntime:
            return LocalRuntime(
                settings=BusSettings(topic_prefix="unit."),
                projection=projection_of(REQUESTS),
                store=Store(memory.backend),
                publisher=publisher,  # type: ignore[arg-type]
                batch_size=batch,
                deadletters=letters,  # type: ignore[arg-type]
                log=topic_log,
            )

        runtime = worker()
        runtime.assigned({0})
        try:
            asyncio.run(runtime.core(0).take_over())
        except RuntimeError:
            runtime = worker()  # a new worker process over what the first one stored
            runtime.assigned({0})
            asyncio.run(runtime.core(0).take_over())
        assert runtime.core(0).progress == len(topic_log)
        good = [r for r in log if isinstance(r, Request | Cancel | Answer)]
        assert publisher.published == [expected(out) for out in fold_partition(REQUESTS, good)]
        reasons = {offset: reason for offset, reason, _ in letters.letters}
        assert reasons == {
            offset: "MALFORMED" if value == b"garbage" else "WRONG_TOPIC" for offset, value in bad.items()
        }


class TestQueries:
    def test_phones_recent_passes(self) -> None:
        """How many of a phone's requests count against its limit at a moment, from the stored state."""
        request = TestRefused().request
        later = START + timedelta(hours=1)
        phones = PhonesProjection(PhoneLimit(limit=2), codec=CODEC)
        store = Store.in_memory().partition(0)
        state = phones.open(store)
        for n, moment in enumerate([START, later, later]):
            phones.apply(state, replace(request(f"r{n}"), time=moment))
        assert [v.topic for v in phones.drain(state, NOW)] == [REQUESTS, REQUESTS, DECISIONS]
        store.commit(3)
        state = phones.open(store)
        assert phones.recent(state, "phone-1", later) == 2
        assert phones.recent(state, "phone-1", START + timedelta(hours=24, minutes=30)) == 1
        assert phones.recent(state, "phone-2", later) == 0

    def test_slots_held_and_capacity(self) -> None:
        """An office-day's holds and capacity, from the stored state."""
        day, office, service = DAYS[0], OFFICES[0], PassportService.NEW
        slots = SlotsProjection(codec=CODEC)
        store = Store.in_memory().partition(0)
        state = slots.open(store)
        slots.apply(state, QuotaChange("q", office, service, 2, day, START))
        slots.apply(state, Ask("r1", "nik:a", office, day, service, START))
        store.commit(2)
        state = slots.open(store)
        assert slots.held(state, office, day, service) == 1
        assert slots.capacity(state, office, day, service) == 2
        assert slots.capacity(state, office, day - timedelta(days=1), service) is None
        assert slots.held(state, office, day, PassportService.RENEWAL) == 0
        assert list(state.stage.holds) == [(office, day, service)]
        slots.apply(state, Release("r1", office, day, service, START))
        assert slots.held(state, office, day, service) == 0
        assert state.stage.holds == {}

    def test_citizens_booking_and_pending(self) -> None:
        """A citizen's pending request and active booking, from the stored state."""
        request = TestRefused().request("r1", phone=None)
        citizens = RequestsProjection(codec=CODEC)
        store = Store.in_memory().partition(0)
        state = citizens.open(store)
        citizens.apply(state, request)
        assert citizens.pending(state, "nik:a") == request
        citizens.apply(state, Answer("r1", "nik:a", 1, None, START, OFFICES[0]))
        store.commit(2)
        state = citizens.open(store)
        assert citizens.pending(state, "nik:a") is None
        booked = citizens.booking(state, "nik:a")
        assert booked is not None
        assert booked.queue_number == 1
        assert citizens.booking(state, "nik:b") is None

    def test_a_stage_never_broadcasts(self) -> None:
        """A broadcast from a stage is a defect, raised (the runtime redoes the chunk without the item)."""
        projection = SlotsProjection(codec=CODEC)
        state: StagePartition[Any] = projection.open(Store.in_memory().partition(0))

        class Broadcasting:
            def apply(self, record: object) -> list[Out]:  # noqa: ARG002 - a stage gone wrong
                return [
                    Out(
                        SLOTS,
                        "x",
                        QuotaChange("q", "x", PassportService.NEW, 1, DAYS[0], START),
                        broadcast=True,
                    )
                ]

        state.stage = Broadcasting()
        with pytest.raises(RuntimeError):
            projection.apply(state, QuotaChange("q", OFFICES[0], PassportService.NEW, 1, DAYS[0], START))
