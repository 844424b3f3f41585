"""A deterministic, pure generator of realistic bus traffic: no Kafka, no I/O, no clock reads.

Demos, load tests and the dashboards need traffic whose stories hold together: a citizen reports a stay
(Lapor Diri), moves on and reports again elsewhere under the same NIK; a passport application goes from
booking to collection; a protection case is opened, worked, maybe transferred or escalated, closed and
sometimes reopened. Each life-cycle yields its steps in causal order and a heap interleaves them (see
``services.sim``), so the stream is in time order and so is every aggregate. One
``random.Random(seed)`` drives everything: a seed always gives the same stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from services.sim.booking import BookingFlows
from services.sim.citizens import CitizenFlows
from services.sim.engine import DAY, SimulatedEvent
from services.sim.protection import ProtectionFlows

__all__ = ["SimulatedEvent", "TrafficSimulator"]

#: Mean gap between new protection cases times the population (5,000 citizens: one every ~40 minutes).
_CASE_GAP_PER_PERSON = 5000 * DAY // 36


class TrafficSimulator(CitizenFlows, ProtectionFlows, BookingFlows):
    """Traffic from all 132 missions and the home agencies, deterministic for a seed.

    ``population`` is the number of citizens cycling between home and abroad (a tenth of them without a
    NIK); it scales the event rate, about 0.2 events per citizen per simulated day. ``start`` is where
    simulated time begins; keep it within a year of the real clock, because the models refuse dates of
    birth in the future. ``office_weights`` overrides the relative share of stays per office code (every
    mission weighs 1 unless ``services.sim.data.OFFICE_WEIGHTS`` says otherwise). ``pseudonym`` is the
    bus's keyed hash the passport requests' phone and requester keys are made with (``services.bus.keys``
    ``citizen_hasher`` of the settings the passport service runs with); by default the development key's.
    The passport service's traffic (``services.sim.booking``) draws from its own generator, ids and passport
    numbers: the rest of the stream is the same with or without it, and ``booking=False`` leaves it out
    (about a tenth of the events), for tests that pin figures of the other traffic.
    """

    def __init__(
        self,
        seed: int,
        *,
        start: datetime,
        population: int = 5000,
        office_weights: Mapping[str, float] | None = None,
        pseudonym: Callable[[str], str] | None = None,
        booking: bool = True,
    ) -> None:
        if population < 1:
            raise ValueError("population must be at least 1")
        super().__init__(seed, start=start, office_weights=office_weights)
        if booking:
            self._start_booking(population, pseudonym)
        for _ in range(population):
            person = self._person(nik=self._rng.random() >= 0.1)
            self._spawn(self._life(person, self._start_ms + self._int(0, 20 * DAY)))
        self._spawn(self._case_spawner(max(1, _CASE_GAP_PER_PERSON // population)))
