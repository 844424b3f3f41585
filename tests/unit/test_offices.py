"""Reference data of the representative offices and home agencies."""

from __future__ import annotations

import re
import zoneinfo
from collections import Counter

import pytest

from services.reference.offices import (
    Office,
    OfficeType,
    agencies,
    all_offices,
    get_office,
    immigration_offices,
    is_known_office,
    missions,
    offices_in,
)

CODE_RE = re.compile(r"^[a-z]+(-[a-z]+)*$")


class TestCounts:
    def test_mission_counts_match_the_network(self) -> None:
        """There are 95 embassies, 34 consulates and 3 permanent missions: 132 missions in all."""
        counts = Counter(office.type for office in missions())
        assert counts[OfficeType.EMBASSY] == 95
        assert counts[OfficeType.CONSULATE] == 34
        assert counts[OfficeType.PERMANENT_MISSION] == 3
        assert len(missions()) == 132

    def test_agencies_are_the_home_agencies(self) -> None:
        """The agencies are exactly the immigration, PWNI and central-staff offices, all in Indonesia."""
        assert {office.code for office in agencies()} == {"ditjen-imigrasi", "kemlu-pwni", "kemlu-pusat"}
        assert all(office.country == "ID" and office.type is OfficeType.AGENCY for office in agencies())
        assert len(all_offices()) == len(missions()) + len(agencies()) + len(immigration_offices())

    def test_immigration_offices_take_passports_at_home(self) -> None:
        """At least the twenty busiest kantor imigrasi are there, all kanim- codes in Indonesia."""
        found = immigration_offices()
        assert len(found) >= 20
        assert all(o.code.startswith("kanim-") and o.country == "ID" and not o.is_mission for o in found)
        assert get_office("kanim-jakarta-selatan").type is OfficeType.IMMIGRATION_OFFICE


class TestCodes:
    def test_codes_are_unique(self) -> None:
        """No two offices share a code."""
        codes = [office.code for office in all_offices()]
        assert len(codes) == len(set(codes))

    def test_codes_are_lower_case_ascii_with_hyphens(self) -> None:
        """Every code is stable lower-case ascii words joined by hyphens."""
        bad = [office.code for office in all_offices() if not CODE_RE.fullmatch(office.code)]
        assert bad == []

    def test_prefix_matches_type(self) -> None:
        """kbri- codes are embassies, kjri-/kri- consulates, ptri- permanent missions."""
        prefixes = {
            OfficeType.EMBASSY: ("kbri-",),
            OfficeType.CONSULATE: ("kjri-", "kri-"),
            OfficeType.PERMANENT_MISSION: ("ptri-",),
        }
        for office in missions():
            assert office.code.startswith(prefixes[office.type]), office.code

    @pytest.mark.parametrize(
        "code",
        [
            "kbri-washington",
            "kbri-tokyo",
            "kbri-kuala-lumpur",
            "kbri-riyadh",
            "kjri-new-york",
            "kjri-los-angeles",
            "kjri-jeddah",
            "kjri-hong-kong",
            "kjri-johor-bahru",
            "kri-tawau",
            "kri-vanimo",
            "ptri-new-york",
            "ptri-geneva",
            "ptri-asean",
            "ditjen-imigrasi",
            "kemlu-pwni",
            "kemlu-pusat",
        ],
    )
    def test_named_examples_are_present(self, code: str) -> None:
        """The offices other modules and documents name explicitly exist."""
        assert is_known_office(code)
        assert get_office(code).code == code


class TestFields:
    def test_countries_are_two_upper_case_letters(self) -> None:
        """Countries are ISO 3166-1 alpha-2 shaped, and PTRI ASEAN sits in Indonesia."""
        assert all(re.fullmatch(r"[A-Z]{2}", office.country) for office in all_offices())
        assert get_office("ptri-asean").country == "ID"
        assert get_office("kjri-hong-kong").country == "HK"

    def test_timezones_are_known_iana_zones(self) -> None:
        """Every timezone loads with zoneinfo."""
        for office in all_offices():
            zoneinfo.ZoneInfo(office.timezone)

    def test_names_carry_the_office_kind(self) -> None:
        """Names start with their kind (KBRI/KJRI/KRI/PTRI) and keep punctuation such as D.C."""
        assert get_office("kbri-washington").name == "KBRI Washington, D.C."
        for office in missions():
            assert office.name.split()[0] == office.code.split("-")[0].upper()

    def test_offices_are_frozen(self) -> None:
        """Office is immutable so cached reference data cannot be altered by a caller."""
        office = get_office("kbri-tokyo")
        with pytest.raises(AttributeError):
            office.city = "Osaka"  # type: ignore[misc]
        assert isinstance(office, Office)


class TestLookups:
    def test_unknown_code_raises_key_error(self) -> None:
        """get_office raises KeyError and is_known_office says False for an unknown code."""
        with pytest.raises(KeyError):
            get_office("kbri-atlantis")
        assert not is_known_office("kbri-atlantis")
        assert not is_known_office("KBRI-TOKYO")

    def test_all_offices_is_cached(self) -> None:
        """Repeated calls return the very same tuple (the CSV is parsed once)."""
        assert all_offices() is all_offices()

    def test_offices_in_lists_embassy_first(self) -> None:
        """offices_in gives a country's missions with the embassy first, and nothing for no mission."""
        malaysia = offices_in("MY")
        assert malaysia[0].code == "kbri-kuala-lumpur"
        assert {o.code for o in malaysia} >= {"kjri-johor-bahru", "kjri-penang", "kri-tawau"}
        assert offices_in("TW") == ()
