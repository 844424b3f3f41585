"""Record keys: pseudonymous, reproducible by any language holding the key."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import ClassVar

import pytest
from pydantic import SecretStr

from services.bus.errors import KeyMismatch, MissingKeyId, UnknownKeyId
from services.bus.keys import (
    check_key,
    citizen_hasher,
    citizen_key,
    citizen_keyring,
    key_for,
    keyed_hash,
    nik_of,
    office_ref_key,
    plain_key,
)
from services.bus.settings import BusSettings
from services.registry.identifiers import weak_key
from tests.unit.test_keys_check import NIK, stay


class TestCitizenKey:
    def test_is_hmac_sha256_hex_over_the_nik(self) -> None:
        """The key is what any HMAC-SHA256 implementation computes: lower-case hex, 64 characters."""
        nik, secret = "3174055705900001", b"k"
        expected = hmac.new(b"k", nik.encode(), hashlib.sha256).hexdigest()
        assert citizen_key(nik, secret) == expected
        assert len(expected) == 64
        assert nik not in citizen_key(nik, secret)

    def test_known_vector(self) -> None:
        """A fixed vector other ministries can check their implementation against (also in the README)."""
        assert (
            citizen_key("3174055705900001", b"dev-only-citizen-key-change-me")
            == "754f830ee2ec1bf2a480346d2baf2ad4b384b5a99daf9f293a32bd13d3946fdb"
        )

    def test_office_reference_key(self) -> None:
        """Without a NIK the key names the registering office and its own reference."""
        assert office_ref_key("kjri-new-york", "NY-1") == "ref:kjri-new-york:NY-1"


class TestKeyedHash:
    def test_equals_the_citizen_key_for_a_nik(self) -> None:
        """Processors index a NIK under exactly the key producers put on the record."""
        nik, secret = "3174055705900001", b"dev-only-citizen-key-change-me"
        assert keyed_hash(nik, secret) == citizen_key(nik, secret)

    def test_hashes_any_text(self) -> None:
        """Names from every office's alphabet hash (UTF-8), differently from their ASCII look-alikes."""
        hasher = citizen_hasher(BusSettings())
        names = ["Søren Ølberg|1990-01-01|bandung", "محمد|1990-01-01|jakarta", "李华|1990-01-01|medan"]
        hashes = {hasher(name) for name in names}
        assert len(hashes) == 3
        assert hasher("Soren Olberg|1990-01-01|bandung") not in hashes
        assert all(len(h) == 64 for h in hashes)

    def test_a_non_ascii_name_makes_a_weak_key(self) -> None:
        """The registry's weak key of a name outside ASCII is a pseudonym, not an error (it once stalled
        the intake).
        """
        key = weak_key("Søren Ølberg", date(1990, 1, 1), "Bandung", citizen_hasher(BusSettings()))
        assert key is not None
        assert key.startswith("weak:")
        assert "Søren" not in key


class TestCheckKey:
    """``check_key`` on its own: the rule every consumer applies; what ``key_for`` makes passes it."""

    KEYRING: ClassVar[dict[str, bytes]] = {"dev-1": b"dev-only-citizen-key-change-me", "dev-2": b"next"}

    def test_what_key_for_makes_passes_under_its_key_id(self) -> None:
        payload = stay()
        for key_id, secret in self.KEYRING.items():
            check_key(payload, key_for(payload, secret).encode(), key_id, self.KEYRING)

    def test_a_key_under_one_id_does_not_pass_under_the_other(self) -> None:
        payload = stay()
        with pytest.raises(KeyMismatch, match="under key id dev-2"):
            check_key(payload, key_for(payload, self.KEYRING["dev-1"]).encode(), "dev-2", self.KEYRING)

    def test_nik_of_and_plain_key_split_key_for(self) -> None:
        """A NIK makes the key when there is one, the office reference when there is none."""
        with_nik, without = stay(), stay(nik=False)
        assert nik_of(with_nik) == NIK
        assert nik_of(without) is None
        assert key_for(without, b"any") == plain_key(without) == "ref:kjri-new-york:NY-2026-000123"
        assert key_for(with_nik, b"k") == citizen_key(NIK, b"k")

    def test_the_missing_and_unknown_key_id_are_told_apart(self) -> None:
        payload = stay()
        key = key_for(payload, self.KEYRING["dev-1"]).encode()
        with pytest.raises(MissingKeyId):
            check_key(payload, key, None, self.KEYRING)
        with pytest.raises(UnknownKeyId, match="it holds dev-1, dev-2"):
            check_key(payload, key, "dev-9", self.KEYRING)

    def test_the_keyring_holds_the_publishing_key_and_bus_citizen_keys(self) -> None:
        settings = BusSettings(citizen_key_id="dev-3", citizen_keys={"dev-2": SecretStr("next")})
        assert citizen_keyring(settings) == {"dev-2": b"next", "dev-3": b"dev-only-citizen-key-change-me"}
