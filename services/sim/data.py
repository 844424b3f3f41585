"""Reference tables behind the traffic simulator: names, phone plans, currencies, where people go.

Kept apart from the flows so they read as flows. The numbers are plausible shapes (the big
migrant-worker destinations dominate; Lombok and East Java send many), not official statistics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from services.contracts.common import Sex
from services.reference.offices import missions

__all__ = [
    "ASEAN",
    "CASE_COUNTRY_WEIGHTS",
    "COUNTRIES",
    "FAMILY_NAMES",
    "FEMALE_NAMES",
    "MALE_NAMES",
    "MIGRANT_COUNTRIES",
    "OFFICE_WEIGHTS",
    "RATES",
    "REGENCY_TOWNS",
    "Country",
]


@dataclass(frozen=True, slots=True)
class Country:
    """What the simulator needs about a country: its mobile numbering, money, weekend and cities."""

    code: str
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    rest_digits: int
    currency: str
    weekend: frozenset[int]  # date.weekday() numbers
    cities: tuple[str, ...]


# country, calling code, mobile prefixes, digits after the prefix, currency (missions charge the passport
# fee in it; USD where local practice varies). E.164 shapes are right; the numbers are random.
_PLANS: Final = """
AE 971 50,52,54,55,56,58 7 AED | AF 93 70,72,77,78,79 7 USD | AR 54 911 8 USD | AT 43 664,676,699 7 EUR
AU 61 4 8 AUD | AZ 994 50,51,55,70,77 7 USD | BA 387 61,62,63 6 EUR | BD 880 13,15,16,17,18,19 8 USD
BE 32 47,48,49 7 EUR | BG 359 87,88,89 7 EUR | BH 973 33,34,36,39 6 BHD | BN 673 7,8 6 BND
BR 55 119,619 8 USD | CA 1 416,604,613,647 7 CAD | CH 41 76,77,78,79 7 CHF | CL 56 9 8 USD
CN 86 13,15,18 9 CNY | CO 57 30,31,32 8 USD | CU 53 5 7 USD | CZ 420 6,7 8 EUR | DE 49 151,157,170,176 8 EUR
DK 45 2,3 7 EUR | DZ 213 5,6,7 8 USD | EC 593 9 8 USD | EG 20 10,11,12 8 USD | ES 34 6 8 EUR
ET 251 9 8 USD | FI 358 40,50 7 EUR | FJ 679 7,9 6 USD | FR 33 6,7 8 EUR | GB 44 7 9 GBP | GR 30 69 8 EUR
HK 852 5,6,9 7 HKD | HR 385 91,92,95,98,99 7 EUR | HU 36 20,30,70 7 EUR | ID 62 812,813,821,852,878 8 IDR
IN 91 7,8,9 9 INR | IQ 964 75,77,78,79 8 USD | IR 98 91,93,99 8 USD | IT 39 3 9 EUR | JO 962 77,78,79 7 JOD
JP 81 70,80,90 8 JPY | KE 254 7 8 USD | KH 855 12,15,16,17,92 6 USD | KP 850 191 7 USD | KR 82 10 8 KRW
KW 965 5,6,9 7 KWD | KZ 7 70,77 8 USD | LA 856 20 8 USD | LB 961 3,70,71 6 USD | LK 94 7 8 USD
LY 218 91,92 7 USD | MA 212 6 8 USD | MG 261 32,33,34 7 USD | MM 95 9 8 USD | MX 52 55 8 USD
MY 60 11,12,13,14,16,17,19 7 MYR | MZ 258 82,84,85,86 7 USD | NA 264 81,85 7 USD | NC 687 7,8,9 5 EUR
NG 234 80,81,70,90 8 USD | NL 31 6 8 EUR | NO 47 4,9 7 EUR | NZ 64 21,22,27 7 NZD | OM 968 9 7 OMR
PA 507 6 7 USD | PE 51 9 8 USD | PG 675 7 7 USD | PH 63 9 9 PHP | PK 92 3 9 USD | PL 48 5,6,7,8 8 EUR
PT 351 9 8 EUR | QA 974 3,5,6,7 7 QAR | RO 40 7 8 EUR | RS 381 6 8 EUR | RU 7 9 9 USD | SA 966 5 8 SAR
SD 249 9 8 USD | SE 46 7 8 EUR | SG 65 8,9 7 SGD | SK 421 9 8 EUR | SN 221 7 8 USD | SR 597 8 6 USD
SY 963 9 8 USD | TH 66 6,8,9 8 THB | TL 670 7 7 USD | TN 216 2,5,9 7 USD | TR 90 5 9 TRY | TW 886 9 8 USD
TZ 255 6,7 8 USD | UA 380 50,63,67,93 7 USD | US 1 202,212,213,312,415,646,713,917 7 USD | UZ 998 9 8 USD
VA 39 3 9 EUR | VE 58 412,414,424 7 USD | VN 84 9,3 8 USD | YE 967 7 8 USD | ZA 27 6,7,8 8 USD
ZW 263 7 8 USD
"""

#: Rupiah per unit and the ISO 4217 minor-unit exponent, for the fee conversion.
RATES: Final[dict[str, tuple[float, int]]] = {
    "AED": (4400, 2), "AUD": (10600, 2), "BHD": (43000, 3), "BND": (12300, 2), "CAD": (11700, 2),
    "CHF": (18600, 2), "CNY": (2250, 2), "EUR": (17600, 2), "GBP": (20800, 2), "HKD": (2080, 2),
    "IDR": (1, 2), "INR": (190, 2), "JOD": (22800, 3), "JPY": (107, 0), "KRW": (11.7, 0),
    "KWD": (52800, 3), "MYR": (3650, 2), "NZD": (9700, 2), "OMR": (42000, 3), "PHP": (285, 2),
    "QAR": (4450, 2), "SAR": (4320, 2), "SGD": (12300, 2), "THB": (470, 2), "TRY": (460, 2),
    "USD": (16200, 2),
}  # fmt: skip

_FRI_SAT: Final = frozenset({4, 5})
_WEEKENDS: Final[dict[str, frozenset[int]]] = {
    **dict.fromkeys(
        ("SA", "QA", "KW", "BH", "OM", "JO", "EG", "IQ", "SY", "YE", "SD", "DZ", "LY", "AF"), _FRI_SAT
    ),
    "IR": frozenset({3, 4}),
    "BN": frozenset({4, 6}),
}

_EXTRA_CITIES: Final[dict[str, tuple[str, ...]]] = {
    "MY": ("Shah Alam", "Petaling Jaya", "Klang", "Ipoh", "Seremban", "Melaka", "Sandakan", "Miri"),
    "SA": ("Dammam", "Mecca", "Medina", "Taif", "Abha"),
    "AE": ("Sharjah", "Al Ain", "Ajman"),
    "JP": ("Nagoya", "Yokohama", "Fukuoka", "Hiroshima"),
    "KR": ("Busan", "Incheon", "Ansan", "Gimhae"),
    "AU": ("Brisbane", "Adelaide"),
    "US": ("Seattle", "Philadelphia", "Boston"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht", "Leiden"),
    "DE": ("Munich", "Cologne", "Aachen"),
    "GB": ("Manchester", "Birmingham", "Edinburgh"),
    "CN": ("Shenzhen", "Xiamen"),
    "TW": ("Taipei", "Taichung", "Kaohsiung", "Taoyuan"),
    "SG": ("Singapore",),
    "HK": ("Hong Kong",),
    "EG": ("Alexandria",),
}


def _countries() -> dict[str, Country]:
    office_cities: dict[str, list[str]] = {}
    for office in missions():
        office_cities.setdefault(office.country, []).append(office.city)
    out: dict[str, Country] = {}
    for code, calling, prefixes, rest, currency in re.findall(
        r"([A-Z]{2}) (\d+) ([\d,]+) (\d+) ([A-Z]{3})", _PLANS
    ):
        cities = tuple(dict.fromkeys([*office_cities.get(code, ()), *_EXTRA_CITIES.get(code, ())]))
        out[code] = Country(
            code=code,
            calling_code=calling,
            mobile_prefixes=tuple(prefixes.split(",")),
            rest_digits=int(rest),
            currency=currency,
            weekend=_WEEKENDS.get(code, frozenset({5, 6})),
            cities=cities,
        )
    return out


COUNTRIES: Final = _countries()

MIGRANT_COUNTRIES: Final = frozenset(
    {"MY", "SA", "HK", "SG", "AE", "QA", "KW", "BH", "OM", "BN", "KR", "JP", "TW", "JO"}
)
ASEAN: Final = frozenset({"BN", "KH", "LA", "MM", "MY", "PH", "SG", "TH", "TL", "VN"})

#: Relative share of registered stays per office; every mission not listed weighs 1 so each one shows up.
OFFICE_WEIGHTS: Final[dict[str, float]] = {
    "kbri-kuala-lumpur": 30, "kjri-johor-bahru": 15, "kjri-kota-kinabalu": 12, "kjri-penang": 8,
    "kjri-kuching": 6, "kri-tawau": 8, "kjri-jeddah": 18, "kbri-riyadh": 10, "kjri-hong-kong": 20,
    "kbri-singapore": 12, "kbri-seoul": 8, "kbri-tokyo": 8, "kjri-osaka": 5, "kjri-dubai": 6,
    "kbri-abu-dhabi": 4, "kbri-doha": 5, "kbri-kuwait": 3, "kbri-bandar-seri-begawan": 4,
    "kbri-the-hague": 5, "kbri-cairo": 4, "kjri-sydney": 4, "kjri-melbourne": 4, "kjri-perth": 3,
    "kbri-canberra": 2, "kbri-washington": 3, "kjri-new-york": 3, "kjri-los-angeles": 3,
    "kjri-san-francisco": 2, "kbri-london": 2, "kbri-berlin": 2, "kbri-beijing": 2, "kjri-guangzhou": 2,
    "kjri-shanghai": 2, "kbri-bangkok": 2, "kbri-dili": 2, "kbri-amman": 2, "kbri-muscat": 2,
    "kbri-manila": 1.5, "kjri-davao-city": 1.5, "kbri-phnom-penh": 1.5, "kri-darwin": 1.5,
}  # fmt: skip

#: Where protection cases come from (TW is handled by the PWNI directorate: no mission there).
CASE_COUNTRY_WEIGHTS: Final[dict[str, float]] = {
    "MY": 30, "SA": 16, "HK": 9, "TW": 9, "AE": 5, "SG": 5, "QA": 3, "KR": 4, "JP": 4, "KW": 2, "BH": 1,
    "OM": 2, "BN": 2, "JO": 1, "KH": 5, "MM": 3, "LA": 1.5, "PH": 2, "TH": 2, "VN": 1, "TL": 1, "AU": 2,
    "US": 2, "NL": 1, "DE": 1, "TR": 1, "EG": 1, "CN": 1, "IN": 0.5, "GB": 0.5, "FR": 0.5, "ZA": 0.5,
}  # fmt: skip

MALE_NAMES: Final = tuple(
    re.findall(
        r"\S+",
        """Agus Ahmad Andi Arif Bambang Bayu Budi Dedi Dimas Eko Fajar Hendra Irfan Joko Kurniawan Muhammad
        Rizky Rudi Slamet Sugeng Taufik Teguh Wahyu Yusuf Yoga Hadi Iwan Gilang Made Wayan Ketut Ilham Reza
        Aditya Dwi Heri Asep Ujang Darmawan Supriyadi Sutrisno Mulyadi Hasan Rahmat Yohanes Stefanus""",
    )
)
FEMALE_NAMES: Final = tuple(
    re.findall(
        r"\S+",
        """Siti Sri Dewi Ayu Rina Wati Nur Putri Indah Fitri Yuni Ratna Sari Endang Kartika Nurul Dian Wulan
        Ani Lina Tuti Suharti Sumiati Nining Eka Nia Rini Mega Novi Intan Rahma Yanti Ningsih Komang Kadek
        Lilis Euis Neneng Sumarni Maria Yohana Fransiska Aisyah Khadijah""",
    )
)
FAMILY_NAMES: Final[dict[Sex, tuple[str, ...]]] = {
    Sex.MALE: tuple(
        re.findall(
            r"\S+",
            """Pratama Saputra Hidayat Setiawan Nugroho Wijaya Santoso Susanto Purnomo Hartono Kusuma Siregar
            Nasution Harahap Simanjuntak Sitompul Hutapea Lubis Ginting Tarigan Sembiring Wenas Rumengan
            Manurung Gunawan Firmansyah Ramadhan Hakim Syahputra Hermawan Sutisna Rahman""",
        )
    ),
    Sex.FEMALE: tuple(
        re.findall(
            r"\S+",
            """Lestari Rahayu Handayani Wulandari Puspitasari Anggraini Maharani Permatasari Kusumawati
            Safitri Utami Susanti Rahmawati Purwanti Wahyuni Siregar Nasution Lubis Ginting Hutapea Pertiwi
            Novitasari Fitriani Kurniasih Oktaviani""",
        )
    ),
}

#: Town for each regency/city code ``nik.generate_nik`` uses, so place of birth matches the NIK region.
REGENCY_TOWNS: Final[dict[str, str]] = {
    "3201": "Bogor", "3204": "Bandung", "3209": "Cirebon", "3212": "Indramayu", "3213": "Subang",
    "3273": "Bandung", "3301": "Cilacap", "3302": "Purwokerto", "3318": "Pati", "3324": "Kendal",
    "3329": "Brebes", "3374": "Semarang", "3502": "Ponorogo", "3503": "Trenggalek", "3505": "Blitar",
    "3507": "Malang", "3509": "Jember", "3510": "Banyuwangi", "3578": "Surabaya", "3404": "Sleman",
    "3471": "Yogyakarta", "3171": "Jakarta", "3173": "Jakarta", "3174": "Jakarta", "3175": "Jakarta",
    "3603": "Tangerang", "3671": "Tangerang", "3674": "Tangerang Selatan", "5201": "Gerung",
    "5202": "Praya", "5203": "Selong", "5271": "Mataram", "5302": "Soe", "5303": "Kefamenanu",
    "5371": "Kupang", "1207": "Lubuk Pakam", "1271": "Medan", "1371": "Padang", "1471": "Pekanbaru",
    "1671": "Palembang", "1801": "Liwa", "1871": "Bandar Lampung", "2171": "Batam", "5171": "Denpasar",
    "6171": "Pontianak", "6471": "Balikpapan", "7171": "Manado", "7371": "Makassar", "8171": "Ambon",
    "9171": "Jayapura",
}  # fmt: skip
