"""The front door's client of the processors' personal-data views, against an HTTP server on loopback that
answers as a view would: the service credential and who asks are sent, a NIK only in the body, and each
answer becomes what the API relays (the record, the processor's refusal, or "unavailable").
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from services.dashboard.personal import Asker, ProcessorViews, Refused
from services.dashboard.sources import SourceUnavailable
from services.runtime.credential import ServiceCredential

NIK = "3174055705900001"
SECRET = "the-service-credential"


class View(BaseHTTPRequestHandler):
    """Answers ``answer`` (status, body) to any request, keeping what was asked."""

    answer: ClassVar[tuple[int, Any]] = (200, {})
    asked: ClassVar[list[dict[str, Any]]] = []

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        View.asked.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        code, payload = View.answer
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply  # noqa: N815 - the names http.server calls

    def log_message(self, *_args: Any) -> None:
        """Quiet."""


@pytest.fixture
def views() -> Iterator[ProcessorViews]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), View)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    View.asked.clear()
    yield ProcessorViews(url, url, url, ServiceCredential(SecretStr(SECRET)), timeout=5)
    server.shutdown()
    server.server_close()


ASKER = Asker(requested_by="tokyo/OFFICE_OFFICER", office="kbri-tokyo", purpose="AUDIT", scope="kbri-tokyo")


def test_a_citizen_is_asked_with_the_credential_and_who_asks_in_the_body(views: ProcessorViews) -> None:
    View.answer = (200, {"citizen_id": "cit-0123456789abcdef0123"})
    assert views.citizen({"nik": NIK}, ASKER) == {"citizen_id": "cit-0123456789abcdef0123"}
    (asked,) = View.asked
    assert (asked["method"], asked["path"]) == ("POST", "/registry/lookup")
    assert asked["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert NIK not in asked["path"]
    assert json.loads(asked["body"]) == {
        "nik": NIK,
        "requested_by": "tokyo/OFFICE_OFFICER",
        "office": "kbri-tokyo",
        "purpose": "AUDIT",
        "scope": "kbri-tokyo",
    }


def test_a_case_is_asked_with_who_asks_in_headers(views: ProcessorViews) -> None:
    View.answer = (200, {"case_id": "CS-1"})
    views.case("CS-1", Asker("desk/CENTRAL_DESK", "kemlu-pusat", "CITIZEN_PROTECTION", None))
    (asked,) = View.asked
    assert asked["path"] == "/protection/cases/CS-1"
    headers = asked["headers"]
    assert (headers["X-Requested-By"], headers["X-Office"], headers["X-Purpose"]) == (
        "desk/CENTRAL_DESK",
        "kemlu-pusat",
        "CITIZEN_PROTECTION",
    )
    assert "X-Bus-Scope" not in headers
    assert headers["Authorization"] == f"Bearer {SECRET}"


def test_the_birth_date_travels_in_a_header(views: ProcessorViews) -> None:
    View.answer = (200, {"status": "READY_FOR_PICKUP"})
    views.passport_status("PSP-1", "1990-05-17")
    (asked,) = View.asked
    assert asked["path"] == "/passport/applications/PSP-1/status"
    assert asked["headers"]["X-Birth-Date"] == "1990-05-17"


@pytest.mark.parametrize("code", [400, 403, 404, 429])
def test_a_processors_refusal_is_relayed_with_its_reason(views: ProcessorViews, code: int) -> None:
    View.answer = (code, {"error": "the reason"})
    with pytest.raises(Refused) as refused:
        views.citizen({"nik": NIK}, ASKER)
    assert (refused.value.status, refused.value.reason) == (code, "the reason")


@pytest.mark.parametrize(("code", "says"), [(401, "service credential"), (503, "answered 503"), (500, "500")])
def test_anything_else_is_unavailable(views: ProcessorViews, code: int, says: str) -> None:
    View.answer = (code, {"error": "x"})
    with pytest.raises(SourceUnavailable, match=says):
        views.case("CS-1", ASKER)


def test_a_processor_not_listening_is_unavailable() -> None:
    views = ProcessorViews(
        "http://127.0.0.1:9", "http://127.0.0.1:9", "http://127.0.0.1:9", ServiceCredential(SecretStr("x"))
    )
    with pytest.raises(SourceUnavailable, match="not reachable"):
        views.citizen({"nik": NIK}, ASKER)
