"""Who saw whom: every lookup of one citizen recorded on ``registry.access``, for an auditor.

A citizen is named by a NIK or a citizen id. A NIK is hashed with the bus's citizen key into the ``nik:``
identifier the registry spells, and the citizen id derived from it (``cit-`` + a hash of the best
identifier, a NIK being the best there is): the NIK itself is never kept, shown or logged. A person may
have been known under other ids that were merged into theirs (or theirs into another): lookups under every
id of the same person, as ``registry.citizens`` now links them by ``merged_into``, are listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.bus.codec import AvroCodec
from services.bus.errors import TopicMissing
from services.bus.reading import read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.registry import RecordAccessedModel
from services.reference.nik import validate_nik
from services.registry.identifiers import citizen_id_for, nik_identifier
from services.registry.topics import ACCESS, CITIZENS

__all__ = ["AccessRow", "access_rows", "citizen_of", "lookups_of", "same_person"]

CITIZEN_ID_PREFIX = "cit-"


@dataclass(frozen=True)
class AccessRow:
    """One lookup of the citizen: when, who, from which office, why, by what, under which id."""

    accessed_at: str
    requested_by: str
    office: str
    purpose: str
    lookup: str
    citizen_id: str
    access_id: str

    def as_dict(self) -> dict[str, str]:
        """The row as JSON data."""
        return dict(self.__dict__)


def citizen_of(citizen: str, hasher: Callable[[str], str]) -> str:
    """The citizen id ``citizen`` names: itself if it is one, else the id of the NIK it is (ValueError,
    never echoing the input, if it is neither).
    """
    text = citizen.strip()
    if text.startswith(CITIZEN_ID_PREFIX):
        return text
    validate_nik(text)
    return citizen_id_for(nik_identifier(text, hasher))


def same_person(citizen_id: str, merged_into: Mapping[str, str | None]) -> set[str]:
    """Every id of the person ``citizen_id`` is: those linked to it by ``merged_into``, either way."""

    def root(cid: str) -> str:
        seen = {cid}
        while (into := merged_into.get(cid)) is not None and into not in seen:
            seen.add(into)
            cid = into
        return cid

    top = root(citizen_id)
    return {cid for cid in {citizen_id, *merged_into} if root(cid) == top}


def access_rows(records: Iterable[RecordAccessedModel], ids: set[str]) -> list[AccessRow]:
    """The lookups that found one of ``ids``, oldest first."""
    rows = [
        AccessRow(
            accessed_at=r.accessed_at.isoformat().replace("+00:00", "Z"),
            requested_by=r.requested_by,
            office=r.office,
            purpose=str(r.purpose),
            lookup=str(r.lookup),
            citizen_id=r.citizen_id,
            access_id=r.access_id,
        )
        for r in records
        if r.citizen_id is not None and r.citizen_id in ids
    ]
    return sorted(rows, key=lambda row: (row.accessed_at, row.access_id))


def _latest(settings: BusSettings, topic: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """(key, Avro record) of every record of ``topic`` (catalogue name), in partition and offset order."""
    codec = AvroCodec(load_registry(settings.schemas_dir))
    try:
        messages = list(read_to_end(settings, settings.topic(topic)))
    except TopicMissing:  # never created: nothing was recorded there
        return
    for message in messages:
        if message.value is None or message.key is None:
            continue
        yield message.key.decode(), codec.decode(message.value).record


def lookups_of(settings: BusSettings, citizen_id: str) -> list[AccessRow]:
    """Every lookup of the person ``citizen_id`` is, from the history of ``registry.access``."""
    merged_into: dict[str, str | None] = {}
    for key, record in _latest(settings, CITIZENS):  # the Avro data: no need to validate personal parts
        into = record.get("merged_into")
        merged_into[key] = into if isinstance(into, str) else None
    ids = same_person(citizen_id, merged_into)
    accesses = (RecordAccessedModel.from_avro(record) for _, record in _latest(settings, ACCESS))
    return access_rows(accesses, ids)
