"""The traffic fold and its projection, pure: records per office and minute of log time, exact over any
arrival order, stored and read back unchanged; the figures a reader sums over partitions equal counts
made here from the raw records (office and timestamp), never by the fold itself.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.bus.decoder import RawRecord
from services.contracts.traffic import OfficeTrafficModel
from services.runtime.store import Store
from services.traffic import fold
from services.traffic.figures import representative_offices, sum_partitions
from services.traffic.fold import MINUTE_MS, WINDOW, Heard, OfficeTraffic
from services.traffic.projection import TrafficProjection

T0 = 1_795_000_000_000 // MINUTE_MS * MINUTE_MS
OFFICES = ["kbri-tokyo", "kjri-new-york", "ptri-geneva", "kanim-jakarta-selatan", "ditjen-imigrasi"]

events = st.lists(
    st.builds(Heard, st.sampled_from(OFFICES), st.integers(T0 - 3 * WINDOW * MINUTE_MS, T0 + 10 * MINUTE_MS)),
    max_size=60,
)


class TestApply:
    def test_a_first_record(self) -> None:
        state = fold.apply(None, Heard("kbri-tokyo", T0 + 1234))
        assert state == OfficeTraffic(((T0, 1),), 1, T0 + 1234)

    def test_records_of_one_minute_add_up_and_the_latest_time_is_kept(self) -> None:
        state = None
        for at in (T0 + 5, T0 + 59_999, T0 + 1):
            state = fold.apply(state, Heard("kbri-tokyo", at))
        assert state == OfficeTraffic(((T0, 3),), 3, T0 + 59_999)

    def test_minutes_older_than_the_window_are_dropped_but_stay_in_the_total(self) -> None:
        state = fold.apply(None, Heard("kbri-tokyo", T0))
        state = fold.apply(state, Heard("kbri-tokyo", T0 + (WINDOW - 1) * MINUTE_MS))
        assert [m for m, _ in state.minutes] == [T0, T0 + (WINDOW - 1) * MINUTE_MS]
        state = fold.apply(state, Heard("kbri-tokyo", T0 + WINDOW * MINUTE_MS))
        assert [m for m, _ in state.minutes] == [T0 + (WINDOW - 1) * MINUTE_MS, T0 + WINDOW * MINUTE_MS]
        late = fold.apply(state, Heard("kbri-tokyo", T0 + 30))  # arrives late, out of the window
        assert late.minutes == state.minutes
        assert (late.total, late.last_ms) == (4, state.last_ms)

    def test_a_forged_or_missing_source_is_never_echoed(self) -> None:
        assert fold.heard("kbri-atlantis", 5).office == "unknown"
        assert fold.heard(None, 5).office == "unknown"
        assert fold.heard("kbri-tokyo", -3) == Heard("kbri-tokyo", 0)

    @given(events, st.randoms(use_true_random=False))
    def test_any_arrival_order_gives_the_same_state(self, heard: list[Heard], rng: random.Random) -> None:
        shuffled = list(heard)
        rng.shuffle(shuffled)
        assert fold.fold(heard) == fold.fold(shuffled)

    @given(events)
    def test_the_state_holds_the_counts_of_the_window_ending_at_the_latest_record(
        self, heard: list[Heard]
    ) -> None:
        for office, state in fold.fold(heard).items():
            mine = [h.at_ms for h in heard if h.office == office]
            last_minute = max(mine) // MINUTE_MS * MINUTE_MS
            expected = Counter(
                at // MINUTE_MS * MINUTE_MS
                for at in mine
                if at // MINUTE_MS * MINUTE_MS > last_minute - WINDOW * MINUTE_MS
            )
            assert dict(state.minutes) == expected
            assert state.total == len(mine)
            assert state.last_ms == max(mine)

    @given(events)
    def test_stored_and_read_back_unchanged(self, heard: list[Heard]) -> None:
        for state in fold.fold(heard).values():
            assert fold.decode(fold.encode(state)) == state


def raw(partition: int, offset: int, source: str | None, at_ms: int) -> RawRecord:
    headers = [] if source is None else [("ce_source", source.encode())]
    return RawRecord("citizen", partition, offset, at_ms, b"k", b"v", headers)


class TestProjection:
    def test_published_figures_summed_over_partitions_equal_counts_from_the_raw_records(self) -> None:
        rng = random.Random(3)
        now = datetime.fromtimestamp((T0 + 5 * MINUTE_MS + 30_000) / 1000, UTC)
        records = [
            raw(
                rng.randrange(3),
                i,
                rng.choice([*OFFICES, "kbri-atlantis", None]),
                T0 + 5 * MINUTE_MS - rng.randrange(90 * MINUTE_MS),
            )
            for i in range(600)
        ]
        projection = TrafficProjection("citizen")
        store = Store.in_memory()
        states = {p: projection.open(store.partition(p)) for p in range(3)}
        latest: dict[str, OfficeTrafficModel] = {}
        for lo in range(0, len(records), 50):  # drained after each chunk, as the runtime does
            for record in records[lo : lo + 50]:
                projection.apply(states[record.partition], projection.read(record))
            for state in states.values():
                for view in projection.drain(state, now):
                    assert view.key == view.view.record_key
                    latest[view.key] = view.view
        totals = sum_partitions(latest.values(), now)

        # independently: each raw record's office (as the contract's doc says) and minute, in the hour
        def office(record: RawRecord) -> str:
            source = record.header("ce_source")
            return source if source in OFFICES else "unknown"

        window_start = (T0 + 5 * MINUTE_MS) - (WINDOW - 1) * MINUTE_MS
        in_hour = [r for r in records if r.timestamp // MINUTE_MS * MINUTE_MS >= window_start]
        per_minute = Counter(r.timestamp // MINUTE_MS * MINUTE_MS for r in in_hour)
        assert totals.series["citizen"] == [per_minute[int(m.timestamp() * 1000)] for m in totals.minutes]
        assert {o: dict(c) for o, c in totals.last_hour.items()} == {
            o: {"citizen": n} for o, n in Counter(office(r) for r in in_hour).items()
        }
        assert sum(v.total for v in latest.values()) == len(records)
        assert {o: max(r.timestamp for r in records if office(r) == o) for o in totals.last_heard} == {
            o: int(t.timestamp() * 1000) for o, t in totals.last_heard.items()
        }

    def test_nothing_changed_nothing_published(self) -> None:
        projection = TrafficProjection("passport")
        state = projection.open(Store.in_memory().partition(0))
        assert projection.drain(state, datetime.now(UTC)) == []
        projection.apply(state, projection.read(raw(0, 0, "kbri-tokyo", T0)))
        (view,) = projection.drain(state, datetime.now(UTC))
        assert view.key == "passport|kbri-tokyo|0"
        assert projection.drain(state, datetime.now(UTC)) == []


class TestReader:
    def test_offices_heard_from_in_the_last_hour(self) -> None:
        now = datetime.fromtimestamp(T0 / 1000, UTC)

        def figure(office: str, minutes_ago: int) -> OfficeTrafficModel:
            at = now - timedelta(minutes=minutes_ago)
            return OfficeTrafficModel(
                domain="citizen",
                office=office,
                partition=0,
                total=1,
                last_heard=at,
                minutes=(),
                as_of=at,
            )

        totals = sum_partitions(
            [figure("kbri-tokyo", 5), figure("kjri-new-york", 61), figure("kanim-jakarta-selatan", 1)], now
        )
        assert totals.heard_within(representative_offices()) == {"kbri-tokyo"}
        assert len(representative_offices()) == 132
