"""The identity resolver: exact links, merges with reasons, renames, candidates and officer decisions."""

from __future__ import annotations

import pytest

from services.registry.decisions import confirm, reject, split_merge, split_sides
from services.registry.facts import Observation
from services.registry.identifiers import citizen_id_for
from services.registry.resolution import Resolution
from services.registry.resolver import ResolverState, decide, resolve, split_citizen
from tests.unit.registry.builders import (
    BUDI,
    DEWI,
    SITI,
    at,
    hotline,
    obs_of,
    opened,
    paid,
    stay,
    submitted,
)

NY, DC, LA = "kjri-new-york", "kbri-washington", "kjri-los-angeles"


def run(*observations: Observation, state: ResolverState | None = None) -> tuple[ResolverState, Resolution]:
    current = state or ResolverState()
    resolution = Resolution(citizen_id=None)
    for obs in observations:
        current, resolution = resolve(current, obs)
    return current, resolution


class TestLinks:
    def test_same_nik_at_two_offices_is_one_citizen(self) -> None:
        """The NIK links a stay at NY and one at DC; the citizen id derives from the NIK identifier."""
        first = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        second = obs_of(stay(SITI.personal(), DC, "DC-1", at(1), "b"))
        state, resolution = run(first, second)
        assert resolution.citizen_id == citizen_id_for(first.best)
        assert resolution.merges == ()
        assert len(state.identifiers) == 1

    def test_better_identifier_renames(self) -> None:
        """A ref-only citizen that learns its NIK gets the NIK-derived id: a rename, not a merge."""
        ref_only = obs_of(stay(SITI.personal(nik=False), NY, "NY-1", at(0), "a"))
        with_nik = obs_of(stay(SITI.personal(), NY, "NY-1", at(1), "b"))
        state, first = run(ref_only)
        _, second = resolve(state, with_nik)
        assert second.renames[0].old == first.citizen_id
        assert second.renames[0].new == second.citizen_id == citizen_id_for(with_nik.best)
        assert second.merges == ()

    def test_passport_links_passport_only_citizen_to_nik(self) -> None:
        """A passport-only stay and an application with NIK + passport merge; the NIK citizen survives."""
        passport_only = obs_of(
            stay(BUDI.personal(nik=False, passport=True, name=False), NY, "NY-3", at(0), "a")
        )
        nik_only = obs_of(stay(BUDI.personal(), DC, "DC-3", at(1), "b"))
        linking = obs_of(submitted(BUDI.personal(passport=True), "APP-1", LA, at(2), "c"))
        state, resolution = run(passport_only, nik_only, linking)
        assert len(state.identifiers) == 1
        (merge,) = resolution.merges
        assert merge.kind == "passport"
        assert merge.source_id == linking.event_id
        assert merge.surviving == citizen_id_for(nik_only.best)
        assert merge.absorbed == citizen_id_for(passport_only.best)

    def test_application_events_without_personal_data_reach_the_person(self) -> None:
        """A payment (application id only) lands on the applicant, before or after the submission."""
        payment = obs_of(paid("APP-1", LA, at(0), "a"))
        application = obs_of(submitted(BUDI.personal(), "APP-1", LA, at(1), "b"))
        state, resolution = run(payment, application)
        assert state.owner["app:APP-1"] == resolution.citizen_id == citizen_id_for(application.best)

    def test_duplicate_event_changes_nothing(self) -> None:
        """The same event id again is reported as a duplicate and leaves the index as it was."""
        obs = obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a"))
        state, first = run(obs)
        before = state.partition()
        _, again = resolve(state, obs)
        assert again.duplicate
        assert again.citizen_id == first.citizen_id
        assert state.partition() == before

    def test_hotline_for_someone_else_links_only_the_case(self) -> None:
        """A caller for someone else ties nothing of theirs to the case; the opening ties the subject."""
        call = obs_of(hotline("C-1", NY, at(0), "a", DEWI.personal(), subject=False))
        opening = obs_of(opened(BUDI.personal(), "C-1", NY, at(1), "b"))
        state, resolution = run(call, opening)
        assert len(state.identifiers) == 1
        assert resolution.renames[0].new == citizen_id_for(opening.best)
        callers_key = obs_of(stay(DEWI.personal(), NY, "NY-0", at(0), "z")).weak_keys
        assert not callers_key & state.weak_index.keys()


class TestCandidates:
    def _weak_pair(self) -> tuple[ResolverState, Resolution]:
        return run(
            obs_of(stay(DEWI.personal(nik=False), NY, "NY-9", at(0), "a")),
            obs_of(stay(DEWI.personal(nik=False), DC, "DC-2", at(1), "b")),
        )

    def test_weak_only_duplicates_become_a_candidate_not_a_merge(self) -> None:
        """Same name, birth date and place at two offices without NIK: two citizens, one candidate."""
        state, resolution = self._weak_pair()
        assert len(state.identifiers) == 2
        (candidate,) = resolution.new_candidates
        assert set(candidate.citizens) == set(state.identifiers)
        assert candidate.candidate_id in state.candidates
        assert not candidate.holds_two_niks

    def test_two_different_niks_are_a_candidate_marked_as_such(self) -> None:
        """Namesakes born the same day in the same town with different NIKs: two citizens, never merged, but
        listed for an officer (one person issued two NIKs does happen), marked as holding two NIKs.
        """
        other = SITI.personal().model_copy(update={"nik": DEWI.nik})
        state, resolution = run(
            obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a")), obs_of(stay(other, LA, "LA-1", at(1), "b"))
        )
        assert len(state.identifiers) == 2
        (candidate,) = resolution.new_candidates
        assert candidate.holds_two_niks
        assert set(candidate.citizens) == set(state.identifiers)

    def test_confirm_merges_and_reject_drops_for_good(self) -> None:
        """Confirm merges the pair; a rejected pair never comes back, even when new events add weak keys."""
        state, resolution = self._weak_pair()
        (candidate,) = resolution.new_candidates
        _, confirmed = decide(state, confirm(candidate))
        assert len(state.identifiers) == 1
        assert confirmed.merges[0].kind == "confirm"
        assert state.candidates == {}

        state, resolution = self._weak_pair()
        (candidate,) = resolution.new_candidates
        _, rejected = decide(state, reject(candidate))
        assert rejected.dropped_candidates == (candidate.candidate_id,)
        _, later = resolve(state, obs_of(stay(DEWI.personal(nik=False), NY, "NY-9", at(5), "c")))
        assert later.new_candidates == ()
        assert state.candidates == {}

    def test_confirm_before_the_events_takes_effect_when_they_arrive(self) -> None:
        """A confirmation replayed before the observations it names still merges them once both are known."""
        _, resolution = self._weak_pair()
        (candidate,) = resolution.new_candidates
        state = ResolverState()
        decide(state, confirm(candidate))
        washington = obs_of(stay(DEWI.personal(nik=False), DC, "DC-2", at(1), "b"))
        _, later = run(
            washington, obs_of(stay(DEWI.personal(nik=False), NY, "NY-9", at(0), "a")), state=state
        )
        assert len(state.identifiers) == 1
        assert later.citizen_id == citizen_id_for(washington.best)  # the better-ranked ref names them

    def test_resolutions_carry_no_personal_data(self) -> None:
        """Merges, candidates and identifiers name hashes and ids only, never a NIK, passport or name."""
        state, resolution = self._weak_pair()
        _, merged = decide(state, confirm(resolution.new_candidates[0]))
        text = repr((resolution, merged, state.partition()))
        for secret in (DEWI.nik, DEWI.passport, DEWI.full_name, DEWI.place_of_birth):
            assert secret not in text

    def test_decision_id_reused_for_another_decision_is_refused(self) -> None:
        """A decision id names one decision; the same id with other content is an error, without data."""
        state, resolution = self._weak_pair()
        (candidate,) = resolution.new_candidates
        decide(state, confirm(candidate, decision_id="d-1"))
        _, again = decide(state, confirm(candidate, decision_id="d-1"))
        assert again.duplicate
        with pytest.raises(ValueError, match="already used") as caught:
            decide(state, reject(candidate, decision_id="d-1"))
        assert DEWI.full_name not in str(caught.value)


class TestSplit:
    def _wrong_merge(self) -> tuple[ResolverState, Resolution, list[Observation]]:
        """Siti and Budi merged by a mistyped passport number (Budi's number on Siti's report)."""
        mistyped = SITI.personal().model_copy(update={"passport_number": BUDI.passport})
        observations = [
            obs_of(stay(SITI.personal(), NY, "NY-1", at(0), "a")),
            obs_of(stay(BUDI.personal(passport=True), DC, "DC-1", at(1), "b")),
            obs_of(stay(mistyped, NY, "NY-1", at(2), "c")),
        ]
        state, resolution = run(*observations)
        return state, resolution, observations

    def test_split_merge_undoes_the_merge(self) -> None:
        """Splitting by the merge restores two citizens, the mistyped report staying with Siti."""
        state, resolution, observations = self._wrong_merge()
        assert len(state.identifiers) == 1
        (merge,) = resolution.merges
        _, undone = decide(state, split_merge(merge))
        assert len(state.identifiers) == 2
        siti, budi = (state.owner[obs.best] for obs in observations[:2])
        assert siti != budi
        assert state.owner[observations[2].best] == siti
        assert {move.to_citizen for move in undone.splits} <= {siti, budi}

    def test_split_holds_against_later_events(self) -> None:
        """After the split, another report with the same mistake does not merge them again."""
        state, resolution, _ = self._wrong_merge()
        decide(state, split_merge(resolution.merges[0]))
        mistyped = SITI.personal().model_copy(update={"passport_number": BUDI.passport})
        _, later = resolve(state, obs_of(stay(mistyped, NY, "NY-1", at(3), "d")))
        assert later.merges == ()
        assert len(state.identifiers) == 2

    def test_split_by_citizen_and_identifier_group(self) -> None:
        """split_citizen takes the identifiers to move; the moved group becomes its own citizen."""
        state, _, observations = self._wrong_merge()
        (citizen,) = state.identifiers
        split = split_citizen(state, citizen, observations[1].identifiers)
        _, resolution = decide(state, split)
        assert state.owner[observations[1].best] == citizen_id_for(observations[1].best)
        assert len(resolution.splits) == 1
        siti = state.owner[observations[0].best]
        with pytest.raises(ValueError, match="some, not all"):
            split_citizen(state, siti, state.identifiers[siti])

    def test_split_sides_must_be_disjoint_and_non_empty(self) -> None:
        """A split with an empty side or an identifier on both sides is refused."""
        with pytest.raises(ValueError, match="both sides"):
            split_sides("cit-x", frozenset(), frozenset({"nik:a"}))
        with pytest.raises(ValueError, match="both sides"):
            split_sides("cit-x", frozenset({"nik:a"}), frozenset({"nik:a", "ref:b"}))
