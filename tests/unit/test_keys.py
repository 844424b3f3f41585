"""Record keys: pseudonymous, reproducible by any language holding the key."""

from __future__ import annotations

import hashlib
import hmac

from services.bus.keys import citizen_key, office_ref_key


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
