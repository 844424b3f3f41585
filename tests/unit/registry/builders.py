"""Real BusEvents for the registry tests: payload models wrapped in envelopes, plus a keyed hasher.

Event ids are derived from a label, so a scenario built twice has the same ids (permutation tests rebuild
nothing, but failures stay readable and reproducible).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.bus.envelope import Envelope
from services.bus.events import BusEvent
from services.bus.keys import key_for
from services.contracts.base import EventModel
from services.contracts.citizen import Departed, DetailsChanged, ReturnedHome, StayPurpose, StayReported
from services.contracts.common import Channel, Personal, Sex
from services.contracts.passport import (
    ApplicationSubmitted,
    PassportKind,
    PassportPrinted,
    PassportService,
    PaymentReceived,
)
from services.contracts.protection import (
    CaseCategory,
    CaseClosed,
    CaseOpened,
    CaseReopened,
    CaseTransferred,
    HotlineCallReceived,
    Urgency,
)
from services.reference.nik import generate_nik
from services.registry.facts import Observation
from services.registry.observation import observe
from services.sim.simulator import TrafficSimulator

KEY = b"registry-test-key"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def hasher(value: str) -> str:
    return hmac.new(KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def wrap(payload: EventModel, time: datetime, label: str, *, source: str | None = None) -> BusEvent:
    """A BusEvent as a producer would publish it; ``label`` fixes the event id."""
    envelope = Envelope.new(
        source=source or str(getattr(payload, "office")),  # noqa: B009
        type=payload.SCHEMA,
        dataschema=f"urn:avro:{payload.SCHEMA}:0000000000000000",
        time=time,
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, label)),
        traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01",
    )
    return BusEvent(envelope=envelope, payload=payload, key=key_for(payload, KEY))


def obs_of(event: BusEvent) -> Observation:
    found = observe(event, hasher=hasher)
    assert found is not None
    return found


@dataclass(frozen=True)
class Person:
    nik: str
    full_name: str
    date_of_birth: date
    place_of_birth: str
    sex: Sex
    passport: str
    phone: str

    def personal(self, *, nik: bool = True, passport: bool = False, name: bool = True) -> Personal:
        return Personal(
            nik=self.nik if nik else None,
            full_name=self.full_name if name else None,
            date_of_birth=self.date_of_birth if name else None,
            place_of_birth=self.place_of_birth if name else None,
            sex=self.sex,
            passport_number=self.passport if passport else None,
            phone=self.phone,
        )


def person(seed: int, full_name: str, born: date, place: str, sex: Sex, passport: str) -> Person:
    nik = generate_nik(random.Random(seed), date_of_birth=born, sex=sex.value)
    return Person(nik, full_name, born, place, sex, passport, f"+1212555{seed:04d}")


SITI = person(1, "Siti Nurhaliza", date(1990, 5, 17), "Lombok Timur", Sex.FEMALE, "C1234567")
BUDI = person(2, "Budi Santoso", date(1985, 1, 3), "Surabaya", Sex.MALE, "B7654321")
DEWI = person(3, "Dewi Lestari", date(1979, 11, 30), "Bandung", Sex.FEMALE, "A1111111")


def stay(personal: Personal, office: str, ref: str, time: datetime, label: str, **kw: object) -> BusEvent:
    fields: dict[str, object] = {"country": "US", "city": "New York", "arrival_date": date(2025, 9, 1)}
    fields.update(kw)
    payload = StayReported(
        office=office,
        office_record_ref=ref,
        personal=personal,
        purpose=StayPurpose.WORK,
        channel=Channel.WEB,
        **fields,
    )
    return wrap(payload, time, label)


def details(personal: Personal, office: str, ref: str, time: datetime, label: str, **kw: str) -> BusEvent:
    payload = DetailsChanged(
        office=office, office_record_ref=ref, personal=personal, channel=Channel.APP, **kw
    )
    return wrap(payload, time, label)


def departed(office: str, ref: str, destination: str, time: datetime, label: str) -> BusEvent:
    payload = Departed(
        office=office,
        office_record_ref=ref,
        departure_date=time.date(),
        destination_country=destination,
        channel=Channel.APP,
    )
    return wrap(payload, time, label)


def returned(office: str, ref: str, time: datetime, label: str) -> BusEvent:
    payload = ReturnedHome(office=office, office_record_ref=ref, return_date=time.date(), channel=Channel.APP)
    return wrap(payload, time, label)


def submitted(personal: Personal, app: str, office: str, time: datetime, label: str) -> BusEvent:
    payload = ApplicationSubmitted(
        application_id=app,
        office=office,
        service=PassportService.RENEWAL,
        passport_kind=PassportKind.ELECTRONIC,
        pages=48,
        personal=personal,
        officer_id="o-1",
    )
    return wrap(payload, time, label)


def paid(app: str, office: str, time: datetime, label: str) -> BusEvent:
    payload = PaymentReceived(
        application_id=app,
        office=office,
        amount_minor=35000,
        currency="USD",
        receipt_ref="R-1",
        method="CARD",
    )
    return wrap(payload, time, label)


def printed(number: str, app: str, office: str, time: datetime, label: str) -> BusEvent:
    payload = PassportPrinted(
        application_id=app,
        office=office,
        printed_at=office,
        personal=Personal(passport_number=number),
        issue_date=date(2026, 3, 1),
        expiry_date=date(2036, 3, 1),
        officer_id="o-2",
    )
    return wrap(payload, time, label)


def hotline(
    case: str, office: str, time: datetime, label: str, personal: Personal | None, subject: bool
) -> BusEvent:
    payload = HotlineCallReceived(
        case_id=case,
        office=office,
        call_id=f"call-{label}",
        line="+1-212-HOTLINE",
        category=CaseCategory.UNPAID_WAGES,
        urgency=Urgency.HIGH,
        caller_is_subject=subject,
        personal=personal,
        channel=Channel.HOTLINE,
    )
    return wrap(payload, time, label)


def opened(personal: Personal, case: str, office: str, time: datetime, label: str) -> BusEvent:
    payload = CaseOpened(
        case_id=case,
        office=office,
        category=CaseCategory.UNPAID_WAGES,
        urgency=Urgency.HIGH,
        country="US",
        personal=personal,
        channel=Channel.HOTLINE,
        officer_id="o-3",
    )
    return wrap(payload, time, label)


def closed(case: str, office: str, time: datetime, label: str) -> BusEvent:
    return wrap(CaseClosed(case_id=case, office=office, outcome="RESOLVED", officer_id="o-3"), time, label)


def reopened(case: str, office: str, time: datetime, label: str) -> BusEvent:
    return wrap(CaseReopened(case_id=case, office=office, reason="NEW-FACTS", officer_id="o-3"), time, label)


def transferred(case: str, office: str, to_office: str, time: datetime, label: str) -> BusEvent:
    payload = CaseTransferred(
        case_id=case, office=office, to_office=to_office, reason="MOVED", officer_id="o"
    )
    return wrap(payload, time, label)


NY, DC, LA, CHI = "kjri-new-york", "kbri-washington", "kjri-los-angeles", "kjri-chicago"


def four_offices_history() -> list[BusEvent]:
    """Siti's stay in NY, her move to DC, a passport renewed in LA and a protection case in Chicago."""
    return [
        stay(SITI.personal(), NY, "NY-1", at(0), "a"),
        stay(SITI.personal(), DC, "DC-1", at(48), "b", city="Washington"),
        submitted(SITI.personal(passport=True), "APP-1", LA, at(60), "c"),
        printed("C7777777", "APP-1", LA, at(90), "d"),
        opened(SITI.personal(nik=True, name=False), "CASE-1", CHI, at(100), "e"),
    ]


def tricky_history() -> list[BusEvent]:
    """A small history full of identity work: renames, merges through passports, applications and cases,
    weak-only duplicates, namesakes with different NIKs, late and early events.
    """
    ny, dc, la, sf = "kjri-new-york", "kbri-washington", "kjri-los-angeles", "kjri-san-francisco"
    namesake = Person(
        "", SITI.full_name, SITI.date_of_birth, SITI.place_of_birth, Sex.FEMALE, "X9", "+13105550199"
    )
    other_nik = generate_nik(random.Random(99), date_of_birth=SITI.date_of_birth, sex="FEMALE")
    return [
        # Siti: NY without NIK, then NIK via DetailsChanged (rename), DC with NIK, passport at LA.
        stay(SITI.personal(nik=False), ny, "NY-1", at(0), "s1"),
        details(SITI.personal(), ny, "NY-1", at(5), "s2", city="Brooklyn"),
        stay(SITI.personal(), dc, "DC-7", at(30), "s3", city="Washington", arrival_date=date(2025, 12, 1)),
        paid("APP-S", la, at(39), "s4"),
        submitted(SITI.personal(passport=True), "APP-S", la, at(40), "s5"),
        printed("C7777777", "APP-S", la, at(60), "s6"),
        # Budi: passport-only stay at SF, then an application linking the passport to his NIK.
        stay(
            BUDI.personal(nik=False, passport=True, name=False), sf, "SF-3", at(2), "b1", city="San Francisco"
        ),
        submitted(BUDI.personal(passport=True), "APP-B", sf, at(20), "b2"),
        hotline("CASE-B", sf, at(21), "b3", BUDI.personal(nik=False, name=False), subject=False),
        opened(BUDI.personal(), "CASE-B", sf, at(22), "b4"),
        transferred("CASE-B", sf, la, at(23), "b5"),
        closed("CASE-B", la, at(50), "b6"),
        departed(sf, "SF-3", "ID", at(70), "b7"),
        # Dewi: weak-only twice (two offices, no NIK): a candidate; then a case and a return.
        stay(DEWI.personal(nik=False), ny, "NY-9", at(3), "d1"),
        stay(DEWI.personal(nik=False), dc, "DC-2", at(4), "d2", city="Washington"),
        reopened("CASE-D", ny, at(9), "d3"),
        opened(DEWI.personal(nik=False), "CASE-D", ny, at(8), "d4"),
        returned(ny, "NY-9", at(80), "d5"),
        # Siti's namesake with another NIK, and one without any (a candidate against Siti's NIK record).
        stay(
            namesake.personal(nik=False).model_copy(update={"nik": other_nik}),
            la,
            "LA-5",
            at(6),
            "n1",
            city="Los Angeles",
        ),
        stay(namesake.personal(nik=False), sf, "SF-8", at(7), "n2", city="San Francisco"),
    ]


def simulated(seed: int, count: int) -> list[BusEvent]:
    """``count`` events of the traffic simulator, wrapped as published (ids derived from seed and index).

    The passport service's booking traffic is left out: the registry observes none of it.
    """
    simulator = TrafficSimulator(seed, start=T0, population=40, booking=False)
    return [
        wrap(item.event, item.time, f"sim-{seed}-{index}", source=item.source)
        for index, item in enumerate(simulator.next_batch(count))
    ]
