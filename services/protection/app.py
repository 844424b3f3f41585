"""The protection-case worker (``bus cases worker``): the runtime with the case view's projection, intake and
HTTP views.

Two stages, both the runtime's:

1. the intake (``services.protection.intake``, its own process): reads ``protection`` (decoded and
   validated; refusals to ``bus.deadletter``) and the registry's ``registry.citizens`` (as its view model),
   and forwards case items keyed by case id, and citizen links to every partition, to ``protection.items``;
2. the core on ``protection.items``, on as many partitions and workers as there are: the projection
   (``services.protection.projection``) folds each case, finds service-level breaches from the partition
   clock (the runtime appends a tick to each owned partition every minute), and publishes the changed
   cases (``protection.cases``), breaches (``protection.overdue``) and figures (``protection.stats``);
   everything a partition knows is in its store, written with its progress in one atomic batch.

Start as many workers as wanted, each with its own ``PROTECTION_DATADIR``, ``PROTECTION_WEB_PORT`` and
``PROTECTION_INSTANCE_ID``, and all with the same ``PROTECTION_PEER_PORTS``: they share the partitions,
and each answers every HTTP question (``services.protection.web``).
"""

from __future__ import annotations

from typing import Any

from services.bus.settings import BusSettings
from services.protection import web
from services.protection.intake import SOURCES, TARGET, VIEW_SOURCES, make_transform
from services.protection.projection import ProtectionProjection
from services.protection.settings import ProtectionSettings
from services.protection.topics import PROTECTION_TOPICS
from services.runtime.core import ViewRuntime
from services.runtime.credential import ServiceCredential
from services.runtime.intake import IntakeSpec
from services.runtime.worker import Worker, build_worker

__all__ = ["create_worker", "intake_spec", "summary", "worker_main"]


def summary(runtime: ViewRuntime[Any, Any]) -> str:
    """One line for people: the cases this worker holds, on which partitions, items applied here."""
    owned = runtime.owned
    cases = sum(core.state.columns.case_count for core in owned)
    partitions = [core.partition for core in owned]
    return f"{cases} cases on partitions {partitions}, {runtime.stats['applied']} items applied here"


def intake_spec(config: ProtectionSettings) -> IntakeSpec:
    """How the worker runs its intake: ``protection``, ``registry.citizens`` in; ``protection.items`` out."""
    return IntakeSpec(
        name=ProtectionProjection.name,
        sources=SOURCES,
        target=TARGET,
        transform=make_transform,
        batch_size=config.batch_size,
        member_id=config.member_id("intake"),
        session_timeout=config.session_timeout,
        view_sources=VIEW_SOURCES,
    )


def create_worker(settings: BusSettings, config: ProtectionSettings) -> Worker:
    """The worker, built: its topics declared, store opened, agent, intake and HTTP views wired."""
    projection = ProtectionProjection(levels=config.service_levels(), case_cache=config.case_cache)
    worker = build_worker(
        settings,
        config,
        projection,
        topics=PROTECTION_TOPICS,
        summary=summary,
        intake=intake_spec(config),
    )
    desk = web.ProtectionDesk(
        worker.runtime, worker.app, projection.levels, config.peers(), ServiceCredential.load()
    )
    web.register(worker.app, desk)
    return worker


def worker_main(settings: BusSettings, config: ProtectionSettings) -> None:
    """Run the protection worker (the intake process and the faust core) until SIGINT/SIGTERM."""
    create_worker(settings, config).run()
