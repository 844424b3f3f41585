"""The registry's faust wiring: the agent ``registry-core`` on ``registry.observations`` and the start-up
catch-up, both handing their work to ``RegistryCore`` (faust runs them; it keeps no state of ours).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from services.registry.core import RegistryCore, apply_batch, catch_up, guarded


def register(app: Any, observations: Any, core: RegistryCore) -> None:
    """Add the core's agent on the ``observations`` faust topic, and its catch-up task, to ``app``."""
    config = core.config

    async def core_agent(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(config.batch_size, within=config.batch_within):
            batch = [(e.message.offset, e.message.value) for e in events]
            await guarded(core, partial(apply_batch, core, batch))
            yield None

    async def catch_up_on_start() -> None:
        await guarded(core, partial(catch_up, core))

    app.agent(observations, name="registry-core")(core_agent)
    app.task(catch_up_on_start)
