"""The replay's pure driver: as-of on either clock, dead letters skipped, chunking and arrival order that
change nothing, rows as the contracts' JSON; and the access audit's naming of a citizen. No broker.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from services.audit.access import access_rows, citizen_of, same_person
from services.audit.replay import Reading, Replayer, Row, record_time_ms
from services.audit.views import partition_for, plan
from services.bus.decoder import RawRecord
from services.bus.keys import citizen_hasher
from services.bus.publisher import EventMeta, Publisher
from services.bus.settings import BusSettings
from services.contracts.registry import AccessPurpose, LookupKind, RecordAccessedModel
from services.deadletters.projection import refusal_of
from services.registry.identifiers import citizen_id_for, nik_identifier
from services.runtime.store import Store
from services.sim.simulator import TrafficSimulator

SETTINGS = BusSettings(citizen_key=SecretStr("replay-unit-key"), citizen_key_id="dev-1", partitions=3)
START = datetime(2026, 6, 1, tzinfo=UTC)
A, B, C = ("cit-" + digit * 20 for digit in "abc")
BASE_MS = int(datetime(2026, 9, 1, tzinfo=UTC).timestamp() * 1000)
"""When the history was appended: after every simulated event (an event is judged against its log time)."""


def history(count: int = 600, seed: int = 11) -> list[RawRecord]:
    """Simulated events as the broker would hold them: on their topics' partitions by key, appended 10 ms
    apart in the order published (the log time unrelated to the events' own time).
    """
    simulator = TrafficSimulator(seed, start=START, population=300, pseudonym=citizen_hasher(SETTINGS))
    publisher = Publisher(SETTINGS, producer=object())
    records: list[RawRecord] = []
    offsets: Counter[tuple[str, int]] = Counter()
    while len(records) < count:
        for simulated in simulator.next_batch(200):
            out = publisher.prepare(simulated.event, EventMeta(source=simulated.source, time=simulated.time))
            partition = partition_for(out.key, SETTINGS.partitions)
            offset = offsets[out.topic, partition]
            offsets[out.topic, partition] += 1
            stamp = BASE_MS + 10 * len(records)
            records.append(RawRecord(out.topic, partition, offset, stamp, out.key, out.value, out.headers))
    return records[:count]


def replayed(view: str, records: list[RawRecord], **options: object) -> list[Row]:
    replayer = Replayer(plan(view, SETTINGS), **options)
    replayer.feed_all(records)
    return replayer.finish(datetime.fromtimestamp(BASE_MS / 1000, UTC) + timedelta(days=1))


def final(rows: list[Row]) -> dict[tuple[str, str], dict[str, object]]:
    """The rows without what depends on when the projection was drained: the figures' ``as_of`` (the drain's
    moment) and figures at zero (a figure drained between going up and back down).
    """
    return {
        (row.topic, row.key): {k: v for k, v in row.value.items() if k != "as_of"}
        for row in rows
        if not (row.topic == "registry.counts" and row.value["citizens"] == 0)
    }


def standing(rows: list[Row]) -> dict[tuple[str, str], dict[str, object]]:
    """``final``, without merged-away ids too: which ids existed on the way depends on the order the
    identifiers arrived in.
    """
    return {where: value for where, value in final(rows).items() if value.get("merged_into") is None}


@pytest.fixture(scope="module")
def records() -> list[RawRecord]:
    return history()


class TestReplayer:
    def test_rows_are_the_views_contracts_as_json(self, records):
        """The registry's rows are citizen records and counts, keyed as the live topics key them."""
        rows = replayed("registry", records)
        topics = Counter(row.topic for row in rows)
        assert topics["registry.citizens"] > 50
        assert topics["registry.counts"] > 0
        for row in rows:
            if row.topic == "registry.citizens":
                assert row.value["citizen_id"] == row.key

    @pytest.mark.parametrize("view", ["registry", "protection", "passport"])
    def test_items_taken_from_the_transform_equal_the_items_read_back(self, view):
        """The replay applies the item its transform encoded, not the bytes read back as the live core
        reads them: the same rows and counts either way, over a history with merges and every event type.
        """
        longer = history(4_000, seed=5)
        clock = datetime.fromtimestamp(BASE_MS / 1000, UTC) + timedelta(days=1)
        trusting = Replayer(plan(view, SETTINGS))
        reading = Replayer(plan(view, SETTINGS, encoded=True), trust_items=False)
        for replayer in (trusting, reading):
            replayer.feed_all(longer)
        assert trusting.counts.items > 500
        assert trusting.finish(clock) == reading.finish(clock)
        assert trusting.counts == reading.counts

    @pytest.mark.parametrize("view", ["registry", "protection", "passport"])
    def test_state_kept_as_objects_equals_state_kept_encoded(self, view):
        """The replay's store keeps values unencoded; the live worker's encodes each at every commit and
        decodes what it reads back: the same rows either way.
        """
        longer = history(4_000, seed=5)
        clock = datetime.fromtimestamp(BASE_MS / 1000, UTC) + timedelta(days=1)
        kept = Replayer(plan(view, SETTINGS), chunk=50)
        encoded = Replayer(plan(view, SETTINGS), chunk=50, store=Store.in_memory())
        for replayer in (kept, encoded):
            replayer.feed_all(longer)
        assert kept.counts.applied > 500
        assert kept.finish(clock) == encoded.finish(clock)

    def test_chunking_changes_nothing(self, records):
        """Drained every 7 records or only at the end, the final state is the same."""
        assert final(replayed("registry", records, chunk=7)) == final(
            replayed("registry", records, chunk=10**9)
        )

    def test_arrival_order_changes_no_citizen(self, records):
        """Fed topic by topic instead of by log time, the registry's citizens and figures agree."""
        by_topic = sorted(records, key=lambda r: (r.topic, r.partition, r.offset))
        assert standing(replayed("registry", by_topic)) == standing(replayed("registry", records))

    def test_as_of_on_the_broker_clock_is_the_history_appended_by_then(self, records):
        """As of the 300th record's log time: exactly the view of the first 300 records."""
        cut = records[299].timestamp
        as_of = replayed("protection", records, as_of_ms=cut)
        assert as_of == replayed("protection", records[:300])
        assert as_of != replayed("protection", records)

    def test_as_of_on_the_events_clock_reads_ce_time(self, records):
        """With event time, what happened by then counts, whenever it was appended."""
        times = sorted(record_time_ms(r, Reading.EVENT) for r in records)
        cut = times[len(times) // 2]
        early = [r for r in records if record_time_ms(r, Reading.EVENT) <= cut]
        assert 0 < len(early) < len(records)
        got = replayed("registry", records, as_of_ms=cut, reading=Reading.EVENT)
        assert got == replayed("registry", early)

    def test_records_the_intake_refused_are_skipped(self, records):
        """A record named by a dead letter of the intake is left out as if it was never there."""
        gone = records[10]
        skip = {(gone.topic, gone.partition, gone.offset)}
        replayer = Replayer(plan("protection", SETTINGS), skip=skip)
        replayer.feed_all(records)
        assert replayer.counts.deadlettered == 1
        expected = replayed("protection", [r for r in records if r is not gone])
        assert replayer.finish(datetime.fromtimestamp(BASE_MS / 1000, UTC) + timedelta(days=1)) == expected

    def test_a_record_the_decoder_refuses_is_counted_not_applied(self, records):
        """A record that does not decode (and no dead letter says so) is counted and left out."""
        broken = RawRecord(records[0].topic, 0, 10**6, BASE_MS, b"k", b"not avro", list(records[0].headers))
        replayer = Replayer(plan("registry", SETTINGS))
        replayer.feed_all([*records, broken])
        assert replayer.counts.refused == 1
        clock = datetime.fromtimestamp(BASE_MS / 1000, UTC) + timedelta(days=1)
        assert replayer.finish(clock) == replayed("registry", records)

    def test_dead_letter_figures_count_every_letter_once(self):
        """The dead-letter view, fed its own records, counts each group as the headers say."""
        letters = []
        for n in range(40):
            headers = [
                ("dlq_reason", b"MALFORMED" if n % 3 else b"FUTURE_EVENT"),
                ("dlq_component", b"registry-intake" if n % 2 else b"protection-intake"),
                ("ce_source", b"kbri-tokyo"),
                ("dlq_refused_at", str(BASE_MS + n * 600_000).encode()),
            ]
            letters.append(RawRecord("bus.deadletter", n % 3, n // 3, BASE_MS + n, b"k", b"v", headers))
        rows = replayed("deadletters", letters)
        expected = Counter(f"{refusal_of(r).group}|{r.partition}" for r in letters)
        assert {row.key: row.value["count"] for row in rows} == dict(expected)
        assert sum(expected.values()) == 40


class TestAccess:
    def test_a_nik_names_the_id_the_registry_derives(self):
        """The NIK is hashed with the citizen key into the registry's id; a citizen id is taken as it is."""
        hasher = citizen_hasher(SETTINGS)
        nik = "3171011501900001"
        assert citizen_of(nik, hasher) == citizen_id_for(nik_identifier(nik, hasher))
        assert citizen_of("cit-0123456789abcdef0123", hasher) == "cit-0123456789abcdef0123"

    def test_a_bad_nik_is_refused_without_echo(self):
        """Neither an id nor a NIK: ValueError whose text does not repeat the input."""
        with pytest.raises(ValueError, match="NIK") as caught:
            citizen_of("9999999999999999", citizen_hasher(SETTINGS))
        assert "9999999999999999" not in str(caught.value)

    def test_merged_ids_are_one_person(self):
        """Ids merged into one another, either way, are the same person; others are not."""
        merged = {"cit-a": "cit-b", "cit-b": None, "cit-c": "cit-a", "cit-d": None, "cit-e": "cit-d"}
        assert same_person("cit-a", merged) == {"cit-a", "cit-b", "cit-c"}
        assert same_person("cit-b", merged) == {"cit-a", "cit-b", "cit-c"}
        assert same_person("cit-x", merged) == {"cit-x"}

    def test_rows_are_the_lookups_that_found_the_person_oldest_first(self):
        """Lookups of other people, and those that found nobody, are left out."""

        def access(n: int, citizen: str | None) -> RecordAccessedModel:
            return RecordAccessedModel(
                access_id=f"acc-{n}",
                requested_by=f"officer-{n}",
                office="kbri-tokyo",
                accessed_at=START + timedelta(hours=10 - n),
                citizen_id=citizen,
                lookup=LookupKind.NIK,
                purpose=AccessPurpose.AUDIT,
                found=citizen is not None,
            )

        rows = access_rows([access(1, A), access(2, B), access(3, None), access(4, C)], {A, C})
        assert [r.access_id for r in rows] == ["acc-4", "acc-1"]
        assert rows[0].accessed_at == "2026-06-01T06:00:00Z"
        assert rows[0].purpose == "AUDIT"
