"""NIK (Nomor Induk Kependudukan), Indonesia's 16-digit population identity number.

Layout: ``PP RR DD ddmmyy SSSS`` = province, regency/city, district (Kemendagri region codes), the birth
date with 40 added to the day for women, and a serial 0001-9999. The NIK is the strongest key we have for
joining a citizen's records across offices, so a malformed one must be rejected at the edge; and because
it is personal data, no error message here ever contains the value (or any part of it).
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import date
from typing import Final, Literal

__all__ = [
    "PROVINCE_CODES",
    "Sex",
    "generate_nik",
    "nik_birth_date",
    "nik_sex",
    "validate_nik",
]

Sex = Literal["MALE", "FEMALE"]

#: Kemendagri province codes. 93-96 are the Papua provinces created in 2022 (Papua Selatan, Papua Tengah,
#: Papua Pegunungan, Papua Barat Daya); older NIKs issued there keep 91/92, so both stay valid.
PROVINCE_CODES: Final[frozenset[int]] = frozenset(
    # Sumatra, Riau Is., Java, Bali-Nusa Tenggara, Kalimantan, Sulawesi, Maluku, Papua
    (
        *range(11, 20),
        21,
        *range(31, 37),
        *range(51, 54),
        *range(61, 66),
        *range(71, 77),
        81,
        82,
        *range(91, 97),
    )
)

_PROVINCE_PREFIXES: Final = frozenset(f"{code:02d}" for code in PROVINCE_CODES)
_SIXTEEN_DIGITS: Final = re.compile(r"[0-9]{16}").fullmatch  # not \d: it matches non-ASCII digits too
_DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_FEMALE_DAY_OFFSET: Final = 40

#: Real regency/city codes (PPRR) weighted towards the home regions of Indonesians abroad: the big
#: migrant-worker sending regencies of East/Central/West Java, NTB and NTT, plus the metro areas that
#: send students and professionals. Weights are rough shares, not statistics.
_REGENCY_TABLE: Final = """
    3201:4 3204:3 3209:4 3212:5 3213:3 3273:3          Jawa Barat
    3301:5 3302:3 3318:2 3324:3 3329:4 3374:2          Jawa Tengah
    3502:5 3503:3 3505:4 3507:5 3509:3 3510:3 3578:3   Jawa Timur
    3404:1 3471:2 3171:2 3173:2 3174:3 3175:2          DI Yogyakarta, DKI Jakarta
    3603:2 3671:2 3674:2                               Banten
    5201:3 5202:5 5203:6 5271:1 5302:2 5303:2 5371:1   NTB (Lombok), NTT
    1207:1 1271:2 1371:1 1471:1 1671:1 1801:2 1871:1   Sumatra
    2171:1 5171:1 6171:1 6471:1 7171:1 7371:2 8171:1 9171:1   other provincial capitals
"""
_REGENCIES: Final = re.findall(r"(\d{4}):(\d+)", _REGENCY_TABLE)
_REGENCY_CODES: Final[tuple[str, ...]] = tuple(code for code, _ in _REGENCIES)
_REGENCY_CUM_WEIGHTS: Final[tuple[int, ...]] = tuple(itertools.accumulate(int(w) for _, w in _REGENCIES))


def validate_nik(nik: str) -> None:
    """Raise ValueError if ``nik`` is not a well-formed NIK; the message never echoes the input."""
    if not isinstance(nik, str) or _SIXTEEN_DIGITS(nik) is None:
        raise ValueError("NIK must be 16 digits")
    if nik[0:2] not in _PROVINCE_PREFIXES:
        raise ValueError("NIK province code is not an Indonesian province")
    if nik[2:4] == "00":
        raise ValueError("NIK regency/city code must not be 00")
    if nik[4:6] == "00":
        raise ValueError("NIK district code must not be 00")
    _decode_day_month_year(nik)
    if nik[12:16] == "0000":
        raise ValueError("NIK serial must not be 0000")


def _decode_day_month_year(nik: str) -> tuple[int, int, int]:
    """Day (women's +40 removed), month and 2-digit year; raises if no century makes it a real date."""
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > _FEMALE_DAY_OFFSET:
        day -= _FEMALE_DAY_OFFSET
    # A date valid in any century is valid in 20yy (2000 was a leap year, 1900 was not); checked by
    # table rather than by building a date because validation runs on every model carrying a NIK.
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month] or (month == 2 and day == 29 and yy % 4):
        raise ValueError("NIK birth date is not a valid date")
    return day, month, yy


def nik_birth_date(nik: str, *, today: date) -> date:
    """Birth date encoded in ``nik``: the latest date with those digits that is not after ``today``.

    The NIK only carries a 2-digit year, so someone born in 1925 and someone born in 2025 look alike; the
    caller supplies ``today`` so the answer is deterministic and testable.
    """
    validate_nik(nik)
    day, month, yy = _decode_day_month_year(nik)
    for century in (today.year // 100 * 100, today.year // 100 * 100 - 100):
        try:
            candidate = date(century + yy, month, day)
        except ValueError:  # 29 February in a non-leap century year
            continue
        if candidate <= today:
            return candidate
    raise ValueError("NIK birth date is not a valid date")


def nik_sex(nik: str) -> Sex:
    """Sex encoded in ``nik``: women have 40 added to the birth day."""
    validate_nik(nik)
    return "FEMALE" if int(nik[6:8]) > _FEMALE_DAY_OFFSET else "MALE"


def generate_nik(rng: random.Random, *, date_of_birth: date, sex: str) -> str:
    """A valid, realistic-looking NIK for test and simulated data (never a real person's on purpose).

    Region codes come from real regencies weighted towards migrant-sending areas; the district and
    serial are random. Decoding it with a ``today`` less than 100 years after the birth gives back
    ``date_of_birth`` and ``sex``.
    """
    if sex not in ("MALE", "FEMALE"):
        raise ValueError("sex must be MALE or FEMALE")
    regency = rng.choices(_REGENCY_CODES, cum_weights=_REGENCY_CUM_WEIGHTS)[0]
    district = rng.randint(1, 24)
    day = date_of_birth.day + (_FEMALE_DAY_OFFSET if sex == "FEMALE" else 0)
    serial = rng.randint(1, 9999)
    return (
        f"{regency}{district:02d}{day:02d}{date_of_birth.month:02d}{date_of_birth.year % 100:02d}{serial:04d}"
    )
