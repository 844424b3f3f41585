"""The passport worker (``bus passport worker``): the runtime with fair booking's three stages, the status
view, the intake and the HTTP status view.

1. The intake (``services.passport.intake``, its own process) reads ``passport`` and ``passport.quotas``
   (decoded and validated; refusals to ``bus.deadletter``) and the service's own ``passport.decisions``,
   and forwards each request, cancellation or quota to its first stage, and each fact about an application
   to ``passport.status``.
2. Four cores, each on its own topic, every partition folded on its own with its state in the store,
   written with its progress in one atomic batch: the phones, citizens and office-days of fair booking
   (``services.passport.stage_projections``; the protocol in the README) and the application status with
   its notifications and figures (``services.passport.status_projection``).

All four are agents of one App, so one consumer group spreads every stage's partitions over the workers.
Start as many workers as wanted, each with its own ``PASSPORT_DATADIR``, ``PASSPORT_WEB_PORT`` and
``PASSPORT_INSTANCE_ID``, and all with the same ``PASSPORT_PEER_PORTS``.
"""

from __future__ import annotations

from typing import Any

from services.bus.keys import citizen_hasher
from services.bus.settings import BusSettings
from services.passport import web
from services.passport.intake import ROUTES, SOURCES, TARGET, VIEW_SOURCES, make_transform
from services.passport.settings import PassportSettings
from services.passport.stage_projections import PhonesProjection, RequestsProjection, SlotsProjection
from services.passport.status_projection import StatusProjection
from services.passport.topics import PASSPORT_TOPICS
from services.runtime.core import ViewRuntime
from services.runtime.credential import ServiceCredential
from services.runtime.intake import IntakeSpec
from services.runtime.worker import Worker, build_worker

__all__ = ["NAME", "create_worker", "intake_spec", "summary", "worker_main"]

NAME = "passport"
"""The processor's name: its consumer group, its intake's (``passport-intake``)."""


def summary(runtime: ViewRuntime[Any, Any]) -> str:
    """One line for people: the status view's partitions held here and the facts they applied."""
    partitions = [core.partition for core in runtime.owned]
    return f"status of applications on partitions {partitions}, {runtime.stats['applied']} facts applied here"


def intake_spec(config: PassportSettings) -> IntakeSpec:
    """How the worker runs its intake: ``passport``, ``passport.quotas``, ``passport.decisions`` in."""
    return IntakeSpec(
        name=NAME,
        sources=SOURCES,
        target=TARGET,
        transform=make_transform,
        batch_size=config.batch_size,
        member_id=config.member_id("intake"),
        session_timeout=config.session_timeout,
        view_sources=VIEW_SOURCES,
        routes=ROUTES,
    )


def create_worker(settings: BusSettings, config: PassportSettings) -> Worker:
    """The worker, built: its topics declared, stores opened, agents, intake and HTTP view wired."""
    status = StatusProjection()
    worker = build_worker(
        settings,
        config,
        [status, PhonesProjection(config.phone_rules()), RequestsProjection(), SlotsProjection()],
        topics=PASSPORT_TOPICS,
        summary=summary,
        intake=intake_spec(config),
        name=NAME,
    )
    desk = web.StatusDesk(
        worker.runtime,
        worker.app,
        status,
        citizen_hasher(settings),
        config.peers(),
        credential=ServiceCredential.load(),
    )
    web.register(worker.app, desk)
    return worker


def worker_main(settings: BusSettings, config: PassportSettings) -> None:
    """Run the passport worker (the intake process and the faust cores) until SIGINT/SIGTERM."""
    create_worker(settings, config).run()
