"""Record keys: the aggregate id, never personal data.

Citizen events are keyed by HMAC-SHA256(citizen key, NIK) in lower-case hex, so Java and .NET producers
holding the same key compute the same key; the key's id travels in the ``bus_keyid`` header so the key can
rotate. An event without a NIK is keyed by the registering office's own record reference.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from services.bus.settings import BusSettings
from services.contracts.base import EventModel

KEYID_HEADER = "bus_keyid"


def citizen_key(nik: str, secret: bytes) -> str:
    """The pseudonymous citizen key: HMAC-SHA256 over the 16 ASCII digits of the NIK, hex."""
    return hmac.new(secret, nik.encode("ascii"), hashlib.sha256).hexdigest()


def keyed_hash(value: str, secret: bytes) -> str:
    """HMAC-SHA256 over the UTF-8 of any text, hex: how processors pseudonymise identifiers (a passport
    number, a name with birth date and place). For a NIK it is exactly ``citizen_key``.
    """
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def citizen_hasher(settings: BusSettings) -> Callable[[str], str]:
    """``keyed_hash`` with the bus's citizen key."""
    secret = settings.citizen_key.get_secret_value().encode()
    return lambda value: keyed_hash(value, secret)


def office_ref_key(office: str, record_ref: str) -> str:
    """The key of a citizen known only by an office's own reference (no NIK yet)."""
    return f"ref:{office}:{record_ref}"


def key_for(event: EventModel, secret: bytes) -> str:
    """The aggregate id of an event: citizen key, application id, case id, or candidate / citizen id."""
    if event.TOPIC == "citizen":
        personal = getattr(event, "personal", None)
        nik = getattr(personal, "nik", None) if personal is not None else None
        if nik:
            return citizen_key(nik, secret)
        return office_ref_key(str(getattr(event, "office")), str(getattr(event, "office_record_ref")))  # noqa: B009
    if event.TOPIC == "passport":
        return str(getattr(event, "application_id"))  # noqa: B009
    if event.TOPIC == "protection":
        return str(getattr(event, "case_id"))  # noqa: B009
    if event.TOPIC == "registry.decisions":
        # A match decision by its candidate, a split by the citizen it splits: one key, one order.
        return str(getattr(event, "candidate_id", None) or getattr(event, "citizen_id"))  # noqa: B009
    raise ValueError(f"no key rule for topic {event.TOPIC}")
