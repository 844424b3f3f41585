"""The live registry processor on the real broker equals the pure fold over the same events."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

from kafka import KafkaProducer

from services.bus.catalogue import create_topics
from services.bus.events import BusEvent
from services.bus.keys import citizen_hasher
from services.bus.publisher import EventMeta, Outgoing, Publisher, producer_config
from services.bus.settings import BusSettings
from services.cli.deadletters import read_deadletters
from services.contracts.base import EventModel
from services.contracts.citizen import StayPurpose, StayReported
from services.contracts.common import Channel
from services.contracts.registry import DecisionEvent, MatchConfirmed, RecordSplit
from services.registry.mapping import citizen_record_view, decision_from_event
from services.registry.model import RegistryModel
from services.registry.topics import CITIZENS, OBSERVATIONS
from services.sim.simulator import TrafficSimulator
from tests.integration.bad_input import bad_records
from tests.integration.registry_harness import RegistryWorker, end_offset_sum, read_views
from tests.unit.registry.builders import SITI

EVENTS = 10_000


def simulated(settings: BusSettings, n: int, seed: int) -> tuple[list[Outgoing], RegistryModel, int]:
    """Encoded events and the in-process model folded over exactly those events."""
    model = RegistryModel(hasher=citizen_hasher(settings))
    batch = TrafficSimulator(seed, start=datetime.now(UTC) - timedelta(days=90)).next_batch(n)
    with Publisher(settings) as publisher:
        outgoing = [publisher.prepare(s.event, EventMeta(source=s.source, time=s.time)) for s in batch]
    observed = 0
    for o, s in zip(outgoing, batch, strict=True):
        if model.apply_event(BusEvent(o.envelope, s.event, o.key.decode())) is not None:
            observed += 1
    return outgoing, model, observed


def send(settings: BusSettings, batch: list[Outgoing]) -> None:
    with Publisher(settings) as publisher:
        publisher.send_prepared(batch)


def wait_for_all(worker: RegistryWorker, settings: BusSettings, observed: int, timeout: float = 240) -> None:
    def caught_up() -> bool:
        end = end_offset_sum(settings, OBSERVATIONS)
        stats = worker.get("/registry/stats")
        return end >= observed and stats is not None and stats["next_offset"] >= end

    worker.wait_until(caught_up, timeout, f"{observed} observations to be folded")


def assert_views_equal_model(
    worker: RegistryWorker, settings: BusSettings, model: RegistryModel, at_least: int = 1000
) -> None:
    views = read_views(settings, CITIZENS)
    records = model.records
    assert len(records) > at_least
    for cid, record in records.items():
        assert views[cid] == citizen_record_view(cid, record), cid
    for cid, view in views.items():
        if cid not in records:
            assert view.merged_into is not None, f"{cid} published but not in the model"
    counts = worker.get("/registry/counts")
    expected = model.counts()
    assert counts == {
        "abroad": expected.abroad,
        "by_office": dict(expected.by_office),
        "by_country": dict(expected.by_country),
    }


class TestLiveRegistry:
    def test_ten_thousand_events_give_the_pure_fold(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """10,000 simulated events from all offices: registry.citizens, the HTTP view and the counts equal
        what the pure fold computes in-process over the same events; a NIK lookup returns one merged record
        with provenance from several offices, and the lookup is recorded without the NIK.
        """
        outgoing, model, observed = simulated(bus_settings, EVENTS, seed=101)
        send(bus_settings, outgoing)
        wait_for_all(worker, bus_settings, observed)
        assert_views_equal_model(worker, bus_settings, model)

        multi = [
            (cid, r)
            for cid, r in model.records.items()
            if len({o.office for o in r.observations.values()}) >= 2 and cid.startswith("cit-")
        ]
        assert multi
        cid, record = multi[0]
        view = citizen_record_view(cid, record)
        status, body = worker.post(
            "/registry/lookup",
            {"citizen_id": cid, "requested_by": "officer-7", "office": "kbri-tokyo", "purpose": "AUDIT"},
        )
        assert status == 200
        assert body == view.model_dump(mode="json")

    def test_sigkill_in_the_middle_changes_nothing(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """The worker is SIGKILLed halfway through the stream and started again: the final registry is the
        same as the pure fold's (at-least-once redelivery is absorbed by event-id idempotence).
        """
        outgoing, model, observed = simulated(bus_settings, EVENTS, seed=202)
        half = len(outgoing) // 2
        send(bus_settings, outgoing[:half])
        worker.wait_until(
            lambda: (worker.get("/registry/stats") or {}).get("next_offset", 0) > observed // 4,
            120,
            "a quarter of the stream",
        )
        worker.kill()
        send(bus_settings, outgoing[half:])
        worker.start()
        wait_for_all(worker, bus_settings, observed)
        assert_views_equal_model(worker, bus_settings, model)

    def test_bad_input_is_deadlettered_and_the_worker_goes_on(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """Garbage, an unknown fingerprint, a truncated body, a missing header, an unknown office and a future
        time, mixed into a stream of valid events: each lands in bus.deadletter with its reason and the
        registry intake as the component; the worker does not crash and the registry equals the pure fold
        over the valid events alone.
        """
        outgoing, model, observed = simulated(bus_settings, 600, seed=303)
        bad = bad_records(outgoing[0])
        producer = KafkaProducer(**producer_config(bus_settings))
        offsets = {}
        for reason, (value, headers) in bad.items():
            meta = producer.send(outgoing[0].topic, value, key=outgoing[0].key, headers=headers).get(30)
            offsets[reason] = meta.offset
        producer.close()
        send(bus_settings, outgoing)
        wait_for_all(worker, bus_settings, observed)
        assert_views_equal_model(worker, bus_settings, model, at_least=100)
        letters = {d.original_offset: d for d in read_deadletters(bus_settings, limit=100)}
        assert {letters[offset].reason for offset in offsets.values()} == {
            "MALFORMED",
            "UNKNOWN_SCHEMA",
            "INVALID_ENVELOPE",
            "UNKNOWN_SOURCE",
            "FUTURE_EVENT",
        }
        assert {d.component for d in letters.values()} == {"registry-intake"}
        assert len(letters) == len(bad)
        assert worker.process is not None
        assert worker.process.poll() is None

    def test_a_lost_store_is_rebuilt_from_the_resolver_topic(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """The worker's disk is lost while its consumer group has already committed the end of the resolver
        topic: started again, it catches up from the topic on its own (nothing new arrives) and its figures
        and lookups equal the pure fold again.
        """
        outgoing, model, observed = simulated(bus_settings, 2_000, seed=404)
        send(bus_settings, outgoing)
        wait_for_all(worker, bus_settings, observed)
        worker.stop()
        shutil.rmtree(worker.datadir)
        worker.start()
        worker.wait_until(
            lambda: (
                (worker.get("/registry/stats") or {}).get("next_offset", 0)
                >= end_offset_sum(bus_settings, OBSERVATIONS)
            ),
            120,
            "the rebuild",
        )
        assert worker.get("/registry/stats")["citizens"] == len(model.records)
        expected = model.counts()
        assert worker.get("/registry/counts") == {
            "abroad": expected.abroad,
            "by_office": dict(expected.by_office),
            "by_country": dict(expected.by_country),
        }
        cid, record = next(iter(model.records.items()))
        status, body = worker.post(
            "/registry/lookup",
            {"citizen_id": cid, "requested_by": "officer-7", "office": "kbri-tokyo", "purpose": "AUDIT"},
        )
        assert status == 200
        assert body == citizen_record_view(cid, record).model_dump(mode="json")

    def test_a_store_ahead_of_its_topic_is_rebuilt(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """The worker's store outlives its topics (they were deleted and created again, here: new, empty
        topics under another prefix): started on them, it does not skip the new history as "already
        applied" but clears the store and follows the new topics.
        """
        outgoing, _, observed = simulated(bus_settings, 800, seed=505)
        send(bus_settings, outgoing)
        wait_for_all(worker, bus_settings, observed)
        worker.stop()
        fresh = bus_settings.model_copy(update={"topic_prefix": bus_settings.topic_prefix + "again."})
        create_topics(fresh)
        worker.settings = fresh
        worker.start()
        outgoing, model, observed = simulated(fresh, 300, seed=606)
        send(fresh, outgoing)
        wait_for_all(worker, fresh, observed)
        assert worker.get("/registry/stats")["citizens"] == len(model.records)
        expected = model.counts()
        assert worker.get("/registry/counts")["abroad"] == expected.abroad

    def test_officer_decisions_merge_and_split_a_weak_match(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """Two stay reports of one person without a NIK, at two offices: never merged on the weak match, but
        offered as a candidate; an officer's MatchConfirmed on registry.decisions merges them (the absorbed id
        is published with merged_into), a RecordSplit separates them again; at each step the live registry
        equals the pure model given the same events and decisions.
        """
        model = RegistryModel(hasher=citizen_hasher(bus_settings))
        now = datetime.now(UTC)

        def publish(payload: EventModel, source: str, when: datetime) -> None:
            with Publisher(bus_settings) as publisher:
                outgoing = publisher.prepare(payload, EventMeta(source=source, time=when))
                publisher.send_prepared([outgoing])
            event = BusEvent(outgoing.envelope, payload, outgoing.key.decode())
            if isinstance(payload, DecisionEvent):
                model.apply_decision(decision_from_event(payload))
            else:
                model.apply_event(event)

        def weak_stay(office: str, ref: str, city: str) -> StayReported:
            return StayReported(
                office=office,
                office_record_ref=ref,
                personal=SITI.personal(nik=False),
                purpose=StayPurpose.WORK,
                channel=Channel.WEB,
                country="US",
                city=city,
                arrival_date=date(2025, 9, 1),
            )

        publish(weak_stay("kjri-new-york", "NY-W1", "New York"), "kjri-new-york", now - timedelta(days=2))
        publish(
            weak_stay("kbri-washington", "DC-W2", "Washington"), "kbri-washington", now - timedelta(days=1)
        )
        worker.wait_until(
            lambda: len((worker.get("/registry/candidates") or {}).get("candidates", [])) == 1,
            60,
            "the candidate match",
        )
        candidate = worker.get("/registry/candidates")["candidates"][0]
        assert len(set(candidate["citizen_ids"])) == 2
        assert candidate["candidate_id"] in model.candidates

        confirm = MatchConfirmed(
            decision_id="dec-it-confirm-1",
            candidate_id=candidate["candidate_id"],
            anchors=tuple(candidate["anchors"]),
            office="kemlu-pwni",
            reason="same-passport-photo",
            officer_id="officer-7",
        )
        publish(confirm, "kemlu-pwni", now)
        worker.wait_until(
            lambda: worker.get("/registry/candidates") == {"candidates": []} and len(model.records) == 1,
            60,
            "the confirmed merge",
        )
        (survivor, merged), *_ = model.records.items()
        assert len(merged.observations) == 2
        wait_for_views(worker, bus_settings, model)
        views = read_views(bus_settings, CITIZENS)
        absorbed = next(cid for cid in candidate["citizen_ids"] if cid != survivor)
        assert views[absorbed].merged_into == survivor

        split = RecordSplit(
            decision_id="dec-it-split-1",
            citizen_id=survivor,
            merge_id=None,
            moved=(candidate["anchors"][1],),
            kept=(candidate["anchors"][0],),
            office="kemlu-pwni",
            reason="different-parents",
            officer_id="officer-7",
        )
        publish(split, "kemlu-pwni", now)
        assert len(model.records) == 2
        wait_for_views(worker, bus_settings, model)


def wait_for_views(worker: RegistryWorker, settings: BusSettings, model: RegistryModel) -> None:
    """Until registry.citizens holds exactly the model's records (and merged-away ids marked so)."""

    def agree() -> bool:
        views = read_views(settings, CITIZENS)
        live = {cid: v for cid, v in views.items() if v.merged_into is None}
        return live == {cid: citizen_record_view(cid, r) for cid, r in model.records.items()}

    worker.wait_until(agree, 60, "registry.citizens to equal the model")
