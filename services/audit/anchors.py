"""Anchors: an archive's chain head published on ``audit.anchors``, so a rewritten archive is found out.

The archive lies on a disk its keeper controls; the anchors lie on the bus, kept forever and written by
``bus archive`` only. Whoever rewrites archived files and re-chains their manifests still cannot make the
archive pass through the head an anchor recorded before.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.bus.catalogue import AUDIT_ANCHORS, create_topics, spec
from services.bus.codec import AvroCodec
from services.bus.consumer import raw_from_kafka
from services.bus.decoder import EventDecoder
from services.bus.errors import TopicMissing
from services.bus.reading import read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.contracts.audit import ArchiveAnchorModel
from services.runtime.publishing import ViewPublisher, wait_acknowledged

SOURCE = "kemlu-pusat"
"""``ce_source`` of an anchor: the ministry's central staff, who keep the archive."""


def publish_anchor(
    settings: BusSettings, *, archive_id: str, sequence: int, head_sha256: str, records: int
) -> ArchiveAnchorModel:
    """Publish the head of an archive's chain (creating ``audit.anchors`` if missing); returns once the
    broker has acknowledged it on every in-sync replica.
    """
    create_topics(settings, (spec(AUDIT_ANCHORS),))
    anchor = ArchiveAnchorModel(
        archive_id=archive_id,
        sequence=sequence,
        head_sha256=head_sha256,
        records=records,
        anchored_at=datetime.now(UTC),
    )
    publisher = ViewPublisher(settings, AvroCodec(load_registry(settings.schemas_dir)), SOURCE)
    try:
        future = publisher.send(AUDIT_ANCHORS, archive_id, anchor)
        wait_acknowledged(publisher.producer, [future])
    finally:
        publisher.producer.close()
    return anchor


def latest_anchor(settings: BusSettings, archive_id: str) -> ArchiveAnchorModel | None:
    """The last anchor published for ``archive_id``; None when there is none (or no anchors topic).

    Every record of the topic must decode as an anchor: one that does not is an error, not skipped, since
    an auditor must not be shown an older anchor because a newer one was spoiled.
    """
    decoder = EventDecoder(settings, load_registry(settings.schemas_dir))
    key = archive_id.encode()
    latest: ArchiveAnchorModel | None = None
    try:
        for message in read_to_end(settings, settings.topic(AUDIT_ANCHORS)):
            if message.key != key:
                continue
            view = decoder.decode_view(raw_from_kafka(message)).view
            if not isinstance(view, ArchiveAnchorModel):
                raise TypeError(f"audit.anchors offset {message.offset} holds no ArchiveAnchor")
            latest = view
    except TopicMissing:
        return None  # no archive was ever anchored on this bus (verify creates nothing)
    return latest
