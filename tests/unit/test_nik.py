"""NIK validation, decoding and generation."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.reference.nik import PROVINCE_CODES, generate_nik, nik_birth_date, nik_sex, validate_nik

TODAY = date(2026, 6, 1)

births = st.dates(min_value=TODAY - timedelta(days=99 * 365), max_value=TODAY)
sexes = st.sampled_from(["MALE", "FEMALE"])
seeds = st.integers(min_value=0, max_value=2**32)

#: A valid reference NIK: Kab. Lombok Timur (5203), district 05, woman born 12 March 1991, serial 0042.
VALID = "5203055203910042"


def _rejection(nik: str) -> str:
    try:
        validate_nik(nik)
    except ValueError as exc:
        return str(exc)
    return ""


def _assert_rejected(nik: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        validate_nik(nik)
    message = str(caught.value)
    if nik:
        assert nik not in message
    if len(nik) >= 12:  # not even the digits that carry the birth date may leak
        assert nik[6:12] not in message


class TestGenerated:
    @given(seed=seeds, born=births, sex=sexes)
    def test_generated_nik_validates_and_decodes_back(self, seed: int, born: date, sex: str) -> None:
        """Any generated NIK is valid and decodes back to its birth date and sex."""
        nik = generate_nik(random.Random(seed), date_of_birth=born, sex=sex)
        validate_nik(nik)
        assert len(nik) == 16
        assert int(nik[:2]) in PROVINCE_CODES
        assert nik_birth_date(nik, today=TODAY) == born
        assert nik_sex(nik) == sex

    def test_generation_is_deterministic_for_a_seed(self) -> None:
        """The same seed and inputs produce the same NIK."""
        born = date(1990, 1, 31)
        first = generate_nik(random.Random(7), date_of_birth=born, sex="FEMALE")
        assert first == generate_nik(random.Random(7), date_of_birth=born, sex="FEMALE")

    def test_generate_rejects_unknown_sex(self) -> None:
        """Only MALE and FEMALE can be encoded in a NIK."""
        with pytest.raises(ValueError, match="sex"):
            generate_nik(random.Random(1), date_of_birth=date(1990, 1, 1), sex="X")


class TestDecoding:
    def test_reference_nik_decodes(self) -> None:
        """A woman's day carries +40: 52 means the 12th, and the sex is FEMALE."""
        validate_nik(VALID)
        assert nik_birth_date(VALID, today=TODAY) == date(1991, 3, 12)
        assert nik_sex(VALID) == "FEMALE"
        assert nik_sex("3201051203910042") == "MALE"

    def test_century_is_the_latest_not_after_today(self) -> None:
        """A 2-digit year resolves to the most recent past date: 25 -> 2025, 27 -> 1927."""
        assert nik_birth_date("3201050101250001", today=TODAY) == date(2025, 1, 1)
        assert nik_birth_date("3201050101270001", today=TODAY) == date(1927, 1, 1)
        assert nik_birth_date("3201050106260001", today=TODAY) == date(2026, 6, 1)
        assert nik_birth_date("3201050206260001", today=TODAY) == date(1926, 6, 2)

    def test_leap_day_of_2000(self) -> None:
        """29 February 00 is valid (2000 was a leap year)."""
        assert nik_birth_date("3201052902000001", today=TODAY) == date(2000, 2, 29)

    def test_new_papua_provinces_are_accepted(self) -> None:
        """Codes 93-96 (provinces created in 2022) are valid provinces."""
        for province in (93, 94, 95, 96):
            validate_nik(f"{province}01050101900001")


class TestRejected:
    @pytest.mark.parametrize(
        ("nik", "fragment"),
        [
            ("", "16 digits"),
            ("520305520391004", "16 digits"),
            ("52030552039100421", "16 digits"),
            ("52030552O3910042", "16 digits"),
            ("5203 05520391004", "16 digits"),
            ("".join(chr(0xFF10 + int(d)) for d in VALID), "16 digits"),
            ("9903055203910042", "province"),
            ("2003055203910042", "province"),
            ("0003055203910042", "province"),
            ("5200055203910042", "regency"),
            ("5203005203910042", "district"),
            ("5203053203910042", "birth date"),
            ("5203057203910042", "birth date"),
            ("5203050003910042", "birth date"),
            ("5203054003910042", "birth date"),
            ("5203051213910042", "birth date"),
            ("5203051200910042", "birth date"),
            ("5203053002910042", "birth date"),
            ("5203052902910042", "birth date"),
            ("5203053104910042", "birth date"),
            ("5203051203910000", "serial"),
        ],
        ids=[
            "empty",
            "15-digits",
            "17-digits",
            "letter",
            "space",
            "full-width-digits",
            "province-99",
            "province-20",
            "province-00",
            "regency-00",
            "district-00",
            "day-32",
            "day-72",
            "day-00",
            "day-40",
            "month-13",
            "month-00",
            "feb-30",
            "feb-29-non-leap",
            "apr-31",
            "serial-0000",
        ],
    )
    def test_invalid_nik_raises_without_echoing_it(self, nik: str, fragment: str) -> None:
        """Each malformed NIK raises ValueError naming the problem, and the message never holds the input."""
        _assert_rejected(nik, fragment)

    @given(text=st.text(min_size=16, max_size=16))
    def test_arbitrary_text_never_leaks_into_message(self, text: str) -> None:
        """Whatever the input, a rejection message contains neither the input nor its digits."""
        message = _rejection(text)
        assert text not in message
        assert not any(ch.isdigit() for ch in message.replace("16", "").replace("00", ""))

    def test_decoders_validate_first(self) -> None:
        """nik_sex and nik_birth_date refuse malformed input too."""
        with pytest.raises(ValueError, match="16 digits"):
            nik_sex("123")
        with pytest.raises(ValueError, match="serial"):
            nik_birth_date("5203051203910000", today=TODAY)
