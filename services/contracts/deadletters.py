"""The dead-letter figures' contract: refused records counted per reason, component, source and hour."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from services.contracts.common import matching
from services.contracts.registry_fields import Count, Timestamp, ViewModel

NAMESPACE = "id.go.kemlu.bus.deadletters.v1"

ReasonCode = Annotated[str, matching(r"[A-Z][A-Z_]{0,39}", "reason must be an upper-case code")]
ComponentName = Annotated[str, matching(r"[a-z0-9][a-z0-9-]{0,63}", "component must be a lower-case name")]
SourceCode = Annotated[str, matching(r"[a-z0-9][a-z0-9-]{0,63}", "source must be an office code or unknown")]


class DeadLetterCountModel(ViewModel):
    """``DeadLetterCount``: one partition's absolute figure of one group of dead letters."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.DeadLetterCount"
    TOPIC: ClassVar[str] = "deadletters.figures"

    reason: ReasonCode
    component: ComponentName
    source: SourceCode
    hour: Timestamp
    partition: Annotated[int, Field(ge=0, le=2**31 - 1)]
    count: Count
    as_of: Timestamp

    @property
    def group(self) -> str:
        """The key without the partition: what the figures of all partitions are summed by."""
        return f"{self.reason}|{self.component}|{self.source}|{self.hour:%Y-%m-%dT%H}"

    @property
    def record_key(self) -> str:
        """The Kafka record key: the group and the partition."""
        return f"{self.group}|{self.partition}"
