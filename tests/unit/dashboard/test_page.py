"""The dashboard page and its figures over a board of known records (no broker): the page and its files
are served by the front door itself and hold no data; the figures answer only with credentials, each role
sees the panels the matrix grants it, an office account its own office only (another office is refused
and logged); the live stream sends the figures as server-sent events, and again when they change.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from services.contracts.traffic import MinuteCount, OfficeTrafficModel
from services.dashboard import page
from services.dashboard.live import FigureBoard, attach, parse_processors
from services.dashboard.panels import LiveFigures, lag_rows, traffic_panel

from .conftest import OFFICE, OTHER_OFFICE, FrontDoor
from .live_samples import sample_board


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) of every event in a server-sent event stream's text."""
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":")
        if "event" in lines:
            found.append((lines["event"], lines.get("data", "")))
    return found


class TestThePage:
    def test_the_page_and_its_files_are_served_without_login_and_hold_no_data(self, door: FrontDoor) -> None:
        client = door.client()
        html = client.get("/")
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in html.headers["Content-Security-Policy"]
        for name, kind in page.STATIC.items():
            answer = client.get(f"/static/{name}")
            assert answer.status_code == 200, name
            assert answer.headers["content-type"].split(";")[0] == kind.split(";")[0]
        for text in (html.text, *(client.get(f"/static/{n}").text for n in page.STATIC)):
            assert OFFICE not in text
            assert OTHER_OFFICE not in text

    def test_every_script_style_and_font_is_the_service_own(self, door: FrontDoor) -> None:
        client = door.client()
        html = client.get("/").text
        linked = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert linked
        assert all(link.startswith("/static/") for link in linked), linked
        assert {link.removeprefix("/static/") for link in linked} <= set(page.STATIC)
        for name in page.STATIC:
            text = client.get(f"/static/{name}").text
            urls = set(re.findall(r"https?://[^\s\"'`)]+", text))
            assert urls <= {"http://www.w3.org/2000/svg"}, (name, urls)  # a namespace name, never fetched
            assert "@import" not in text
            assert "@font-face" not in text

    def test_nothing_else_is_served_from_static(self, door: FrontDoor) -> None:
        client = door.client()
        for name in ("index.html", "..%2Fapp.py", "secret.js", "live.py"):
            assert client.get(f"/static/{name}").status_code == 404

    def test_both_languages_have_every_text_the_page_names(self, door: FrontDoor) -> None:
        client = door.client()
        named = set(re.findall(r'data-i18n="([a-z_]+)"', client.get("/").text))
        script = client.get("/static/dashboard.js").text + client.get("/static/charts.js").text
        named |= set(re.findall(r'I18N\.t\("([a-z_]+)"\)', script))
        named |= {f"domain_{d}" for d in ("citizen", "passport", "protection")}
        texts = client.get("/static/i18n.js").text
        indonesian, english = texts.split("  en: {")
        for key in named:
            assert re.search(rf"\b{key}:", indonesian), key
            assert re.search(rf"\b{key}:", english), key


class TestFigures:
    def test_the_central_desk_sees_every_panel_and_office(self, door: FrontDoor) -> None:
        figures = LiveFigures.model_validate(door.bearer("desk").get("/api/figures").json())
        assert figures.scope == "central"
        assert figures.citizens is not None
        assert figures.citizens.abroad == 57
        assert figures.citizens.by_country == {"JP": 40, "MY": 17}
        assert figures.traffic is not None
        # minutes more than an hour back are out of the window; the current minute is in it
        assert sum(figures.traffic.series["citizen"]) == (3 + 1) + (4 + 1) + (5 + 1)
        assert sum(figures.traffic.series["protection"]) == 6 + 1
        assert figures.traffic.heard_last_hour == 2
        assert figures.traffic.offices_in_scope == 132
        assert figures.deadletters is not None
        assert figures.deadletters.total == 5
        assert figures.lag is not None
        assert figures.lag.partitions[0].lag == 10
        assert figures.lag.unanswered == ["traffic"]
        assert figures.protection is not None
        assert figures.protection.open_by_office == {OFFICE: 3, OTHER_OFFICE: 7}
        assert figures.protection.overdue_by_office == {OTHER_OFFICE: 4}
        assert figures.passport is not None
        assert figures.passport.quota_used_by_office == {OFFICE: 13, OTHER_OFFICE: 19}
        assert figures.passport.refusals_by_reason == {"DAY_FULL": 6}

    @pytest.mark.parametrize("username", ["officer", "tokyo-system"])
    def test_an_office_account_sees_its_own_office_only(self, door: FrontDoor, username: str) -> None:
        answer = door.bearer(username).get("/api/figures")
        assert answer.status_code == 200
        assert OTHER_OFFICE not in answer.text
        assert '"MY"' not in answer.text
        figures = LiveFigures.model_validate(answer.json())
        assert figures.office == OFFICE
        assert figures.citizens is not None
        assert (figures.citizens.abroad, figures.citizens.by_country) == (40, {})
        assert figures.traffic is not None
        assert [row.office for row in figures.traffic.offices] == [OFFICE]
        assert figures.traffic.offices_in_scope == 1
        assert figures.traffic.heard_last_hour == 1
        assert figures.protection is not None
        assert figures.protection.open_cases == 3
        assert figures.passport is not None
        assert figures.passport.quota_used_by_office == {OFFICE: 13}
        assert figures.deadletters is None
        assert figures.lag is None

    @pytest.mark.parametrize("path", ["/api/figures", "/api/live"])
    def test_another_office_is_refused_and_logged(self, door: FrontDoor, path: str) -> None:
        with capture_logs() as logs:
            answer = door.bearer("officer").get(path, params={"office": OTHER_OFFICE})
        assert answer.status_code == 403
        assert answer.json() == {"detail": "this account sees its own office only"}
        (refusal,) = [e for e in logs if e["event"] == "refused"]
        assert (refusal["username"], refusal["office"], refusal["path"]) == ("officer", OTHER_OFFICE, path)

    def test_the_central_desk_may_narrow_to_one_office(self, door: FrontDoor) -> None:
        figures = door.bearer("desk").get("/api/figures", params={"office": OTHER_OFFICE}).json()
        assert figures["office"] == OTHER_OFFICE
        assert figures["citizens"] == {"abroad": 17, "by_office": {OTHER_OFFICE: 17}, "by_country": {}}
        assert figures["deadletters"]["by_reason"] == {"UNKNOWN_SOURCE": 2}
        assert door.bearer("desk").get("/api/figures", params={"office": "kbri-atlantis"}).status_code == 404

    def test_each_role_sees_the_panels_the_matrix_grants(self, door: FrontDoor) -> None:
        panels = ("citizens", "traffic", "deadletters", "lag", "protection", "passport")
        seen = {
            name: {p for p in panels if door.bearer(name).get("/api/figures").json()[p] is not None}
            for name in ("desk", "officer", "auditor", "operator", "ministry")
        }
        assert seen == {
            "desk": set(panels),
            "officer": {"citizens", "traffic", "protection", "passport"},
            "auditor": set(),
            "operator": {"traffic", "deadletters", "lag"},
            "ministry": {"citizens", "traffic", "protection", "passport"},
        }

    @pytest.mark.parametrize("path", ["/api/figures", "/api/live"])
    def test_without_credentials_401_and_no_data(self, door: FrontDoor, path: str) -> None:
        answer = door.client().get(path)
        assert answer.status_code == 401
        assert OFFICE not in answer.text

    @pytest.mark.parametrize("path", ["/api/figures", "/api/live"])
    def test_503_until_the_figures_are_read(self, door: FrontDoor, path: str) -> None:
        attach(door.app, FigureBoard())  # a live board whose reader has not caught up yet
        answer = door.bearer("desk").get(path)
        assert answer.status_code == 503
        assert answer.json() == {"detail": "the figures are not read yet"}

    def test_a_session_reads_the_figures_too(self, door: FrontDoor) -> None:
        client, _ = door.session("desk")
        assert client.get("/api/figures").status_code == 200


class TestLiveStream:
    def test_the_stream_sends_the_figures_as_server_sent_events(self, door: FrontDoor) -> None:
        answer = door.bearer("officer").get("/api/live")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.text.startswith("retry: 3000\nevent: figures\n")
        (event,) = sse_events(answer.text)
        assert event[0] == "figures"
        figures = LiveFigures.model_validate(json.loads(event[1]))
        assert figures.office == OFFICE
        assert figures.citizens is not None
        assert figures.citizens.abroad == 40

    def test_the_stream_sends_again_when_the_figures_change(
        self, door: FrontDoor, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(page, "STREAM_SECONDS", 4.0)
        now = datetime.now(UTC)
        board = sample_board(now, live=True)
        attach(door.app, board)
        change = OfficeTrafficModel(
            domain="passport",
            office=OFFICE,
            partition=5,
            total=7,
            last_heard=now,
            minutes=(MinuteCount(minute=now.replace(second=0, microsecond=0), count=7),),
            as_of=now,
        )
        timer = threading.Timer(1.5, lambda: board.put(change.TOPIC, change.record_key, change))
        timer.start()
        try:
            answer = door.bearer("desk").get("/api/live")
        finally:
            timer.cancel()
        sent = [LiveFigures.model_validate(json.loads(data)) for kind, data in sse_events(answer.text)]
        assert len(sent) >= 2
        first, last = sent[0].traffic, sent[-1].traffic
        assert first is not None
        assert last is not None
        assert sum(last.series["passport"]) == sum(first.series["passport"]) + 7

    def test_the_stream_ends_when_its_session_ends(
        self, door: FrontDoor, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(page, "STREAM_SECONDS", 20.0)
        monkeypatch.setattr(page, "RECHECK_SECONDS", 0.5)
        attach(door.app, sample_board(live=True))
        client, _ = door.session("desk")
        session_id = next(value for name, value in client.cookies.items() if name.endswith("bus_session"))
        timer = threading.Timer(1.0, lambda: door.store.close_session(session_id))
        timer.start()
        began = time.monotonic()
        with capture_logs() as logs:
            answer = client.get("/api/live")
        timer.cancel()
        assert answer.status_code == 200
        assert time.monotonic() - began < 10
        assert [kind for kind, _ in sse_events(answer.text)] == ["figures"]
        assert any(e["event"] == "refused" and e["status"] == 401 for e in logs)


class TestReaders:
    def test_the_lag_of_a_worker_of_several_stages(self) -> None:
        stats = {
            "processor": "traffic-citizen",
            "partitions": {"0": {"progress": 5, "end": 5, "lag": 0, "ready": True}},
            "stages": {
                "traffic-citizen": {"partitions": {"0": {"progress": 5, "end": 5, "lag": 0, "ready": True}}},
                "traffic-passport": {
                    "partitions": {
                        "10": {"progress": 1, "end": 4, "lag": 3, "ready": False},
                        "2": {"progress": 2, "end": 2, "lag": 0, "ready": True},
                    }
                },
            },
        }
        rows = lag_rows("traffic", stats)
        assert [(r.stage, r.partition, r.lag) for r in rows] == [
            ("traffic-citizen", 0, 0),
            ("traffic-passport", 2, 0),
            ("traffic-passport", 10, 3),
        ]
        single = lag_rows(
            "registry", {"processor": "registry", "partitions": {"0": stats["partitions"]["0"]}}
        )
        assert [(r.processor, r.stage) for r in single] == [("registry", "registry")]
        with pytest.raises(ValueError, match="stats"):
            lag_rows("registry", {"partitions": {"0": {"progress": 1}}})

    def test_the_processors_setting(self) -> None:
        assert parse_processors("a=http://127.0.0.1:1/, b=http://127.0.0.1:2") == {
            "a": "http://127.0.0.1:1",
            "b": "http://127.0.0.1:2",
        }
        with pytest.raises(ValueError, match="name=http"):
            parse_processors("a=ftp://x")

    def test_traffic_older_than_the_hour_is_out_of_the_window(self) -> None:
        now = datetime(2026, 12, 3, 8, 30, 20, tzinfo=UTC)
        board = sample_board(now - timedelta(minutes=61))
        _, latest = board.latest()
        panel = traffic_panel(latest.traffic, None, now)
        assert sum(map(sum, panel.series.values())) == 0
        assert panel.heard_last_hour == 0
