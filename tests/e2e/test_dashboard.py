"""The dashboard in a real browser (chromium, driven by Playwright) against the real broker, the registry
and traffic workers and the front door, each a process of its own: a central-desk user logs in and sees
the figures; events published through the SDK change the numbers on the page, without a reload, to what
the view topics hold (read here, independently of the front door); an office officer sees their own office
only and is refused another office's figures; a screenshot of the page is kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from deploy.kafka.launcher import free_port
from services.bus.catalogue import create_topics
from services.bus.codec import AvroCodec
from services.bus.publisher import EventMeta, Publisher
from services.bus.reading import end_offsets, read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import REPO_ROOT, BusSettings
from services.cli.main import all_topics
from services.contracts.citizen import StayReported
from services.contracts.registry import OfficeCountModel
from services.contracts.traffic import OfficeTrafficModel
from services.dashboard.accounts import Passwords, Role
from services.dashboard.users import UserStore
from tests.integration.registry_harness import ProcessorWorker

PASSWORD = "correct horse battery staple"
OFFICE, COUNTRY = "kbri-tokyo", "JP"
OTHER_OFFICE, OTHER_COUNTRY = "kjri-new-york", "US"
WAIT_MS = 60_000


@dataclass
class Stack:
    settings: BusSettings
    base: str
    workers: list[ProcessorWorker]
    door: subprocess.Popen[bytes]
    door_log: Path


def stay(n: int, office: str, country: str) -> tuple[StayReported, EventMeta]:
    """A stay report of citizen ``n`` (a valid NIK of its own) at ``office``."""
    event = StayReported.model_validate(
        {
            "office": office,
            "office_record_ref": f"E2E-{office}-{n:04d}",
            "personal": {
                "nik": f"317405570590{n:04d}",
                "full_name": f"Warga {n}",
                "date_of_birth": date(1990, 5, 17),
                "sex": "FEMALE",
            },
            "country": country,
            "city": "Tokyo" if country == COUNTRY else "New York",
            "purpose": "WORK",
            "arrival_date": date(2026, 1, 5),
            "channel": "WEB",
        }
    )
    return event, EventMeta(source=office, time=datetime.now(UTC) - timedelta(minutes=1))


def latest(settings: BusSettings, model: Any) -> dict[str, Any]:
    """The latest record per key of a compacted view topic, read here."""
    codec = AvroCodec(load_registry(settings.schemas_dir))
    found: dict[str, Any] = {}
    for message in read_to_end(settings, settings.topic(model.TOPIC)):
        found[message.key.decode()] = model.from_avro(codec.decode(message.value).record)
    return found


def citizens_on_topic(settings: BusSettings, key: str) -> int:
    record = latest(settings, OfficeCountModel).get(key)
    return 0 if record is None else int(record.citizens)


def citizen_traffic_on_topic(settings: BusSettings, office: str | None = None) -> int:
    """Citizen records of the last hour (the current minute and the 59 before it), summed over partitions
    from the latest record per key of ``traffic.figures``.
    """
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=59)
    return sum(
        minute.count
        for record in latest(settings, OfficeTrafficModel).values()
        if record.domain == "citizen" and (office is None or record.office == office)
        for minute in record.minutes
        if start <= minute.minute <= now
    )


def shown(page: Page, element: str) -> int:
    value = page.get_attribute(f"#{element}", "data-value")
    assert value is not None
    return int(value)


def wait_for(what: str, check: Callable[[], bool], timeout: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture
def stack(bus_settings: BusSettings, tmp_path: Path) -> Iterator[Stack]:
    """Topics, a registry and a traffic worker, the front door with two accounts; all stopped at the end."""
    settings = bus_settings
    create_topics(settings, all_topics())
    registry = ProcessorWorker(settings, tmp_path / "registry-data", free_port(), tmp_path / "registry.log")
    traffic = ProcessorWorker(
        settings,
        tmp_path / "traffic-data",
        free_port(),
        tmp_path / "traffic.log",
        command=("traffic", "worker"),
        env_prefix="TRAFFIC_",
        answers_on="/stats",
        instance="e2e-traffic",
    )
    datadir = tmp_path / "dashboard"
    store = UserStore(datadir / "users.sqlite3", Passwords(time_cost=1, memory_kib=8, parallelism=1))
    store.add("desk", Role.CENTRAL_DESK, password=PASSWORD)
    store.add("tokyo", Role.OFFICE_OFFICER, office=OFFICE, password=PASSWORD)
    port, log = free_port(), tmp_path / "dashboard.log"
    env = {
        **os.environ,
        "BUS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "BUS_TOPIC_PREFIX": settings.topic_prefix,
        "BUS_PARTITIONS": str(settings.partitions),
        "DASHBOARD_DATADIR": str(datadir),
        "DASHBOARD_PORT": str(port),
        "DASHBOARD_SECURE_COOKIES": "false",
        "DASHBOARD_REGISTRY_URL": f"http://127.0.0.1:{registry.port}",
        "DASHBOARD_PROCESSORS": f"registry=http://127.0.0.1:{registry.port},traffic=http://127.0.0.1:{traffic.port}",
        "DASHBOARD_ARGON2_TIME_COST": "1",
        "DASHBOARD_ARGON2_MEMORY_KIB": "8",
        "DASHBOARD_ARGON2_PARALLELISM": "1",
    }
    with log.open("ab") as out:
        door = subprocess.Popen(
            [sys.executable, "-m", "services", "dashboard"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    running = Stack(settings, f"http://127.0.0.1:{port}", [], door, log)
    try:
        for worker in (registry, traffic):
            worker.start()
            running.workers.append(worker)
        wait_for("the front door", lambda: answers(f"{running.base}/api/health"), 30)
        yield running
    finally:
        door.terminate()
        try:
            door.wait(20)
        except subprocess.TimeoutExpired:
            door.kill()
        for worker in running.workers:
            worker.stop()


def log_in(browser: Browser, base: str, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1440, "height": 1100}, locale="en-GB")
    page.goto(base)
    page.wait_for_selector("#login-form")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_selector("#live-status[data-state=live]", timeout=WAIT_MS)
    return page


def test_the_dashboard_live_in_a_browser(stack: Stack, chromium: Path, tmp_path: Path) -> None:
    """The desk's page follows the view topics as events arrive; the officer's shows one office only."""
    settings = stack.settings
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            desk = log_in(browser, stack.base, "desk")
            assert desk.get_attribute("#panel-citizens", "hidden") is None
            assert shown(desk, "citizens-abroad") == citizens_on_topic(settings, "abroad") == 0
            assert shown(desk, "traffic-hour-citizen") == 0
            assert shown(desk, "traffic-offices") == 132
            url_before = desk.url

            with Publisher(settings) as publisher:
                publisher.publish_many(
                    [stay(n, OFFICE, COUNTRY) for n in range(1, 13)]
                    + [stay(n, OTHER_OFFICE, OTHER_COUNTRY) for n in range(13, 21)]
                )

            def desk_follows_the_topics() -> bool:
                abroad = citizens_on_topic(settings, "abroad")
                traffic = citizen_traffic_on_topic(settings)
                return (
                    abroad == 20
                    and traffic == 20
                    and shown(desk, "citizens-abroad") == abroad
                    and shown(desk, "traffic-hour-citizen") == traffic
                    and shown(desk, "traffic-heard") == 2
                )

            wait_for("the desk's page to show what the view topics hold", desk_follows_the_topics)
            assert desk.url == url_before  # no reload: the stream brought the figures
            assert desk.locator(f"#citizens-office-chart g[data-label='{OFFICE}']").get_attribute(
                "data-value"
            ) == str(citizens_on_topic(settings, f"office:{OFFICE}"))
            citizen_ends = end_offsets(settings, settings.topic("citizen"))

            def lag_shows_the_stored_progress() -> bool:
                rows = desk.eval_on_selector_all(
                    "#lag-table tbody tr[data-stage=traffic-citizen]",
                    "rows => rows.map(r => [Number(r.dataset.partition), Number(r.dataset.progress),"
                    " Number(r.dataset.lag)])",
                )
                return {p: (progress, lag) for p, progress, lag in rows} == {
                    p: (end, 0) for p, end in citizen_ends.items()
                }

            wait_for("the traffic worker's progress in the lag table", lag_shows_the_stored_progress)

            desk.click("#lang-id")
            assert desk.inner_text("#panel-citizens h2") == "WNI di luar negeri"
            assert desk.get_attribute("html", "lang") == "id"
            desk.click("#lang-en")
            assert desk.inner_text("#panel-citizens h2") == "Citizens abroad"
            shot = tmp_path / "dashboard.png"
            desk.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            kept = REPO_ROOT / "var" / "artifacts"  # outlives the test's tmp dir; not committed
            kept.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, kept / "dashboard.png")

            officer = log_in(browser, stack.base, "tokyo")
            assert OFFICE in officer.inner_text("#scope-note")
            wait_for(
                "the officer's page to show their office's figures",
                lambda: (
                    shown(officer, "citizens-abroad") == citizens_on_topic(settings, f"office:{OFFICE}") == 12
                    and shown(officer, "traffic-hour-citizen")
                    == citizen_traffic_on_topic(settings, OFFICE)
                    == 12
                ),
            )
            assert officer.get_attribute("#panel-deadletters", "hidden") is not None
            assert officer.get_attribute("#panel-lag", "hidden") is not None
            assert OTHER_OFFICE not in officer.content()
            refused = officer.evaluate(
                "async (office) => (await fetch(`/api/figures?office=${office}`)).status", OTHER_OFFICE
            )
            assert refused == 403
            own = officer.evaluate("async () => (await fetch('/api/figures')).json()")
            assert own["office"] == OFFICE
            assert OTHER_OFFICE not in str(own)
        finally:
            browser.close()
    assert stack.door.poll() is None, stack.door_log.read_text()[-3000:]
