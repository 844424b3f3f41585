"""A case follows its citizen: the registry worker and a protection worker on the real broker, the citizen of
an open case merged with another by an officer's decision, then split again by another.
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from deploy.kafka.launcher import free_port
from services.bus.publisher import EventMeta, Publisher
from services.bus.settings import BusSettings
from services.contracts.base import EventModel
from services.contracts.citizen import StayPurpose, StayReported
from services.contracts.common import Channel
from services.contracts.protection import CaseCategory, CaseOpened, Urgency
from services.contracts.registry import MatchConfirmed, RecordSplit
from services.registry.topics import CITIZENS
from tests.integration.protection_harness import WHO, get, protection_worker, read_latest
from tests.integration.registry_harness import ProcessorWorker, RegistryWorker, read_views
from tests.unit.registry.builders import SITI

CASE = "CS-IT-CITIZEN-0001"


def publish(settings: BusSettings, payload: EventModel, source: str, when: datetime) -> None:
    with Publisher(settings) as publisher:
        publisher.send_prepared([publisher.prepare(payload, EventMeta(source=source, time=when))])


def wait_for_citizen(cases: ProcessorWorker, settings: BusSettings, citizen_id: str) -> None:
    """Until protection.cases and the HTTP view name ``citizen_id`` as the case's citizen."""

    def named() -> bool:
        view = read_latest(settings, "protection.cases").get(CASE)
        return view is not None and view.citizen_id == citizen_id

    cases.wait_until(named, 90, f"the case to name {citizen_id}")
    status, body = get(cases, f"/protection/cases/{urllib.parse.quote(CASE)}", WHO)
    assert status == 200, body
    assert (body["citizen_id"], body["status"]) == (citizen_id, "OPEN")


class TestCaseFollowsItsCitizen:
    def test_merged_then_split_by_officers(
        self, worker: RegistryWorker, bus_settings: BusSettings, tmp_path: Path
    ) -> None:
        """An open case whose subject gave only a passport number belongs to the registry citizen holding
        it; a stay report of the same person with a NIK is another citizen, a weak match. An officer's
        MatchConfirmed merges the two under the NIK holder's id, and the case follows; a RecordSplit undoes
        it, and the case follows back to the passport holder's id.
        """
        settings = bus_settings
        port = free_port()
        cases = protection_worker(settings, tmp_path, "cases", port, [port])
        cases.start()
        try:
            now = datetime.now(UTC)
            opened = CaseOpened(
                case_id=CASE,
                office="kbri-washington",
                category=CaseCategory.DETENTION,
                urgency=Urgency.HIGH,
                country="US",
                personal=SITI.personal(nik=False, passport=True),
                channel=Channel.WALK_IN,
                officer_id="kbri-washington/001",
            )
            publish(settings, opened, "kbri-washington", now - timedelta(days=2))
            stay = StayReported(
                office="kjri-new-york",
                office_record_ref="NY-IT-1",
                personal=SITI.personal(),
                purpose=StayPurpose.WORK,
                channel=Channel.WEB,
                country="US",
                city="New York",
                arrival_date=date(2025, 9, 1),
            )
            publish(settings, stay, "kjri-new-york", now - timedelta(days=1))
            worker.wait_until(
                lambda: len((worker.get("/registry/candidates") or {}).get("candidates", [])) == 1,
                60,
                "the weak match",
            )
            candidate = worker.get("/registry/candidates")["candidates"][0]
            owner = dict(zip(candidate["anchors"], candidate["citizen_ids"], strict=True))
            by_passport = next(a for a in owner if a.startswith("passport:"))
            by_nik = next(a for a in owner if a.startswith("nik:"))
            wait_for_citizen(cases, settings, owner[by_passport])

            confirm = MatchConfirmed(
                decision_id="dec-it-case-confirm",
                candidate_id=candidate["candidate_id"],
                anchors=tuple(candidate["anchors"]),
                office="kemlu-pwni",
                reason="same-passport-photo",
                officer_id="officer-7",
            )
            publish(settings, confirm, "kemlu-pwni", now)
            worker.wait_until(
                lambda: read_views(settings, CITIZENS)[owner[by_passport]].merged_into == owner[by_nik],
                60,
                "the merge into the NIK holder",
            )
            wait_for_citizen(cases, settings, owner[by_nik])

            split = RecordSplit(
                decision_id="dec-it-case-split",
                citizen_id=owner[by_nik],
                merge_id=None,
                moved=(by_passport,),
                kept=(by_nik,),
                office="kemlu-pwni",
                reason="different-parents",
                officer_id="officer-7",
            )
            publish(settings, split, "kemlu-pwni", now)
            worker.wait_until(
                lambda: read_views(settings, CITIZENS)[owner[by_passport]].merged_into is None,
                60,
                "the split",
            )
            wait_for_citizen(cases, settings, owner[by_passport])
        finally:
            cases.stop()
