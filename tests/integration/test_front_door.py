"""The front door and the registry worker on the real broker: the worker's port refuses a person's record
without the service credential (figures stay open); a lookup through the front door (its real sources,
built from its settings, served by uvicorn, asked by ``bus registry get`` with an account's token) is
recorded on ``registry.access`` under the authenticated account, role and office, with the purpose given;
an office officer's lookup of another office's citizen is refused and recorded as not shown; the auditor
reads both back from the access log.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from deploy.kafka.launcher import free_port
from services.bus.codec import AvroCodec
from services.bus.reading import read_to_end
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.cli.main import app as cli
from services.contracts.registry import RecordAccessedModel
from services.contracts.registry_record import CitizenRecordModel
from services.dashboard.accounts import Passwords, Role
from services.dashboard.app import build_app
from services.dashboard.settings import DashboardSettings
from services.dashboard.users import UserStore
from services.registry.mapping import citizen_record_view
from services.registry.topics import ACCESS
from tests.integration.registry_harness import SERVICE_TOKEN, RegistryWorker
from tests.integration.test_registry import send, simulated, wait_for_all

CHEAP = Passwords(time_cost=1, memory_kib=8, parallelism=1)
PASSWORD = "correct horse battery staple"


def access_records(settings: BusSettings) -> list[RecordAccessedModel]:
    codec = AvroCodec(load_registry(settings.schemas_dir))
    return [
        RecordAccessedModel.from_avro(codec.decode(m.value).record)
        for m in read_to_end(settings, settings.topic(ACCESS))
    ]


def citizens(worker: RegistryWorker, settings: BusSettings) -> list[CitizenRecordModel]:
    """The live registry's records of citizens with a NIK and an office of residence, after 1,500 events."""
    outgoing, model, observed = simulated(settings, 1_500, seed=707)
    send(settings, outgoing)
    wait_for_all(worker, settings, observed)
    views = [citizen_record_view(cid, record) for cid, record in model.records.items()]
    found = [v for v in views if v.personal is not None and v.personal.nik and v.residence.office]
    assert len(found) > 10
    return found


def test_the_registry_port_refuses_a_person_without_the_service_credential(
    worker: RegistryWorker, bus_settings: BusSettings
) -> None:
    record = citizens(worker, bus_settings)[0]
    assert record.personal is not None
    nik = str(record.personal.nik)
    asked = {"requested_by": "officer-7", "office": "kbri-tokyo", "purpose": "AUDIT"}
    for body in ({"nik": nik, **asked}, {"citizen_id": record.citizen_id, **asked}):
        status, answer = worker.post("/registry/lookup", body, credential=False)
        assert status == 401
        assert "service credential" in answer["error"]
        assert nik not in json.dumps(answer)
        assert record.personal.full_name not in json.dumps(answer)
    wrong = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}/registry/citizens/{record.citizen_id}",
        headers={
            "Authorization": "Bearer not-the-credential",
            "X-Requested-By": "x",
            "X-Office": "kbri-tokyo",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=10)
    assert refused.value.code == 401
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/registry/counts", timeout=10) as r:
        assert json.loads(r.read())["abroad"] > 0  # figures hold no person: open on loopback
    assert access_records(bus_settings) == []  # refused before anything was read, so nothing to record
    log = worker.log.read_text(errors="replace")
    assert "no service credential" in log
    assert nik not in log


@dataclass
class FrontDoor:
    url: str
    store: UserStore
    tokens: dict[str, str]


@pytest.fixture
def front_door(
    worker: RegistryWorker, bus_settings: BusSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FrontDoor]:
    """``build_app`` as ``bus dashboard`` serves it (uvicorn, a free port), its sources built from its
    settings and the environment: the registry worker's port, the broker, the service credential.
    """
    monkeypatch.setenv("BUS_SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("BUS_BOOTSTRAP_SERVERS", bus_settings.bootstrap_servers)
    monkeypatch.setenv("BUS_TOPIC_PREFIX", bus_settings.topic_prefix)
    settings = DashboardSettings(
        datadir=tmp_path / "dashboard",
        secure_cookies=False,
        registry_url=f"http://127.0.0.1:{worker.port}",
        access_log_cache_seconds=0,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )
    store = UserStore(settings.users_db, CHEAP)
    port = free_port()
    door = FrontDoor(f"http://127.0.0.1:{port}", store, {})
    for username, role in (("desk", Role.CENTRAL_DESK), ("auditor", Role.AUDITOR)):
        store.add(username, role, password=PASSWORD)
        door.tokens[username] = store.issue_token(username, "tests")[1]
    config = uvicorn.Config(
        build_app(settings, bus_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the front door did not start"
        time.sleep(0.1)
    yield door
    server.should_exit = True
    thread.join(30)


def call(door: FrontDoor, path: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(door.url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_lookup_through_the_front_door_is_recorded_with_the_authenticated_account(
    worker: RegistryWorker, bus_settings: BusSettings, front_door: FrontDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = citizens(worker, bus_settings)
    mine = found[0]
    office = str(mine.residence.office)
    other = next(c for c in found if office not in c.offices and c.residence.office != office)
    assert mine.personal is not None
    assert other.personal is not None
    store = front_door.store
    store.add("officer", Role.OFFICE_OFFICER, office=office, password=PASSWORD)
    front_door.tokens["officer"] = store.issue_token("officer", "tests")[1]
    monkeypatch.setenv("BUS_FRONT_DOOR_URL", front_door.url)

    # the officer asks with the CLI, the token in the environment, and a header claiming to be someone else
    monkeypatch.setenv("BUS_TOKEN", front_door.tokens["officer"])
    result = CliRunner().invoke(
        cli,
        [
            "registry",
            "get",
            "--nik",
            str(mine.personal.nik),
            "--purpose",
            "CONSULAR_SERVICE",
            "--no-show-personal",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f'"citizen_id": "{mine.citizen_id}"' in result.output
    assert str(mine.personal.nik) not in result.output  # redacted as asked

    refused = CliRunner().invoke(
        cli, ["registry", "get", "--nik", str(other.personal.nik), "--purpose", "CONSULAR_SERVICE"]
    )
    assert refused.exit_code == 1
    assert "403" in refused.output
    assert str(other.personal.nik) not in refused.output
    assert str(other.personal.full_name) not in refused.output

    monkeypatch.delenv("BUS_TOKEN")
    by_desk = CliRunner().invoke(
        cli,
        [
            "registry",
            "get",
            "--citizen-id",
            other.citizen_id,
            "--purpose",
            "AUDIT",
            "--token",
            front_door.tokens["desk"],
        ],
    )
    assert by_desk.exit_code == 0, by_desk.output

    records = sorted(access_records(bus_settings), key=lambda r: r.accessed_at)
    assert [
        (r.requested_by, r.office, r.purpose.value, r.lookup.value, r.found, r.citizen_id) for r in records
    ] == [
        ("officer/OFFICE_OFFICER", office, "CONSULAR_SERVICE", "NIK", True, mine.citizen_id),
        ("officer/OFFICE_OFFICER", office, "CONSULAR_SERVICE", "NIK", False, None),
        ("desk/CENTRAL_DESK", "kemlu-pusat", "AUDIT", "CITIZEN_ID", True, other.citizen_id),
    ]

    status, log = call(front_door, "/api/access-log?log=registry.access", front_door.tokens["auditor"])
    assert status == 200
    assert [e["requested_by"] for e in log["entries"]] == [
        "desk/CENTRAL_DESK",
        "officer/OFFICE_OFFICER",
        "officer/OFFICE_OFFICER",
    ]
    assert str(mine.personal.nik) not in json.dumps(log)
    assert call(front_door, "/api/access-log", front_door.tokens["desk"])[0] == 403
