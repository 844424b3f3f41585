"""The traffic view's contract: records per domain topic, office and minute, per partition."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from services.contracts.base import ContractModel
from services.contracts.common import AVRO_INT_MAX, AVRO_LONG_MAX, matching
from services.contracts.registry_fields import Count, Timestamp, ViewModel

NAMESPACE = "id.go.kemlu.bus.traffic.v1"

Domain = Literal["citizen", "passport", "protection"]
SourceCode = Annotated[str, matching(r"[a-z0-9][a-z0-9-]{0,63}", "office must be an office code or unknown")]


class MinuteCount(ContractModel):
    """Records of one minute of log time (the minute's start, UTC)."""

    minute: Timestamp
    count: Annotated[int, Field(ge=1, le=AVRO_LONG_MAX)]


class OfficeTrafficModel(ViewModel):
    """``OfficeTraffic``: one partition's absolute traffic figure of one office on one domain topic."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.OfficeTraffic"
    TOPIC: ClassVar[str] = "traffic.figures"

    domain: Domain
    office: SourceCode
    partition: Annotated[int, Field(ge=0, le=AVRO_INT_MAX)]
    total: Count
    last_heard: Timestamp
    minutes: tuple[MinuteCount, ...]
    as_of: Timestamp

    @property
    def group(self) -> str:
        """The key without the partition: what the figures of all partitions are summed by."""
        return f"{self.domain}|{self.office}"

    @property
    def record_key(self) -> str:
        """The Kafka record key: ``<domain>|<office>|<partition>``."""
        return f"{self.group}|{self.partition}"
