"""Hypothesis strategies over booking scenarios; they shrink towards fewer requests, fewer citizens and
plainer schedules.

A scenario is a few Immigration offices, two days, two services, one quota per office and service (0 to 3
slots, so full days are common), and up to 30 requests and cancellations from six citizens (one without any
identity) over three phones (and walk-ins). Reschedules and cancellations name booking codes of earlier
requests, of the same citizen or not, so wrong codes are common too. All request times are before the
days asked for, so no booking expires during a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from services.contracts.passport import PassportService
from services.passport.booking import Cancel, QuotaChange, Request, booking_code

OFFICES = ("kanim-jakarta-selatan", "kanim-surabaya", "kanim-medan")
DAYS = (date(2026, 3, 2), date(2026, 3, 3))
SERVICES = (PassportService.NEW, PassportService.RENEWAL)
CITIZENS = ("nik:a", "nik:b", "nik:c", "passport:d", "nik:e", None)
PHONES = ("phone-1", "phone-2", "phone-3", None)
START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

Input = Request | Cancel | QuotaChange


@dataclass(frozen=True)
class Scenario:
    """Quotas and requests (in the order the channels sent them), and the capacity of each office-service."""

    quotas: tuple[QuotaChange, ...]
    inputs: tuple[Request | Cancel, ...]

    def capacity(self, office: str, service: PassportService) -> int:
        """The one capacity the scenario set for this office and service."""
        return next(q.capacity for q in self.quotas if q.office == office and q.service == service)

    def citizen(self, request_id: str) -> str | None:
        """The citizen a request or cancellation was for."""
        return next(i.citizen for i in self.inputs if i.request_id == request_id)


@st.composite
def scenarios(draw: st.DrawFn, max_inputs: int = 30) -> Scenario:
    """A scenario; the offices used are the first one or more of ``OFFICES``."""
    offices = OFFICES[: draw(st.integers(1, len(OFFICES)))]
    quotas = tuple(
        QuotaChange(f"q-{office}-{service}", office, service, draw(st.integers(0, 3)), DAYS[0], START)
        for office in offices
        for service in SERVICES
    )
    size = draw(st.integers(1, max_inputs))
    inputs: list[Request | Cancel] = []
    for n in range(size):
        request_id = f"r{n}"
        citizen = draw(st.sampled_from(CITIZENS))
        office = draw(st.sampled_from(offices))
        time = START + timedelta(minutes=10 * draw(st.integers(0, 60)))
        earlier = [i.request_id for i in inputs]
        kind = draw(st.sampled_from(["request", "request", "request", "reschedule", "cancel"]))
        if kind == "cancel" and earlier:
            code = booking_code(draw(st.sampled_from(earlier)))
            inputs.append(Cancel(request_id, f"app-{n}", citizen, office, code, time))
            continue
        reschedules = (
            booking_code(draw(st.sampled_from(earlier))) if kind == "reschedule" and earlier else None
        )
        inputs.append(
            Request(
                request_id,
                f"app-{n}",
                citizen,
                office,
                draw(st.sampled_from(DAYS)),
                draw(st.sampled_from(SERVICES)),
                "WHATSAPP",
                draw(st.sampled_from(PHONES)),
                draw(st.integers(0, 9)) == 0,
                reschedules,
                time,
            )
        )
    return Scenario(quotas, tuple(inputs))


def schedules(max_steps: int = 300) -> st.SearchStrategy[list[int]]:
    """Choices of the next step: an index into the sources and partitions with something to read (odd:
    apply again, as a worker that crashed before its commit would).
    """
    return st.lists(st.integers(0, 63), max_size=max_steps)
