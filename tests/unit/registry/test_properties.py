"""Properties: arrival order, duplicates and decision order never change the registry; merge is a join."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.bus.events import BusEvent
from services.registry.decisions import Decision, confirm, reject, split_merge
from services.registry.facts import Observation
from services.registry.model import RegistryModel
from services.registry.record import CitizenRecord, fold, merge, split
from services.registry.resolution import Merge
from services.registry.resolver import split_citizen
from tests.unit.registry.builders import hasher, obs_of, simulated, tricky_history

SETTINGS = settings(max_examples=30, deadline=None)


@cache
def history() -> tuple[BusEvent, ...]:
    """Simulated traffic (weak-only duplicates, moves, cases) plus hand-made identity puzzles."""
    return (*simulated(11, 250), *tricky_history())


@cache
def observations() -> tuple[Observation, ...]:
    return tuple(obs_of(event) for event in history())


def outcome(model: RegistryModel) -> tuple[Any, ...]:
    """Everything that must not depend on order: records, citizen ids with identifiers, open candidates."""
    return dict(model.records), model.state.partition(), dict(model.candidates)


def run(events: list[BusEvent], decisions: dict[int, list[Decision]] | None = None) -> RegistryModel:
    model = RegistryModel(hasher=hasher)
    for index, event in enumerate(events):
        for decision in (decisions or {}).get(index, []):
            model.apply_decision(decision)
        model.apply_event(event)
    for decision in (decisions or {}).get(len(events), []):
        model.apply_decision(decision)
    return model


@cache
def reference() -> tuple[Any, ...]:
    return outcome(run(list(history())))


@cache
def officer_decisions() -> tuple[Decision, ...]:
    """Decisions an officer could take after seeing the history in order: confirm, reject, split a merge."""
    model = RegistryModel(hasher=hasher)
    merges: list[Merge] = []
    for event in history():
        resolution = model.apply_event(event)
        if resolution is not None:
            merges.extend(resolution.merges)
    candidates = sorted(model.candidates.values(), key=lambda c: c.candidate_id)
    assert len(candidates) >= 4
    assert merges
    return (
        confirm(candidates[0]),
        confirm(candidates[1]),
        reject(candidates[2]),
        reject(candidates[3]),
        split_merge(merges[0]),
        split_merge(merges[-1]),
    )


class TestOrderIndependence:
    @SETTINGS
    @given(seed=st.integers(min_value=0, max_value=2**32))
    def test_any_permutation_gives_the_same_registry(self, seed: int) -> None:
        """Shuffled arrival gives the same golden records, the same citizen ids and the same candidates."""
        events = list(history())
        random.Random(seed).shuffle(events)
        assert outcome(run(events)) == reference()

    @SETTINGS
    @given(seed=st.integers(min_value=0, max_value=2**32))
    def test_duplicates_change_nothing(self, seed: int) -> None:
        """Events delivered again (at-least-once delivery), anywhere in the stream, change nothing."""
        rng = random.Random(seed)
        events = list(history())
        events += rng.sample(events, k=len(events) // 3)
        rng.shuffle(events)
        assert outcome(run(events)) == reference()

    @SETTINGS
    @given(seed=st.integers(min_value=0, max_value=2**32))
    def test_decisions_form_a_set(self, seed: int) -> None:
        """The same decisions, repeated, in any order and interleaved anywhere with shuffled events, give
        the same registry as applying them once after the history.
        """
        rng = random.Random(seed)
        expected = outcome(run(list(history()), {len(history()): list(officer_decisions())}))
        events = list(history())
        rng.shuffle(events)
        placed: dict[int, list[Decision]] = {}
        for decision in [*officer_decisions(), *rng.sample(officer_decisions(), k=2)]:
            placed.setdefault(rng.randint(0, len(events)), []).append(decision)
        assert outcome(run(events, placed)) == expected


def random_decisions(rng: random.Random) -> list[Decision]:
    """Decisions taken on a shuffled prefix of the history: confirms, rejects, splits of random groups."""
    events = list(history())
    rng.shuffle(events)
    model = run(events[: rng.randint(len(events) // 2, len(events))])
    decisions: list[Decision] = []
    for _ in range(rng.randint(1, 6)):
        candidates = sorted(model.candidates.values(), key=lambda c: c.candidate_id)
        several = [c for c in sorted(model.state.identifiers) if len(model.state.identifiers[c]) >= 2]
        roll = rng.random()
        if roll < 0.35 and candidates:
            decision: Decision = confirm(rng.choice(candidates))
        elif roll < 0.5 and candidates:
            decision = reject(rng.choice(candidates))
        elif several:
            citizen = rng.choice(several)
            identifiers = sorted(model.state.identifiers[citizen])
            decision = split_citizen(
                model.state, citizen, rng.sample(identifiers, rng.randint(1, len(identifiers) - 1))
            )
        else:
            continue
        decisions.append(decision)
        model.apply_decision(decision)
    return decisions


class TestRandomDecisions:
    @settings(max_examples=15, deadline=None)
    @given(seed=st.integers(min_value=0, max_value=2**32))
    def test_random_decisions_form_a_set(self, seed: int) -> None:
        """Random confirms, rejects and splits of arbitrary identifier groups, interleaved anywhere with
        shuffled events, give the same registry as the history followed by the decisions.
        """
        rng = random.Random(seed)
        decisions = random_decisions(rng)
        expected = outcome(run(list(history()), {len(history()): decisions}))
        events = list(history())
        rng.shuffle(events)
        placed: dict[int, list[Decision]] = {}
        for decision in decisions:
            placed.setdefault(rng.randint(0, len(events)), []).append(decision)
        assert outcome(run(events, placed)) == expected


def records_from(indexes: list[int]) -> CitizenRecord:
    record = fold(observations()[i] for i in sorted(set(indexes)))
    assert record is not None
    return record


picks = st.lists(st.integers(min_value=0, max_value=len(tricky_history()) + 249), min_size=1, max_size=25)


class TestMergeLaws:
    @SETTINGS
    @given(a=picks, b=picks, c=picks)
    def test_merge_is_commutative_associative_idempotent(
        self, a: list[int], b: list[int], c: list[int]
    ) -> None:
        """merge(a, b) == merge(b, a); merge(merge(a, b), c) == merge(a, merge(b, c)); merge(a, a) == a."""
        first, second, third = records_from(a), records_from(b), records_from(c)
        assert merge(first, second) == merge(second, first)
        assert merge(merge(first, second), third) == merge(first, merge(second, third))
        assert merge(first, first) == first
        assert merge(first, second) == records_from(a + b)

    @SETTINGS
    @given(seed=st.integers(min_value=0, max_value=2**32))
    def test_merge_then_split_restores_both_records(self, seed: int) -> None:
        """Two citizens' records merged, then split by one citizen's identifiers, come back as they were."""
        model = run(list(history()))
        first, second = random.Random(seed).sample(sorted(model.records), k=2)
        kept, moved = split(
            merge(model.records[first], model.records[second]), model.state.identifiers[second]
        )
        assert (kept, moved) == (model.records[first], model.records[second])
