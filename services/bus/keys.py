"""Record keys: the aggregate id, never personal data.

Citizen events are keyed by HMAC-SHA256(citizen key, NIK) in lower-case hex, so Java and .NET producers
holding the same key compute the same key; the key's id travels in the ``bus_keyid`` header so the key can
rotate. An event without a NIK is keyed by the registering office's own record reference.

Consumers check the key against the payload (``check_key``): a producer with a wrong key would otherwise
spread one citizen's events over partitions, lose their order, and never learn it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from services.bus.errors import KeyMismatch, MissingKeyId, UnknownKeyId
from services.bus.settings import BusSettings
from services.contracts.base import EventModel

KEYID_HEADER = "bus_keyid"
_PLAIN_RULES = {
    "citizen": "a citizen event without a NIK is keyed ref:<office>:<office_record_ref> of its payload",
    "passport": "a passport event is keyed by its payload's application_id",
    "passport.quotas": "a quota is keyed by its payload's office",
    "protection": "a protection event is keyed by its payload's case_id",
    "registry.decisions": "a match decision is keyed by its candidate_id, a split by its citizen_id",
}


_SHA256_BLOCK = 64


@lru_cache(maxsize=16)
def _hmac_sha256_pads(secret: bytes) -> tuple[Any, Any]:
    """SHA-256 after the inner and outer padded key of HMAC (RFC 2104), computed once per key."""
    key = hashlib.sha256(secret).digest() if len(secret) > _SHA256_BLOCK else secret
    key = key.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner, outer


def hmac_sha256_hex(data: bytes, secret: bytes) -> str:
    """``hmac.new(secret, data, hashlib.sha256).hexdigest()``, from the key's padded states kept per key
    (half the cost: one HMAC per citizen event published or consumed).
    """
    inner, outer = _hmac_sha256_pads(secret)
    inner = inner.copy()
    inner.update(data)
    outer = outer.copy()
    outer.update(inner.digest())
    digest: str = outer.hexdigest()
    return digest


def citizen_key(nik: str, secret: bytes) -> str:
    """The pseudonymous citizen key: HMAC-SHA256 over the 16 ASCII digits of the NIK, hex."""
    return hmac_sha256_hex(nik.encode("ascii"), secret)


def keyed_hash(value: str, secret: bytes) -> str:
    """HMAC-SHA256 over the UTF-8 of any text, hex: how processors pseudonymise identifiers (a passport
    number, a name with birth date and place). For a NIK it is exactly ``citizen_key``.
    """
    return hmac_sha256_hex(value.encode("utf-8"), secret)


def citizen_hasher(settings: BusSettings) -> Callable[[str], str]:
    """``keyed_hash`` with the bus's citizen key."""
    secret = settings.citizen_key.get_secret_value().encode()
    return lambda value: keyed_hash(value, secret)


def citizen_keyring(settings: BusSettings) -> dict[str, bytes]:
    """Every citizen key a consumer accepts, by key id, as HMAC secrets (held in memory, never logged)."""
    return {
        key_id: secret.get_secret_value().encode() for key_id, secret in settings.citizen_keyring().items()
    }


def office_ref_key(office: str, record_ref: str) -> str:
    """The key of a citizen known only by an office's own reference (no NIK yet)."""
    return f"ref:{office}:{record_ref}"


def nik_of(event: EventModel) -> str | None:
    """The NIK a citizen event carries, or None (other topics' events are never keyed by one)."""
    if event.TOPIC != "citizen":
        return None
    personal = getattr(event, "personal", None)
    nik = getattr(personal, "nik", None) if personal is not None else None
    return str(nik) if nik else None


def plain_key(event: EventModel) -> str:
    """The key of an event without a NIK: office reference, application, case, candidate or citizen id."""
    if event.TOPIC == "citizen":
        return office_ref_key(str(getattr(event, "office")), str(getattr(event, "office_record_ref")))  # noqa: B009
    if event.TOPIC == "passport":
        return str(getattr(event, "application_id"))  # noqa: B009
    if event.TOPIC == "protection":
        return str(getattr(event, "case_id"))  # noqa: B009
    if event.TOPIC == "passport.quotas":
        return str(getattr(event, "office"))  # noqa: B009
    if event.TOPIC == "registry.decisions":
        # A match decision by its candidate, a split by the citizen it splits: one key, one order.
        return str(getattr(event, "candidate_id", None) or getattr(event, "citizen_id"))  # noqa: B009
    raise ValueError(f"no key rule for topic {event.TOPIC}")


def key_for(event: EventModel, secret: bytes) -> str:
    """The aggregate id of an event: citizen key, application id, case id, or candidate / citizen id."""
    nik = nik_of(event)
    return citizen_key(nik, secret) if nik else plain_key(event)


def check_key(event: EventModel, key: bytes | None, key_id: str | None, keyring: Mapping[str, bytes]) -> None:
    """Refuse a record key the payload does not give; each error says what to fix, and echoes neither the
    NIK, nor the key, nor a key id the consumer does not hold (a header may carry anything).

    With a NIK: ``bus_keyid`` must name a key of ``keyring`` (MISSING_KEY_ID, UNKNOWN_KEY_ID) and the key
    be HMAC-SHA256 of the NIK under it (KEY_MISMATCH). Without: the plain key of ``plain_key``.
    """
    nik = nik_of(event)
    if nik is None:
        if key != plain_key(event).encode():
            raise KeyMismatch(f"the record key is not what the payload gives: {_PLAIN_RULES[event.TOPIC]}")
        return
    if not key_id:
        raise MissingKeyId(
            f"a citizen event with a NIK needs the {KEYID_HEADER} header: the id of the HMAC key that made "
            "its record key"
        )
    secret = keyring.get(key_id)
    if secret is None:
        held = ", ".join(sorted(keyring))
        raise UnknownKeyId(
            f"{KEYID_HEADER} names no citizen key this consumer holds (it holds {held}): key with a current "
            "key from the bus operators and send its id"
        )
    expected = citizen_key(nik, secret).encode()
    if key is None or not hmac.compare_digest(key, expected):
        raise KeyMismatch(
            f"the record key is not HMAC-SHA256 of the NIK under key id {key_id} (64 lower-case hex digits)"
            + _hint(event, nik, key, expected, keyring)
        )


def _hint(
    event: EventModel, nik: str, key: bytes | None, expected: bytes, keyring: Mapping[str, bytes]
) -> str:
    """The likely slip behind a wrong citizen key, when it is one of the common ones (cheap to test)."""
    if key is None:
        return ": the record has no key"
    if key == nik.encode():
        return ": it is the NIK itself, which must never be a key"
    if key.lower() == expected:
        return ": it is upper-case hex"
    if key == plain_key(event).encode():
        return ": it is the office reference, but the event carries a NIK"
    for other, secret in sorted(keyring.items()):
        if hmac.compare_digest(key, citizen_key(nik, secret).encode()):
            return f": it was made with key id {other}, so send that id in {KEYID_HEADER}"
    return ""
