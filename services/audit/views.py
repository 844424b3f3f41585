"""The views a replay rebuilds, each planned from the live worker's own parts: its projection, its intake
transform and sources, and the compacted topics its state is published on.

``passport`` is the application-status view (``passport.applications``, ``passport.figures``): what the
booking stages decided is itself history on ``passport.decisions``, which the status view's intake follows
as the live one does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.audit.replay import ViewPlan
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError
from services.bus.events import ViewEvent
from services.bus.keys import citizen_hasher
from services.bus.partitioner import partition_for
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.deadletters.projection import FIGURES, DeadLetterFigures
from services.passport import intake as passport_intake
from services.passport.status_projection import StatusProjection
from services.passport.topics import APPLICATIONS
from services.passport.topics import FIGURES as PASSPORT_FIGURES
from services.protection import intake as protection_intake
from services.protection.projection import ProtectionProjection
from services.protection.service_levels import DEFAULT_LEVELS, ServiceLevels
from services.protection.topics import CASES, STATS
from services.registry import intake as registry_intake
from services.registry.projection import RegistryProjection
from services.registry.topics import CITIZENS, COUNTS, REGISTRY_TOPICS
from services.registry.topics import OBSERVATIONS as REGISTRY_INPUT

__all__ = ["VIEWS", "Decoding", "partition_for", "plan", "plans"]

VIEWS = ("registry", "deadletters", "protection", "passport")
DEADLETTERS = "bus.deadletter"


class Decoding:
    """The live intake's decoding, shared by the views of one replay: events of domain topics, view models
    of the view topics an intake follows; an event's time is checked against the record's log time, when
    the intake met it, not against today. A record handed to several views is decoded once (the last one
    is remembered, with its refusal).
    """

    def __init__(self, settings: BusSettings) -> None:
        self.decoder = EventDecoder(settings, load_registry(settings.schemas_dir))
        self.view_topics: frozenset[str] = frozenset()
        self.last: RawRecord | None = None
        self.result: tuple[str, Any] | BusError = BusError("nothing decoded")

    def follow(self, settings: BusSettings, views: tuple[str, ...]) -> Callable[[RawRecord], tuple[str, Any]]:
        """The decoding of a view whose intake also follows ``views`` (catalogue names)."""
        self.view_topics |= frozenset(settings.topic(name) for name in views)
        return self.decode

    def decode(self, record: RawRecord) -> tuple[str, Any]:
        """(event id, event or view model) of ``record``; the decoder's ``BusError`` if it refuses it."""
        if record is not self.last:
            self.last, self.result = record, self._decode(record)
        if isinstance(self.result, BusError):
            raise self.result
        return self.result

    def _decode(self, record: RawRecord) -> tuple[str, Any] | BusError:
        try:
            if record.topic in self.view_topics:
                view: ViewEvent = self.decoder.decode_view(record)
                return view.id, view.view
            arrived = datetime.fromtimestamp(record.timestamp / 1000, UTC) if record.timestamp >= 0 else None
            event = self.decoder.decode(record, now=arrived)  # "from the future" as judged on arrival
        except BusError as refused:
            return refused
        return event.id, event


def plan(
    name: str,
    settings: BusSettings,
    *,
    levels: ServiceLevels = DEFAULT_LEVELS,
    partitions: int | None = None,
    decoding: Decoding | None = None,
    encoded: bool = False,
) -> ViewPlan:
    """The replay plan of view ``name`` (one of ``VIEWS``); ``partitions`` of its input topic when known
    from the broker (else the catalogue's, or the bus default); ``levels`` the protection desk's;
    ``decoding`` shared with the other views of one replay (else its own). The intake's transform hands
    the replay its items without encoding them, unless ``encoded`` (to read them back as the live core
    does: the tests compare both ways).
    """
    decoding = decoding or Decoding(settings)
    if name == "registry":
        observations = next(t for t in REGISTRY_TOPICS if t.name == REGISTRY_INPUT)
        return ViewPlan(
            name=name,
            projection=RegistryProjection(citizen_hasher(settings)),  # its records kept as objects
            partitions=partitions or observations.partitions or 1,
            sources=registry_intake.SOURCES,
            state_topics=frozenset({CITIZENS, COUNTS}),
            skip_components=frozenset({"registry-intake"}),
            transform=registry_intake.make_transform(settings, encode=encoded),
            decode=decoding.follow(settings, ()),
            target=REGISTRY_INPUT,
            partition_for=partition_for,
            views_at_end=True,
        )
    if name == "deadletters":
        return ViewPlan(
            name=name,
            projection=DeadLetterFigures(),
            partitions=partitions or 3,
            sources=(DEADLETTERS,),
            state_topics=frozenset({FIGURES}),
            skip_components=frozenset(),
        )
    if name == "protection":
        return ViewPlan(
            name=name,
            projection=ProtectionProjection(levels=levels),
            partitions=partitions or settings.partitions,
            sources=(*protection_intake.SOURCES, *protection_intake.VIEW_SOURCES),
            state_topics=frozenset({CASES, STATS}),
            skip_components=frozenset({"protection-intake"}),
            transform=protection_intake.make_transform(settings, encode=encoded),
            decode=decoding.follow(settings, protection_intake.VIEW_SOURCES),
            target=protection_intake.TARGET,
            partition_for=partition_for,
        )
    if name == "passport":
        return ViewPlan(
            name=name,
            projection=StatusProjection(),
            partitions=partitions or settings.partitions,
            sources=(*passport_intake.SOURCES, *passport_intake.VIEW_SOURCES),
            state_topics=frozenset({APPLICATIONS, PASSPORT_FIGURES}),
            skip_components=frozenset({"passport-intake"}),
            transform=passport_intake.make_transform(settings, encode=encoded),
            decode=decoding.follow(settings, passport_intake.VIEW_SOURCES),
            target=passport_intake.TARGET,
            partition_for=partition_for,
        )
    raise ValueError(f"no view {name!r}: one of {', '.join(VIEWS)}")


def plans(
    names: tuple[str, ...],
    settings: BusSettings,
    *,
    levels: ServiceLevels = DEFAULT_LEVELS,
    partitions_of: Callable[[str], int | None] | None = None,
) -> list[ViewPlan]:
    """The plans of views ``names``, sharing one decoding; ``partitions_of`` gives the broker's partition
    count of a view's input topic (catalogue name) when the replay reads the broker.
    """
    decoding = Decoding(settings)
    made = []
    for name in names:
        planned = plan(name, settings, levels=levels, decoding=decoding)
        if partitions_of is not None:
            partitions = partitions_of(planned.projection.input_topic)
            planned = plan(name, settings, levels=levels, partitions=partitions, decoding=decoding)
        made.append(planned)
    return made
