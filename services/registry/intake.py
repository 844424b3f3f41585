"""The registry's intake transform: an accepted domain event or officer decision -> a resolver item.

It runs in the runtime's intake process (``services.runtime.intake``), which reads the domain topics and
``registry.decisions``, dead-letters what it refuses and forwards the items to ``registry.observations``,
the resolver's single-partition total order. Identifiers are hashed here, before they leave the event.
"""

from __future__ import annotations

from collections.abc import Callable

from services.bus.catalogue import domain_topics
from services.bus.events import BusEvent
from services.bus.keys import citizen_hasher
from services.bus.settings import BusSettings
from services.registry.decisions import Decision
from services.registry.facts import Observation
from services.registry.items import encode_item
from services.registry.mapping import decision_from_event
from services.registry.observation import observe
from services.registry.settings import RegistrySettings
from services.registry.topics import DECISIONS, OBSERVATIONS
from services.runtime.intake import Forward, IntakeSpec, Transform

SOURCES = (*domain_topics(), DECISIONS)


def to_item(event: BusEvent, hasher: Callable[[str], str]) -> Observation | Decision | None:
    """What the resolver gets from one accepted event; None for event types the registry does not follow."""
    if event.payload.TOPIC == DECISIONS:
        return decision_from_event(event.payload)
    return observe(event, hasher=hasher)


def make_transform(settings: BusSettings, *, encode: bool = True) -> Transform:
    """The transform, made in the intake's own process (the hasher holds the citizen key); ``encode``
    False for a reader of the items alone (a replay): each forward's bytes are then left empty.
    """
    hasher = citizen_hasher(settings)

    def transform(event: BusEvent) -> list[Forward]:
        item = to_item(event, hasher)
        if item is None:
            return []
        return [Forward(event.id, encode_item(item) if encode else b"", item=item)]

    return transform


def intake_spec(config: RegistrySettings) -> IntakeSpec:
    """How the registry worker runs its intake."""
    return IntakeSpec(
        name="registry",
        sources=SOURCES,
        target=OBSERVATIONS,
        transform=make_transform,
        batch_size=config.batch_size,
        member_id=config.member_id("intake"),
        session_timeout=config.session_timeout,
    )
