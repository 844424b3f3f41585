"""The bus's own error types, each with a stable reason code for dead letters and metrics.

Messages never carry personal data: they name fields, schemas and offices, never values.
"""

from __future__ import annotations


class BusError(Exception):
    """Base of everything the bus refuses; ``reason`` is the dead-letter reason code."""

    reason = "REJECTED"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedPayload(BusError):
    """The bytes are not Avro single-object encoded, or the body does not decode."""

    reason = "MALFORMED"


class UnknownSchema(BusError):
    """The writer schema's fingerprint or full name is not in ``schemas/``."""

    reason = "UNKNOWN_SCHEMA"


class InvalidEnvelope(BusError):
    """A CloudEvents header is missing or malformed, or disagrees with the payload."""

    reason = "INVALID_ENVELOPE"


class UnknownSource(BusError):
    """The event's source is not one of the known offices or agencies."""

    reason = "UNKNOWN_SOURCE"


class InvalidEvent(BusError):
    """The payload decodes but breaks a domain rule (a bad NIK, an unknown office, ...)."""

    reason = "INVALID_EVENT"


class FutureEvent(BusError):
    """The event time lies further in the future than the allowed clock skew."""

    reason = "FUTURE_EVENT"


class TimeOutOfRange(BusError):
    """The event time lies before the bus's lower bound (2000-01-01): a default or a typo, never an event."""

    reason = "TIME_OUT_OF_RANGE"


class WrongTopic(BusError):
    """The event type belongs on another topic: accepting it would put it out of its aggregate's order."""

    reason = "WRONG_TOPIC"


class DataschemaMismatch(BusError):
    """``ce_dataschema`` names another schema or fingerprint than the frame carries: the producer encoded
    with one contract and described another, so at least one of them is not what it believes it sends.
    """

    reason = "DATASCHEMA_MISMATCH"


class KeyMismatch(BusError):
    """The record key is not the one the payload gives: a wrong key spreads one aggregate's events over
    partitions (their order is lost) and the producer would never learn it.
    """

    reason = "KEY_MISMATCH"


class UnknownKeyId(BusError):
    """``bus_keyid`` names no citizen key the consumer holds, so the record key cannot be checked."""

    reason = "UNKNOWN_KEY_ID"


class MissingKeyId(BusError):
    """A citizen event with a NIK has no ``bus_keyid``: which HMAC key made its record key is unknown."""

    reason = "MISSING_KEY_ID"


class CorruptRecord(BusError):
    """The Kafka client library itself cannot read the record (a header key that is not UTF-8, a bad batch):
    only its topic, partition and offset are known, its bytes never reach us.
    """

    reason = "CORRUPT_RECORD"


class DecodeFailed(BusError):
    """The decoder failed on a record in a way no rule foresaw: a bus defect, kept so the stream goes on."""

    reason = "DECODE_FAILED"


class EncodeError(BusError):
    """A record could not be written with its schema (a producer-side bug or bad input)."""

    reason = "ENCODE_FAILED"


class PublishError(BusError):
    """The broker did not acknowledge a record."""

    reason = "PUBLISH_FAILED"


class EventConflict(BusError):
    """An event id already applied arrives with another body: a correction must be a new event (or a
    dead-letter replay of a refused one), never the same id carrying different facts.
    """

    reason = "EVENT_CONFLICT"


class ProcessingFailed(BusError):
    """A valid event that a processor could not handle: a defect to fix, then re-publish the dead letter."""

    reason = "PROCESSING_FAILED"


class TopicMissing(BusError):
    """A topic that was asked for does not exist on the broker (not created yet, or a typo)."""

    reason = "TOPIC_MISSING"
