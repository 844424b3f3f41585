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


class EncodeError(BusError):
    """A record could not be written with its schema (a producer-side bug or bad input)."""

    reason = "ENCODE_FAILED"


class PublishError(BusError):
    """The broker did not acknowledge a record."""

    reason = "PUBLISH_FAILED"


class ProcessingFailed(BusError):
    """A valid event that a processor could not handle: a defect to fix, then re-publish the dead letter."""

    reason = "PROCESSING_FAILED"


class TopicMissing(BusError):
    """A topic that was asked for does not exist on the broker (not created yet, or a typo)."""

    reason = "TOPIC_MISSING"
