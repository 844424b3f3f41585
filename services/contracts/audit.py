"""The auditors' contracts: the archive's record (a Kafka record as the broker held it) and the anchor of an
archive's manifest chain on ``audit.anchors``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from services.contracts.base import ContractModel
from services.contracts.common import AVRO_LONG_MAX, matching
from services.contracts.registry_fields import Count, Timestamp, ViewModel
from services.contracts.registry_items import InternalModel

NAMESPACE = "id.go.kemlu.bus.audit.v1"

Sha256Hex = Annotated[str, matching(r"[0-9a-f]{64}", "a SHA-256 must be 64 lower-case hex digits")]
ArchiveId = Annotated[str, matching(r"[0-9a-f-]{36}", "an archive id must be a UUID")]
AvroInt = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
AvroLong = Annotated[int, Field(ge=-(2**63), le=AVRO_LONG_MAX)]


class Header(ContractModel):
    """``Header``: one Kafka record header, its value's bytes as Kafka returned them."""

    name: str
    value: bytes | None = None


class ArchivedRecordModel(InternalModel):
    """``ArchivedRecord``: the record of the archive files (``services/audit``), not of a topic.

    ``TOPIC`` names the archive (``bus archive``), since no topic carries these records.
    """

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.ArchivedRecord"
    TOPIC: ClassVar[str] = "audit.archive"

    topic: Annotated[str, Field(min_length=1)]
    partition: Annotated[int, Field(ge=0, le=2**31 - 1)]
    offset: Annotated[int, Field(ge=0, le=AVRO_LONG_MAX)]
    timestamp_ms: AvroLong
    timestamp_type: AvroInt
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[Header, ...]


class ArchiveAnchorModel(ViewModel):
    """``ArchiveAnchor``: an archive's chain head, published on ``audit.anchors``; no personal data."""

    SCHEMA: ClassVar[str] = f"{NAMESPACE}.ArchiveAnchor"
    TOPIC: ClassVar[str] = "audit.anchors"

    archive_id: ArchiveId
    sequence: Count
    head_sha256: Sha256Hex
    records: Count
    anchored_at: Timestamp
