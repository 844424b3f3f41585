"""The sources behind the API: the registry's HTTP counts (a stand-in server on loopback) and the cached
dead-letter figures (the topic read replaced).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from kafka.errors import KafkaTimeoutError

from services.bus.settings import BusSettings
from services.dashboard.sources import DeadLetterTopic, RegistryFigures, RegistryViews, SourceUnavailable


class Registry(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def do_GET(self) -> None:
        code, body = self.answers.get(self.path, (404, b"{}"))
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def registry_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_registry_counts(registry_url: str) -> None:
    body = {"abroad": 3, "by_office": {"kbri-tokyo": 3}, "by_country": {"JP": 3}}
    Registry.answers["/registry/counts"] = (200, json.dumps(body).encode())
    assert RegistryViews(registry_url).counts() == RegistryFigures(3, {"kbri-tokyo": 3}, {"JP": 3})


@pytest.mark.parametrize(
    ("answer", "message"),
    [((503, b"{}"), "answered 503"), ((200, b"[]"), "not understood"), ((200, b"not json"), "not reachable")],
)
def test_registry_failures_are_unavailable(
    registry_url: str, answer: tuple[int, bytes], message: str
) -> None:
    Registry.answers["/registry/counts"] = answer
    with pytest.raises(SourceUnavailable, match=message):
        RegistryViews(registry_url).counts()


def test_registry_not_listening() -> None:
    with pytest.raises(SourceUnavailable, match="not reachable"):
        RegistryViews("http://127.0.0.1:1", timeout=1).counts()


class Topic(DeadLetterTopic):
    """The topic read replaced by a list of answers (a Counter, or an error to raise)."""

    def __init__(self, answers: list[Counter[str] | Exception], now: list[float]) -> None:
        super().__init__(BusSettings(), cache_seconds=5, retry_seconds=30, clock=lambda: now[0])
        self.answers = answers
        self.reads = 0

    def read(self) -> Counter[str]:
        self.reads += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_figures_are_cached_and_a_failure_answers_at_once_for_a_while() -> None:
    now = [0.0]
    topic = Topic([Counter({"A|b|c|d": 1}), KafkaTimeoutError(), Counter({"A|b|c|d": 2})], now)
    assert topic.figures() == Counter({"A|b|c|d": 1})
    now[0] = 4.0
    assert topic.figures() == Counter({"A|b|c|d": 1})
    assert topic.reads == 1
    now[0] = 5.0
    with pytest.raises(SourceUnavailable, match="KafkaTimeoutError"):
        topic.figures()
    now[0] = 34.0
    with pytest.raises(SourceUnavailable):
        topic.figures()
    assert topic.reads == 2
    now[0] = 35.0
    assert topic.figures() == Counter({"A|b|c|d": 2})
