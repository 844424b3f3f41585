"""The status view as the runtime drives it, without Kafka: records of ``passport.status`` read, applied,
drained and committed partition by partition over the in-memory store; figures checked against figures
computed from the raw decisions and events; a reopened store holds the same state; facts delivered again
change nothing; no view record carries personal data.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bus.decoder import RawRecord
from services.bus.errors import BusError, UnknownSchema
from services.contracts.common import Channel, CurrencyCode
from services.contracts.passport import (
    BiometricsCaptured,
    Collected,
    PassportPrinted,
    PassportService,
    PaymentMethod,
    PaymentReceived,
    ReadyForPickup,
)
from services.contracts.passport_booking import (
    NOTIFICATIONS_TOPIC,
    AppointmentRequested,
    NotificationRequestedModel,
)
from services.contracts.passport_items import STATUS_TOPIC, StatusItemModel
from services.contracts.passport_views import (
    APPLICATIONS_TOPIC,
    FIGURES_TOPIC,
    ApplicationStatus,
    PassportApplicationModel,
    PassportFiguresModel,
)
from services.passport.booking import Confirmed, Decision
from services.passport.decisions import decision_record
from services.passport.figures import median_days, sum_partitions
from services.passport.status import StepRefused
from services.passport.status_items import _codec, encode_status_item, status_item
from services.passport.status_projection import StatusPartition, StatusProjection
from services.runtime.projection import ViewRecord
from services.runtime.store import PartitionStore, Store
from tests.unit.passport.oracle import oracle_figures, oracle_median
from tests.unit.passport.strategies import Scenario, scenarios, schedules
from tests.unit.passport.test_protocol import play
from tests.unit.passport.test_status_items import (
    BORN,
    PERSON,
    PHONE,
    assert_no_personal_data,
    cancelled,
    confirmed,
    enveloped,
    hasher,
    refused,
    submitted,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2030, 1, 1, tzinfo=UTC)
OFFICES = ("kanim-medan", "kanim-batam")
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CURRENCY: CurrencyCode = "IDR"


@dataclass
class Driver:
    """One projection over one in-memory store, fed partition by partition as the runtime's core would."""

    partitions: int = 1
    projection: StatusProjection = field(default_factory=StatusProjection)
    store: Store = field(default_factory=Store.in_memory)
    states: dict[int, StatusPartition] = field(default_factory=dict)
    published: list[ViewRecord] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def partition_of(self, application_id: str) -> int:
        """A stable partition per application id (the topic's key)."""
        return zlib.crc32(application_id.encode()) % self.partitions

    def state(self, partition: int) -> StatusPartition:
        """The open state of ``partition``."""
        if partition not in self.states:
            self.states[partition] = self.projection.open(self.store.partition(partition))
        return self.states[partition]

    def feed(self, items: list[StatusItemModel], chunk: int = 3) -> None:
        """Each item as the next record of its partition: read, apply (a refusal noted), then drain and
        commit every ``chunk`` records of a partition (the views published before the progress is stored).
        """
        pending: Counter[int] = Counter()
        for item in items:
            partition = self.partition_of(item.application_id)
            state, store = self.state(partition), self.store.partition(partition)
            record = RawRecord(
                STATUS_TOPIC,
                partition,
                store.progress + pending[partition],
                0,
                item.application_id.encode(),
                encode_status_item(item),
            )
            try:
                self.projection.apply(state, self.projection.read(record))
            except BusError as refusal:
                self.refused.append(refusal.reason)
            pending[partition] += 1
            if pending[partition] == chunk:
                self.commit(partition, pending.pop(partition))
        for partition, count in sorted(pending.items()):
            self.commit(partition, count)

    def commit(self, partition: int, count: int) -> None:
        """Drain the partition's views, then store its state with ``count`` more records applied."""
        store = self.store.partition(partition)
        self.published.extend(self.projection.drain(self.states[partition], NOW))
        store.commit(store.progress + count)

    def latest(self, topic: str) -> dict[str, Any]:
        """The latest view per key on ``topic`` (what a compacted topic's reader holds)."""
        return {record.key: record.view for record in self.published if record.topic == topic}

    def figures(self) -> dict[tuple[str, date], Any]:
        """The figures across partitions, as a reader sums them."""
        return sum_partitions(self.latest(FIGURES_TOPIC).values())


def decision_items(decisions: list[Decision]) -> list[StatusItemModel]:
    """The status items the intake forwards for the decisions, in the order written."""
    items = [status_item(decision_record(decision), hasher) for decision in decisions]
    return [item for item in items if item is not None]


@dataclass(frozen=True)
class Life:
    """One application's steps: how many are done, from which office, days between them."""

    number: int
    office: str
    done: int
    gaps: tuple[int, ...]

    @property
    def application_id(self) -> str:
        return f"life-{self.number}"

    def days(self) -> list[int]:
        """Day offsets from T0 of each step done."""
        out, day = [], 0
        for gap in self.gaps[: self.done]:
            day += gap
            out.append(day)
        return out

    def items(self) -> list[StatusItemModel]:
        """The status items of its steps, in order."""
        app, office = self.application_id, self.office
        days = self.days()
        payloads: list[Any] = [
            submitted(PERSON).model_copy(update={"application_id": app, "office": office}),
            BiometricsCaptured(
                application_id=app, office=office, fingerprints=True, photo=True, officer_id="o"
            ),
            PaymentReceived(
                application_id=app,
                office=office,
                amount_minor=1,
                currency=CURRENCY,
                receipt_ref="R",
                method=PaymentMethod.QRIS,
            ),
            PassportPrinted(
                application_id=app,
                office=office,
                printed_at=office,
                personal=PERSON.model_copy(update={"passport_number": "E1234567"}),
                issue_date=date(2026, 3, 1),
                expiry_date=date(2036, 3, 1),
                officer_id="o",
            ),
            ReadyForPickup(
                application_id=app,
                office=office,
                pickup_from=(T0 + timedelta(days=days[4])).date() if len(days) > 4 else T0.date(),
                channel=Channel.APP,
            ),
            Collected(application_id=app, office=office, collected_by_proxy=False, officer_id="o"),
        ]
        out = []
        for index, (payload, day) in enumerate(zip(payloads, days, strict=False)):
            item = status_item(enveloped(payload, f"{app}-{index}", T0 + timedelta(days=day)), hasher)
            assert item is not None
            out.append(item)
        return out


LIVES = st.lists(
    st.builds(
        Life,
        number=st.integers(0, 10_000),
        office=st.sampled_from(OFFICES),
        done=st.integers(0, 6),
        gaps=st.lists(st.integers(0, 4), min_size=6, max_size=6).map(tuple),
    ),
    max_size=12,
    unique_by=lambda life: life.number,
)


def oracle_ready(lives: list[Life]) -> tuple[Counter[tuple[str, date]], dict[tuple[str, date], list[int]]]:
    """From the raw steps: passports ready and not collected, and the days submission-to-ready, by the
    office and the day they became ready.
    """
    waiting: Counter[tuple[str, date]] = Counter()
    days: dict[tuple[str, date], list[int]] = {}
    for life in lives:
        if life.done < 5:
            continue
        offsets = life.days()
        ready = (T0 + timedelta(days=offsets[4])).date()
        days.setdefault((life.office, ready), []).append(offsets[4] - offsets[0])
        if life.done == 5:
            waiting[life.office, ready] += 1
    return waiting, days


class TestFigures:
    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules(), partitions=st.integers(1, 3))
    def test_booking_figures_equal_the_oracle(
        self, scenario: Scenario, schedule: list[int], partitions: int
    ) -> None:
        """Bookings and refusals per office-day, summed over partitions, equal those of the raw decisions
        (decisions written again included); slots in use too, except a reschedule's freed slot whose
        booking is in another partition (its decision names no day).
        """
        decisions = play(scenario, schedule).decisions
        driver = Driver(partitions)
        driver.feed(decision_items(decisions))
        assert driver.refused == []
        figures = driver.figures()
        expected = oracle_figures(decisions)
        assert {place for place, found in figures.items() if found.bookings or found.refusals} == {
            place for place, (bookings, _, refusals) in expected.items() if bookings or refusals
        }
        crossed = _reschedules_across(decisions, driver)
        for place, (bookings, in_use, refusals) in expected.items():
            found = figures[place]
            assert (found.bookings, +found.refusals) == (bookings, +refusals)
            assert found.quota_used == in_use + crossed[place]

    @SETTINGS
    @given(scenario=scenarios(), schedule=schedules(), order=st.randoms(use_true_random=False))
    def test_order_does_not_matter(self, scenario: Scenario, schedule: list[int], order: Any) -> None:
        """In one partition, the decisions in any order give the same figures (a cancellation before its
        confirmation included).
        """
        items = decision_items(play(scenario, schedule).decisions)
        first, second = Driver(), Driver()
        first.feed(items)
        shuffled = list(items)
        order.shuffle(shuffled)
        second.feed(shuffled, chunk=2)
        assert first.figures() == second.figures()

    @SETTINGS
    @given(lives=LIVES, partitions=st.integers(1, 3))
    def test_ready_figures_equal_the_oracle(self, lives: list[Life], partitions: int) -> None:
        """Ready-not-collected and the days-to-ready histogram per office and ready day, summed over
        partitions, equal what the raw steps say; medians exact.
        """
        driver = Driver(partitions)
        driver.feed([item for life in lives for item in life.items()])
        assert driver.refused == []
        waiting, days = oracle_ready(lives)
        figures = driver.figures()
        for place, found in figures.items():
            assert found.ready_not_collected == waiting[place]
            assert sorted(found.ready_days.elements()) == sorted(days.get(place, []))
        for place, values in days.items():
            assert median_days(figures[place].ready_days) == oracle_median(values)


def _reschedules_across(decisions: list[Decision], driver: Driver) -> Counter[tuple[str, date]]:
    """Per office-day, the moved bookings whose rescheduling decision is in another partition (computed
    from the raw decisions: which booking a reschedule moved, and where each application's records go).
    """
    seen: set[str] = set()
    booked: dict[str, Confirmed] = {}
    crossed: Counter[tuple[str, date]] = Counter()
    for decision in decisions:
        if decision.request_id in seen or not isinstance(decision, Confirmed):
            seen.add(decision.request_id)
            continue
        seen.add(decision.request_id)
        booked[decision.booking_code] = decision
        moved = booked.get(decision.reschedules or "")
        if moved is not None and driver.partition_of(moved.application_id) != driver.partition_of(
            decision.application_id
        ):
            crossed[moved.office, moved.day] += 1
    return crossed


def life_cycle() -> list[StatusItemModel]:
    """One application from request to collection, with the applicant's full personal data in its events,
    a refused request and a confirmation between.
    """
    request = AppointmentRequested(
        request_id="r1",
        application_id="app-1",
        office="kanim-surabaya",
        wished_date=date(2026, 3, 2),
        service=PassportService.RENEWAL,
        channel=Channel.WHATSAPP,
        personal=PERSON,
    )
    items = [status_item(enveloped(request, "q1", T0 - timedelta(days=2)), hasher)]
    items.append(status_item(refused("r0", time=T0 - timedelta(days=3)), hasher))
    items.append(status_item(confirmed("r1", time=T0 - timedelta(days=2)), hasher))
    life = Life(1, "kanim-surabaya", 6, (0, 0, 1, 1, 1, 2))
    steps = [item.model_copy(update={"application_id": "app-1"}) for item in life.items()]
    return [item for item in items if item is not None] + steps


def view_bytes(record: ViewRecord) -> bytes:
    """The Avro bytes the runtime's publisher would send for ``record``."""
    return _codec().encode(record.view.SCHEMA, record.view.to_avro())


class TestPublished:
    def test_applications_notifications_figures_on_their_topics_and_keys(self) -> None:
        """Applications keyed by id, notifications by recipient key with the notification id as ce_id,
        figures by office|day|partition; the application ends COLLECTED.
        """
        driver = Driver()
        driver.feed(life_cycle(), chunk=100)
        assert [record.topic for record in driver.published] == sorted(
            (record.topic for record in driver.published),
            key=[APPLICATIONS_TOPIC, NOTIFICATIONS_TOPIC, FIGURES_TOPIC].index,
        )
        (application,) = [r for r in driver.published if r.topic == APPLICATIONS_TOPIC]
        assert application.key == "app-1"
        assert isinstance(application.view, PassportApplicationModel)
        assert application.view.status is ApplicationStatus.COLLECTED
        assert application.view.booking_code == "BK-r1"
        notes = [r for r in driver.published if r.topic == NOTIFICATIONS_TOPIC]
        assert len(notes) == 7  # booked and the six steps (the refusal of an older request is stale)
        for note in notes:
            assert isinstance(note.view, NotificationRequestedModel)
            assert note.key == note.view.recipient_key == hasher(PHONE)
            assert note.event_id == note.view.notification_id
        figures = [r for r in driver.published if r.topic == FIGURES_TOPIC]
        assert {r.key for r in figures} == {
            "kanim-surabaya|2026-03-09|0",
            "kanim-surabaya|2026-03-05|0",
        }
        for record in figures:
            assert isinstance(record.view, PassportFiguresModel)
            assert record.key == record.view.record_key

    def test_no_personal_data_in_any_view(self) -> None:
        """No NIK, name, birth date (nor its key), phone or e-mail in any published record or key."""
        driver = Driver()
        driver.feed(life_cycle())
        assert driver.published
        for record in driver.published:
            assert_no_personal_data(view_bytes(record), keys=True)
            assert_no_personal_data(record.key.encode(), keys=True)

    def test_application_is_read_from_the_store(self) -> None:
        """``application`` answers from the store; the birth date's key is there for the answer."""
        driver = Driver()
        driver.feed(life_cycle())
        app = driver.projection.application(driver.state(0), "app-1")
        assert app is not None
        assert app.birth_date_key == hasher(BORN.isoformat())
        assert driver.projection.application(driver.state(0), "app-2") is None


class TestStored:
    @SETTINGS
    @given(scenario=scenarios(max_inputs=12), schedule=schedules(60), lives=LIVES)
    def test_reopened_store_holds_the_same_and_duplicates_change_nothing(
        self, scenario: Scenario, schedule: list[int], lives: list[Life]
    ) -> None:
        """Open a fresh view over the committed store: the same applications and figures; every record
        delivered again then publishes nothing and stores nothing new.
        """
        items = decision_items(play(scenario, schedule).decisions)
        items += [item for life in lives for item in life.items()]
        driver = Driver()
        driver.feed(items)
        state = driver.state(0)
        fresh = PartitionStore(driver.store.backend, 0)  # a restart: a new store object over the same data
        reopened = driver.projection.open(fresh)
        ids = {item.application_id for item in items}
        for application_id in ids:
            assert driver.projection.application(reopened, application_id) == driver.projection.application(
                state, application_id
            )
        assert dict(reopened.columns.figures.items()) == dict(state.columns.figures.items())
        assert reopened.clock == state.clock
        before = len(driver.published)
        driver.states[0] = reopened
        driver.store._partitions[0] = fresh
        driver.feed(items)
        assert len(driver.published) == before
        assert all(not column.pending for column in fresh.columns.values())
        assert fresh.progress == len(items) * 2


class TestRefusals:
    @pytest.mark.parametrize("value", [None, b"", b"\xc3\x01garbage", b"{}"])
    def test_what_is_no_item_is_refused_at_read(self, value: bytes | None) -> None:
        """A record that is no StatusItem is refused with a BusError (dead-lettered by the runtime)."""
        with pytest.raises(BusError):
            StatusProjection().read(RawRecord(STATUS_TOPIC, 0, 0, 0, b"k", value))

    def test_another_contract_is_refused(self) -> None:
        """A decision's own bytes on this topic are another contract: UNKNOWN_SCHEMA."""
        data = _codec().encode(confirmed().SCHEMA, confirmed().to_avro())
        with pytest.raises(UnknownSchema):
            StatusProjection().read(RawRecord(STATUS_TOPIC, 0, 0, 0, b"k", data))

    def test_a_malformed_item_names_no_value(self) -> None:
        """An item with an unknown office is refused naming the field, not the value."""
        item = status_item(confirmed(), hasher)
        assert item is not None
        record = {**item.to_avro(), "office": "kbri-atlantis"}
        data = _codec().encode(item.SCHEMA, record)
        with pytest.raises(BusError) as caught:
            StatusProjection().read(RawRecord(STATUS_TOPIC, 0, 0, 0, b"k", data))
        assert "atlantis" not in str(caught.value)

    def test_step_out_of_order_is_refused_before_any_change(self) -> None:
        """A step that does not fit raises StepRefused (a BusError) and leaves nothing pending."""
        driver = Driver()
        steps = Life(1, "kanim-medan", 3, (0, 1, 1, 1, 1, 1)).items()
        driver.feed(steps[:1])
        state = driver.state(0)
        with pytest.raises(StepRefused) as caught:
            driver.projection.apply(state, steps[2])
        assert isinstance(caught.value, BusError)
        assert caught.value.reason == "OUT_OF_ORDER"
        assert all(not column.pending for column in state.columns.partition.columns.values())
        assert driver.projection.drain(state, NOW) == []


class TestFreedOnce:
    def test_a_reschedule_confirmed_after_its_booking_was_cancelled_frees_nothing_more(self) -> None:
        """A reschedule asked while the booking was active may be confirmed after the booking's cancellation
        (the protocol allows it): the booking is freed once, by the cancellation.
        """
        day = date(2026, 3, 2)
        items = [
            status_item(confirmed("r2", day, application_id="app-2", office="kanim-surabaya"), hasher),
            status_item(
                cancelled("r24", "BK-r2", day, application_id="app-24", office="kanim-surabaya"), hasher
            ),
            status_item(confirmed("r7", day, application_id="app-7", reschedules="BK-r2"), hasher),
        ]
        driver = Driver()
        driver.feed([item for item in items if item is not None])
        found = driver.figures()["kanim-surabaya", day]
        assert (found.bookings, found.freed, found.quota_used) == (2, 1, 1)  # r2 freed once; r7 holds
