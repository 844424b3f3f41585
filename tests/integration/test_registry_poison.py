"""The four records that used to stop the registry, against a live worker on the real broker: each is
dead-lettered (or refused and recorded) and a valid event published after it is folded, live and after a
restart; the intake never starts over.
"""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer

from services.bus.publisher import EventMeta, Outgoing, Publisher
from services.bus.settings import BusSettings
from services.cli.deadletters import read_deadletters
from services.contracts.base import EventModel
from services.contracts.citizen import StayReported
from services.contracts.registry import MatchConfirmed, MatchRejected
from services.sim.simulator import TrafficSimulator
from tests.integration.registry_harness import RegistryWorker
from tests.integration.test_poison import LIMIT, RawName, raw_producer


def stays(settings: BusSettings, count: int, seed: int) -> list[tuple[Outgoing, str]]:
    """``count`` stay reports with a NIK, encoded, each with its NIK (to look the citizen up)."""
    now = datetime.now(UTC)
    sim = TrafficSimulator(seed, start=now - timedelta(days=60))
    found = [
        s
        for s in sim.next_batch(3000)
        if isinstance(s.event, StayReported) and s.event.personal is not None and s.event.personal.nik
    ][:count]
    with Publisher(settings) as publisher:
        return [
            (
                publisher.prepare(s.event, EventMeta(source=s.source, time=min(s.time, now))),
                s.event.personal.nik,
            )
            for s in found
        ]


def publish(settings: BusSettings, outgoing: Outgoing) -> None:
    with Publisher(settings) as publisher:
        publisher.send_prepared([outgoing])


def folded(worker: RegistryWorker, nik: str) -> bool:
    """Whether the live registry answers a lookup of ``nik`` (the event naming it was folded)."""
    status, _ = worker.post(
        "/registry/lookup", {"nik": nik, "requested_by": "test", "office": "kemlu-pusat", "purpose": "AUDIT"}
    )
    return status == 200


def send_raw(producer: KafkaProducer, good: Outgoing, **change: object) -> int:
    """Send ``good`` with a changed value or headers, in a producer batch of its own; returns its offset."""
    value = change.get("value", good.value)
    headers = change.get("headers", good.headers)
    meta = producer.send(good.topic, value, key=good.key, headers=headers).get(30)
    producer.flush(30)
    return int(meta.offset)


def letter_at(settings: BusSettings, offset: int, topic: str) -> object:
    return next(
        (
            d
            for d in read_deadletters(settings, limit=1000)
            if d.original_offset == offset and d.topic == topic
        ),
        None,
    )


class TestPoisonOnALiveRegistry:
    @pytest.mark.parametrize(
        ("stop", "reason"),
        [
            ("year-one ce_time", "INVALID_ENVELOPE"),
            ("just under the size limit", "MALFORMED"),
            ("a header name that is not UTF-8", "CORRUPT_RECORD"),
        ],
    )
    def test_a_poison_record_is_dead_lettered_and_the_next_event_folded(
        self, worker: RegistryWorker, bus_settings: BusSettings, stop: str, reason: str
    ) -> None:
        """The poison record lands in bus.deadletter with its reason (registry intake), the valid event sent
        after it is folded, and the intake did not start over once.
        """
        (good, _), (after, nik) = stays(bus_settings, 2, seed=41)
        producer = raw_producer(bus_settings)
        try:
            if stop == "year-one ce_time":
                headers = [
                    (k, b"0001-01-01T00:00:00+01:00" if k == "ce_time" else v) for k, v in good.headers
                ]
                offset = send_raw(producer, good, headers=headers)
            elif stop == "just under the size limit":
                offset = send_raw(producer, good, value=b"\x00" * (LIMIT - 4096))
            else:
                headers = [*good.headers, (RawName(b"x-\xff\xfe".decode("utf-8", "surrogateescape")), b"1")]
                offset = send_raw(producer, good, headers=headers)
        finally:
            producer.close()
        publish(bus_settings, after)
        worker.wait_until(lambda: folded(worker, nik), 60, "the valid event after the poison record")
        letter = letter_at(bus_settings, offset, good.topic)
        assert letter is not None
        assert letter.reason == reason
        assert letter.component == "registry-intake"
        intake = (worker.get("/stats") or {})["intake"]
        assert intake["restarts"] == 0
        assert intake["dead_lettered"] >= 1

    def test_a_reused_decision_id_is_refused_live_and_at_every_restart(
        self, worker: RegistryWorker, bus_settings: BusSettings
    ) -> None:
        """MatchConfirmed dec-h-4, then MatchRejected dec-h-4: both publish, the second is refused and
        counted; the worker restarts (rebuilding its index from history) and is ready, twice, and an event
        published after each restart is folded.
        """
        anchors = ("nik:" + "a" * 64, "nik:" + "b" * 64)
        fields: dict[str, object] = {
            "decision_id": "dec-h-4",
            "candidate_id": "cand-" + "0" * 20,
            "anchors": anchors,
            "office": "kemlu-pwni",
            "reason": "test",
            "officer_id": "officer-7",
        }
        decisions: list[EventModel] = [MatchConfirmed(**fields), MatchRejected(**fields)]
        with Publisher(bus_settings) as publisher:
            for decision in decisions:
                publisher.publish(decision, EventMeta(source="kemlu-pwni"))
        worker.wait_until(
            lambda: "registry_decision_conflicts_total 1.0" in metrics_text(worker),
            60,
            "the refused decision",
        )
        for round_, (after, nik) in enumerate(stays(bus_settings, 2, seed=43)):
            worker.stop()
            worker.start()
            worker.wait_until(
                lambda: (worker.get("/stats") or {}).get("ready") is True, 60, f"ready ({round_})"
            )
            publish(bus_settings, after)
            worker.wait_until(lambda nik=nik: folded(worker, nik), 60, f"an event after restart {round_}")
        assert worker.process is not None
        assert worker.process.poll() is None


def metrics_text(worker: RegistryWorker) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as answer:
        return answer.read().decode()
