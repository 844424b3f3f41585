"""How the registry worker publishes its views: encoded with the contracts, sent by kafka-python.

The bus's own producer settings (acks=all, idempotence, murmur2 like every client of the bus) and
kafka-python's I/O thread: the core's event loop only encodes and appends, then waits once per chunk.
Sending each view through faust's producer cost the core more than folding it did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer

from services.bus.codec import AvroCodec
from services.bus.envelope import Envelope
from services.bus.publisher import producer_config
from services.bus.settings import BusSettings

ACK_TIMEOUT = 60.0


class ViewPublisher:
    """Sends views (``ViewModel``) and waits for their acknowledgements."""

    def __init__(self, settings: BusSettings, codec: AvroCodec, source: str) -> None:
        self.settings = settings
        self.codec = codec
        self.source = source
        self.producer = KafkaProducer(**producer_config(settings))

    def send(self, topic: str, key: str, view: Any) -> Any:
        """Encode ``view`` and hand it to the producer; returns the future of its acknowledgement."""
        contract = self.codec.registry.latest(view.SCHEMA)
        envelope = Envelope.new(
            source=self.source, type=view.SCHEMA, dataschema=contract.dataschema, subject=key
        )
        value = self.codec.encode(view.SCHEMA, view.to_avro())
        return self.producer.send(
            self.settings.topic(topic), value, key=key.encode(), headers=envelope.to_headers()
        )

    async def wait(self, futures: Sequence[Any]) -> None:
        """Until every one of ``futures`` is acknowledged (raises the first failure), off the event loop."""
        if futures:
            await asyncio.to_thread(self._wait, futures)

    def _wait(self, futures: Sequence[Any]) -> None:
        self.producer.flush(ACK_TIMEOUT)
        for future in futures:
            future.get(ACK_TIMEOUT)

    def close(self) -> None:
        """Flush and close the producer, waiting up to ``ACK_TIMEOUT`` for pending sends."""
        self.producer.close(ACK_TIMEOUT)
