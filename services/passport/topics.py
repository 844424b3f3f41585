"""The passport service's topics: names and catalogue entries (created by the worker, idempotently).

``passport`` and ``passport.quotas`` are domain topics of the bus's catalogue (offices and channels write
them); everything below is the service's own: the stages' internal topics, the decisions, the status
items and the views made from them.
"""

from __future__ import annotations

from services.bus.catalogue import COMPACTED, FOREVER, TopicSpec
from services.contracts.passport_booking import DECISIONS_TOPIC, NOTIFICATIONS_TOPIC, QUOTAS_TOPIC
from services.passport.booking import PHONES, REQUESTS, SLOTS

__all__ = [
    "APPLICATIONS",
    "DECISIONS",
    "FIGURES",
    "NOTIFICATIONS",
    "PASSPORT",
    "PASSPORT_TOPICS",
    "PHONES",
    "QUOTAS",
    "REQUESTS",
    "SLOTS",
    "STATUS",
]

PASSPORT = "passport"
QUOTAS = QUOTAS_TOPIC
DECISIONS = DECISIONS_TOPIC
NOTIFICATIONS = NOTIFICATIONS_TOPIC
STATUS = "passport.status"
"""Internal: one status item per application fact (events of ``passport``, decisions), keyed by application
id, so each application's facts are folded on one partition."""
APPLICATIONS = "passport.applications"
FIGURES = "passport.figures"

PASSPORT_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        PHONES,
        "phone key (pseudonymous)",
        "id.go.kemlu.bus.passport.v1.BookingItem (internal): requests with a phone",
        FOREVER,
        description="fair booking, stage 1a: the per-phone request limit (touts)",
    ),
    TopicSpec(
        REQUESTS,
        "citizen key (`nik:…`, `passport:…`, `none:<request id>`)",
        "id.go.kemlu.bus.passport.v1.BookingItem (internal): requests, cancellations, answers",
        FOREVER,
        description="fair booking, stages 1 and 3: one booking and one request in flight per citizen",
    ),
    TopicSpec(
        SLOTS,
        "`<office>|<yyyy-mm-dd>`",
        "id.go.kemlu.bus.passport.v1.BookingItem (internal): asks, releases, quotas (to every partition)",
        FOREVER,
        description="fair booking, stage 2: each office-day's capacity, decided on one partition",
    ),
    TopicSpec(
        DECISIONS,
        "application id",
        "id.go.kemlu.bus.passport.v1.AppointmentConfirmed | AppointmentRefused | BookingCancelled",
        FOREVER,
        description="each request's one decision: booked with a code and queue number, or refused",
    ),
    TopicSpec(
        NOTIFICATIONS,
        "recipient key (pseudonymous)",
        "id.go.kemlu.bus.passport.v1.NotificationRequested",
        FOREVER,
        description="what a WhatsApp, SMS or e-mail gateway should tell a citizen (a template, no text)",
    ),
    TopicSpec(
        STATUS,
        "application id",
        "id.go.kemlu.bus.passport.v1.StatusItem (internal): one fact about one application",
        FOREVER,
        description="the status view's input: an application's events and decisions, in one partition",
    ),
    TopicSpec(
        APPLICATIONS,
        "application id",
        "id.go.kemlu.bus.passport.v1.PassportApplication",
        COMPACTED,
        description="every application as it stands (no personal data)",
    ),
    TopicSpec(
        FIGURES,
        "`<office>|<yyyy-mm-dd>|<partition>`",
        "id.go.kemlu.bus.passport.v1.PassportFigures",
        COMPACTED,
        description="absolute figures per office-day and partition of passport.status (summed by readers)",
    ),
)
