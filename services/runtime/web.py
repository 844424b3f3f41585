"""The HTTP shell every processor serves on faust's web server (127.0.0.1 only): health, figures for
operators, and the 503 a view answers until it is ready.

``GET /stats`` answers at least ``{"processor", "ready", "stalled", "summary"}`` (what ``bus run`` shows)
plus, per owned partition, progress, end offset, lag and readiness, and the intake's counters. ``ready`` is
false while a partition is being restored or caught up, and while the intake is stalled (records wait and
nothing was committed for ``stall_seconds``). ``GET /metrics`` is the Prometheus exposition.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from services.runtime.core import ViewRuntime
from services.runtime.intake import IntakeCollector, IntakeCounters
from services.runtime.settings import ProcessorSettings

NOT_READY = "the view is catching up or rebuilding its state; try again shortly"
LIBRARY_LOGGERS = ("aiohttp", "faust.web")
_DIGITS = re.compile(r"\d{6,}")


def redacted(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with personal data kept out: what a web library logs can quote a request line or a body
    (an over-long request line starting with a NIK was logged whole by aiohttp). Runs of six or more digits
    become ``<digits>``, and an exception is reduced to its type: its text may quote the input.
    """
    message = _DIGITS.sub("<digits>", record.getMessage())
    if record.exc_info and record.exc_info[0] is not None:
        message = f"{message} ({record.exc_info[0].__name__})"
    record.msg, record.args = message, ()
    record.exc_info, record.exc_text, record.stack_info = None, None, None
    return record


def redact_library_logs() -> None:
    """Every log record of the web server's libraries (``LIBRARY_LOGGERS``) passes through ``redacted``,
    whichever handler writes it (faust installs its own): done where records are made, once.
    """
    make = logging.getLogRecordFactory()
    if getattr(make, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        return redacted(record) if record.name.startswith(LIBRARY_LOGGERS) else record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class Health:
    """What the shell knows about one worker: its view runtimes (one per stage) and, if it has one, its
    intake.
    """

    def __init__(
        self,
        runtimes: ViewRuntime[Any, Any] | list[ViewRuntime[Any, Any]],
        config: ProcessorSettings,
        intake: IntakeCounters | None,
    ) -> None:
        self.runtimes = runtimes if isinstance(runtimes, list) else [runtimes]
        self.config = config
        self.intake = intake

    @property
    def runtime(self) -> ViewRuntime[Any, Any]:
        """The first runtime: its name is the processor's."""
        return self.runtimes[0]

    @property
    def views_ready(self) -> bool:
        """Whether the worker owns partitions and every one it owns is restored and caught up (with several
        stages, a stage that owns no partition on this worker does not hold the others back).
        """
        owning = [runtime for runtime in self.runtimes if runtime.owned]
        return bool(owning) and all(runtime.ready for runtime in owning)

    @property
    def stalled(self) -> bool:
        """Whether the intake has records waiting and has not committed for longer than the bound."""
        return self.intake is not None and self.intake.stalled(self.config.stall_seconds)

    @property
    def ready(self) -> bool:
        """Whether the view answers: every owned partition caught up, and the intake not stalled."""
        return self.views_ready and not self.stalled

    def stats(self, summary: str) -> dict[str, Any]:
        """The body of ``/stats``."""
        body: dict[str, Any] = {
            "processor": self.runtime.name,
            "ready": self.ready,
            "stalled": self.stalled,
            "summary": summary,
            "partitions": self.runtime.describe(),
            **self.runtime.stats,
        }
        if len(self.runtimes) > 1:
            body["stages"] = {
                runtime.name: {"partitions": runtime.describe(), **runtime.stats} for runtime in self.runtimes
            }
        if self.intake is not None:
            body["intake"] = self.intake.describe(self.config.stall_seconds)
        return body

    def not_ready(self, web: Any) -> Any:
        """The 503 answer of a view that is not ready, or None when it is."""
        if self.views_ready:
            return None
        return web.json({"error": NOT_READY}, status=503)


def register_shell(app: Any, health: Health, summary: Callable[[], str]) -> None:
    """``/stats`` and ``/metrics`` on the faust ``app``; the intake's counters join ``/metrics``."""
    redact_library_logs()
    if health.intake is not None:
        REGISTRY.register(IntakeCollector(health.runtime.name, health.intake, health.config.stall_seconds))

    async def stats(web: Any, _request: Any) -> Any:
        """The generic processor figures (``bus run`` shows ``summary``)."""
        return web.json(health.stats(summary()))

    async def prometheus(web: Any, _request: Any) -> Any:
        """Prometheus text exposition of the worker's metrics (no personal data in any label)."""
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    app.page("/stats")(stats)
    app.page("/metrics")(prometheus)
