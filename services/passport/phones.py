"""Stage 1a of fair booking, one fold per partition of ``passport.phones`` (keyed by phone): touts.

A tout (calo) books for many citizens from one phone, so the limit cannot be judged per citizen: each
request with a phone key passes here first. A request is refused TOO_MANY_REQUESTS when its phone already
had ``limit`` requests passed on less than ``window`` before or after it (by request time, judged in
partition order, so a replay judges the same); otherwise it goes on to the citizen's partition of
``passport.requests``. Both sides count because requests reach a phone's partition out of time order (they
come from every partition of ``passport``): counting only earlier ones let a tout's late-arriving older
requests through, while with both sides no ``window`` anywhere on the clock ever holds more than ``limit``
requests passed on for one phone, whatever the order of arrival.

The state is two mappings with string keys, plain dicts by default or the partition's store columns
(``services.passport.stage_store``): every change is written back by assignment, never made in place on a
value read from them.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.contracts.passport_booking import BookingRefusal
from services.passport.booking import DECISIONS, REQUESTS, Out, Refused, Request, no_identity_key

__all__ = ["PhoneLimit", "PhoneStage", "route_request"]


@dataclass(frozen=True, slots=True)
class PhoneLimit:
    """At most ``limit`` requests per phone in any ``window``: a family books for a few, a tout for many."""

    limit: int = 5
    window: timedelta = timedelta(hours=24)


def route_request(request: Request) -> Out:
    """Where a request goes after the phone check: its citizen's partition (or its own, to be refused)."""
    return Out(REQUESTS, request.citizen or no_identity_key(request.request_id), request)


@dataclass(slots=True)
class PhoneStage:
    """One ``passport.phones`` partition: what each request led to, and each phone's recent passes."""

    rules: PhoneLimit = field(default_factory=PhoneLimit)
    done: MutableMapping[str, Out] = field(default_factory=dict)
    """Request id -> the record it led to (written again, unchanged, for a request seen twice)."""
    passed: MutableMapping[str, tuple[datetime, ...]] = field(default_factory=dict)
    """Phone key -> the times of its requests passed on, in partition order (the oldest pruned once there
    are more than ``4 * limit`` of them and they are a window older than the request judged)."""

    def apply(self, request: Request) -> list[Out]:
        """The record ``request`` leads to; the same one again for a request seen before."""
        seen = self.done.get(request.request_id)
        if seen is not None:
            return [seen]
        phone = request.phone_key or ""
        recent = self.passed.get(phone, ())
        start, end = request.time - self.rules.window, request.time + self.rules.window
        within = sum(1 for other in recent if start < other < end)
        if within >= self.rules.limit:
            out = Out(
                DECISIONS,
                request.application_id,
                Refused(
                    request.request_id,
                    request.application_id,
                    request.office,
                    request.day,
                    BookingRefusal.TOO_MANY_REQUESTS,
                    request.time,
                ),
            )
        else:
            kept = (*recent, request.time)
            first = 0
            while len(kept) - first > 4 * self.rules.limit and kept[first] <= start:
                first += 1
            self.passed[phone] = kept[first:]
            out = route_request(request)
        self.done[request.request_id] = out
        return [out]
