"""Record keys: pseudonymous, reproducible by any language holding the key."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from services.bus.keys import citizen_hasher, citizen_key, keyed_hash, office_ref_key
from services.bus.settings import BusSettings
from services.registry.identifiers import weak_key


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
