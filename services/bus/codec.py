"""Avro single-object encoding: ``C3 01`` + 8-byte CRC-64-AVRO fingerprint (little-endian) + body.

Any Avro library can read it knowing only ``schemas/``: the fingerprint names the writer schema, and the
reader resolves it to the latest revision of the same full name. No schema-registry server is involved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from services.bus.errors import EncodeError, MalformedPayload, UnknownSchema
from services.bus.modelreader import Read, model_reader
from services.bus.modelwriter import Write, model_writer
from services.bus.schemas import Contract, ContractRegistry
from services.contracts.base import EventModel

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


@dataclass(frozen=True)
class Decoded:
    """A decoded payload: the record in the reader's shape, and which schema wrote it."""

    record: dict[str, Any]
    writer: Contract
    reader: Contract


class AvroCodec:
    """Encodes with the latest revision of a full name; decodes any known revision into the latest."""

    def __init__(self, registry: ContractRegistry) -> None:
        self.registry = registry
        self._model_writers: dict[type[EventModel], tuple[bytes, Write] | None] = {}
        self._plain_writers: dict[str, tuple[bytes, Write] | None] = {}
        self._readers: dict[int, Read | None] = {}

    def encode(self, fullname: str, record: dict[str, Any]) -> bytes:
        """Frame ``record`` with its writer schema's fingerprint; raise EncodeError naming no values."""
        contract = self.registry.latest(fullname)
        buf = BytesIO()
        buf.write(MAGIC)
        buf.write(contract.fingerprint_bytes)
        try:
            schemaless_writer(buf, contract.schema, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # fastavro's messages quote the offending datum: keep only its type.
            raise EncodeError(f"record does not fit {fullname} ({type(exc).__name__})") from None
        return buf.getvalue()

    def encode_model(self, model: EventModel) -> bytes:
        """``encode(model.SCHEMA, model.to_avro())``: the same bytes, or the same error, only faster.

        The body is written straight from the model's fields by a writer built once per model class
        (``services.bus.modelwriter``); a model whose class has its own ``to_avro``, a schema the writer
        does not cover, or a value it does not take goes the general way.
        """
        cls = type(model)
        try:
            compiled = self._model_writers[cls]
        except KeyError:
            compiled = self._model_writer(cls)
        return _written(compiled, model, lambda: self.encode(model.SCHEMA, model.to_avro()))

    def encode_plain(self, fullname: str, record: dict[str, Any]) -> bytes:
        """``encode(fullname, record)``: the same bytes, or the same error, only faster, for the plain Avro
        data a view's hot path builds (a writer generated once per contract; the general way for a record
        or a schema the writer does not cover).
        """
        try:
            compiled = self._plain_writers[fullname]
        except KeyError:
            compiled = self._plain_writer(fullname)
        return _written(compiled, record, lambda: self.encode(fullname, record))

    def _plain_writer(self, fullname: str) -> tuple[bytes, Write] | None:
        """The frame and plain-data writer of ``fullname``, cached; None for the general way."""
        try:
            contract = self.registry.latest(fullname)
        except UnknownSchema:
            return None  # not cached: ``encode`` raises it
        write = model_writer(contract.schema, plain=True)
        compiled = None if write is None else (MAGIC + contract.fingerprint_bytes, write)
        self._plain_writers[fullname] = compiled
        return compiled

    def _model_writer(self, cls: type[EventModel]) -> tuple[bytes, Write] | None:
        """The frame (magic and fingerprint) and body writer of ``cls``, cached; None for the general way."""
        if cls.to_avro is not EventModel.to_avro:
            compiled = None
        else:
            try:
                contract = self.registry.latest(cls.SCHEMA)
            except UnknownSchema:
                return None  # not cached: ``encode`` raises it, after ``to_avro`` as it always did
            write = model_writer(contract.schema)
            compiled = None if write is None else (MAGIC + contract.fingerprint_bytes, write)
        self._model_writers[cls] = compiled
        return compiled

    def writer_of(self, data: bytes) -> Contract:
        """The contract named by the framing, without decoding the body."""
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise MalformedPayload("payload is not Avro single-object encoded (no C3 01 marker)")
        return self.registry.by_fingerprint(int.from_bytes(data[2:HEADER_SIZE], "little"))

    def decode(self, data: bytes, *, expected: str | None = None) -> Decoded:
        """Decode ``data``; with ``expected``, the writer must have that full name.

        A body written with the latest revision is read by a reader generated once per contract
        (``services.bus.modelreader``): the same record fastavro reads, or, for bytes the generated reader
        does not read itself, fastavro's own record or error (the general way).
        """
        writer = self.writer_of(data)
        if expected is not None and writer.fullname != expected:
            raise UnknownSchema(f"payload was written as {writer.fullname}, the envelope says {expected}")
        reader = self.registry.latest(writer.fullname)
        if reader is writer:  # the body needs no resolution: a generated reader may read it
            record = self._read_generated(data, writer)
            if record is not None:
                return Decoded(record=record, writer=writer, reader=reader)
        return self._decode_general(data, writer, reader)

    def _read_generated(self, data: bytes, writer: Contract) -> dict[str, Any] | None:
        """The body read by ``writer``'s generated reader; None when there is none or it does not read
        these bytes (the general way then decides); MalformedPayload for bytes left after the record.
        """
        try:
            read = self._readers[writer.fingerprint]
        except KeyError:
            read = self._readers[writer.fingerprint] = model_reader(writer.schema)
        if read is None:
            return None
        try:
            record, end = read(data, HEADER_SIZE)
        except Exception:  # noqa: BLE001 - Unfit, or a read that failed: fastavro decides, as it always did
            return None
        if end != len(data):
            raise MalformedPayload(f"{len(data) - end} trailing bytes after a {writer.fullname} body")
        return record

    def _decode_general(self, data: bytes, writer: Contract, reader: Contract) -> Decoded:
        """``data``'s body read by fastavro, resolved from ``writer``'s schema to ``reader``'s."""
        stream = BytesIO(data)
        stream.seek(HEADER_SIZE)
        try:
            record = schemaless_reader(stream, writer.schema, reader.schema)
        except Exception as exc:  # noqa: BLE001 - fastavro raises anything on bad bytes; all of it is "malformed"
            raise MalformedPayload(
                f"body does not decode as {writer.fullname} ({type(exc).__name__})"
            ) from None
        if stream.tell() != len(data):
            raise MalformedPayload(
                f"{len(data) - stream.tell()} trailing bytes after a {writer.fullname} body"
            )
        if not isinstance(record, dict):
            raise MalformedPayload(f"{writer.fullname} body is not a record")
        return Decoded(record=record, writer=writer, reader=reader)


def _written(compiled: tuple[bytes, Write] | None, datum: object, general: Callable[[], bytes]) -> bytes:
    """``datum`` framed and written by a generated writer; ``general()`` (fastavro, the same bytes or the
    same error) when there is none or it does not take the datum.
    """
    if compiled is None:
        return general()
    frame, write = compiled
    out = bytearray(frame)
    try:
        write(out, datum)
    except Exception:  # noqa: BLE001 - Unfit, or a field missing: fastavro decides, as it always did
        return general()
    return bytes(out)
