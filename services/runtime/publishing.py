"""How processors publish: views encoded with the contracts, sent by kafka-python, waited for together.

The bus's own producer settings (acks=all, idempotence, murmur2 like every client of the bus) and
kafka-python's I/O thread: a core's event loop only encodes and appends, then waits once per chunk for
every acknowledgement (``wait_acknowledged``: the one place that decides how long that may take). Sending
each view through faust's producer cost the registry's core more than folding it did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kafka import KafkaProducer

from services.bus.codec import AvroCodec
from services.bus.envelope import Envelope
from services.bus.publisher import producer_config
from services.bus.settings import BusSettings

ACK_TIMEOUT = 60.0
"""Seconds a processor waits for the broker to acknowledge what it sent before it gives the batch up."""


def wait_acknowledged(producer: KafkaProducer, futures: Sequence[Any]) -> None:
    """Send what is buffered and wait until every one of ``futures`` is acknowledged (raises the first
    failure): nothing that depends on them (a commit, a stored progress) may happen before.
    """
    producer.flush(ACK_TIMEOUT)
    for future in futures:
        future.get(ACK_TIMEOUT)


def view_bytes(codec: AvroCodec, view: Any) -> bytes:
    """The Avro body of a view (a contract model or a ``PlainView``), framed: its plain Avro data through
    the writer generated for the contract (``AvroCodec.encode_plain``: fastavro's bytes, or fastavro
    itself for what that writer does not take). fastavro's own walk of a model's data was a fifth of
    what the passport's stages spent publishing.
    """
    return codec.encode_plain(view.SCHEMA, view.to_avro())


class ViewPublisher:
    """Sends views (``ViewModel``) and waits for their acknowledgements."""

    def __init__(self, settings: BusSettings, codec: AvroCodec, source: str) -> None:
        self.settings = settings
        self.codec = codec
        self.source = source
        self.producer = KafkaProducer(**producer_config(settings))

    def send(
        self,
        topic: str,
        key: str,
        view: Any,
        *,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> Any:
        """Encode ``view`` and hand it to the producer (``ce_id`` and ``ce_time`` as given, else fresh);
        returns the future of its acknowledgement.
        """
        contract = self.codec.registry.latest(view.SCHEMA)
        envelope = Envelope.new(
            source=self.source,
            type=view.SCHEMA,
            dataschema=contract.dataschema,
            subject=key,
            event_id=event_id,
            time=time,
        )
        value = view_bytes(self.codec, view)
        return self.producer.send(
            self.settings.topic(topic), value, key=key.encode(), headers=envelope.to_headers()
        )

    async def wait(self, futures: Sequence[Any]) -> None:
        """Until every one of ``futures`` is acknowledged (raises the first failure), off the event loop."""
        if futures:
            await asyncio.to_thread(wait_acknowledged, self.producer, futures)

    def close(self) -> None:
        """Flush and close the producer, waiting up to ``ACK_TIMEOUT`` for pending sends."""
        self.producer.close(ACK_TIMEOUT)
