"""Where the front door's figures come from: the processors' HTTP views on loopback and the view topics.

Each source is a small protocol, so the API can be tested with fakes at this boundary; the real ones are
``RegistryViews`` (the registry worker's HTTP views) and ``DeadLetterTopic`` (the compacted
``deadletters.figures`` topic, summed over partitions). A source that cannot answer raises
``SourceUnavailable``: the API then answers 503, never a partial figure.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from kafka.errors import KafkaError

from services.bus.codec import AvroCodec
from services.bus.errors import BusError
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.deadletters.figures import read_figures


class SourceUnavailable(RuntimeError):
    """A source of figures did not answer; the message names it, never a person."""


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RegistryFigures:
    """Citizens abroad: in total, per office and per country (absolute figures)."""

    abroad: int
    by_office: dict[str, int]
    by_country: dict[str, int]


class RegistrySource(Protocol):
    """What the API needs of the registry."""

    def counts(self) -> RegistryFigures:
        """The registry's current figures."""
        ...


class DeadLetterSource(Protocol):
    """What the API needs of the dead-letter figures."""

    def figures(self) -> Counter[str]:
        """``<reason>|<component>|<source>|<hour>`` -> dead letters, summed over the partitions."""
        ...


@dataclass(frozen=True)
class RegistryViews:
    """The registry worker's HTTP views at ``base_url`` (loopback), standard library only."""

    base_url: str
    timeout: float = 5.0

    def get(self, path: str) -> Any:
        """The JSON answer of ``GET path``; SourceUnavailable if the worker does not answer 200."""
        request = urllib.request.Request(self.base_url + path)  # noqa: S310 - our own configured URL
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SourceUnavailable(f"the registry answered {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise SourceUnavailable(f"the registry is not reachable ({type(exc).__name__})") from None

    def counts(self) -> RegistryFigures:
        """``/registry/counts``."""
        data = self.get("/registry/counts")
        try:
            return RegistryFigures(
                abroad=int(data["abroad"]),
                by_office={str(k): int(v) for k, v in data["by_office"].items()},
                by_country={str(k): int(v) for k, v in data["by_country"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise SourceUnavailable("the registry's counts were not understood") from None


class CachedTopicRead(Generic[T]):
    """What a source read from the bus's topics shares: read at most once per ``cache_seconds`` (requests in
    between share it). After a failed read (the broker down: the client gives up after its request timeout)
    every request is answered "unavailable" at once for ``retry_seconds``, instead of each waiting as long
    again. A subclass says what it reads (``read``), what it is called (``what``) and which errors mean
    the bus could not be read (``failures``).
    """

    what: ClassVar[str]
    failures: ClassVar[tuple[type[Exception], ...]] = (KafkaError, BusError, RuntimeError, OSError)

    def __init__(
        self,
        settings: BusSettings,
        *,
        cache_seconds: float = 5.0,
        retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.cache_seconds = cache_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._codec: AvroCodec | None = None
        self._cached: tuple[float, T] | None = None
        self._failed: tuple[float, str] | None = None
        self._lock = threading.Lock()

    @property
    def codec(self) -> AvroCodec:
        """The codec of the contracts, loaded at the first read."""
        if self._codec is None:
            self._codec = AvroCodec(load_registry(self.settings.schemas_dir))
        return self._codec

    def read(self) -> T:
        """What the topics hold now."""
        raise NotImplementedError

    def cached(self) -> T:
        """``read()``, from the cache if it is fresh; SourceUnavailable if the bus cannot be read."""
        with self._lock:
            now = self.clock()
            if self._failed is not None and now - self._failed[0] < self.retry_seconds:
                raise SourceUnavailable(self._failed[1])
            if self._cached is None or now - self._cached[0] >= self.cache_seconds:
                try:
                    self._cached, self._failed = (now, self.read()), None
                except self.failures as exc:
                    self._failed = (self.clock(), f"{self.what} cannot be read ({type(exc).__name__})")
                    raise SourceUnavailable(self._failed[1]) from None
            return self._cached[1]


class DeadLetterTopic(CachedTopicRead[Counter[str]]):
    """The dead-letter figures read from their compacted topic: the latest figure of each group on each
    partition, summed per group (cached as ``CachedTopicRead`` says).
    """

    what = "the dead-letter figures"

    def read(self) -> Counter[str]:
        """The figures as the topic holds them now."""
        return read_figures(self.settings, self.codec)

    def figures(self) -> Counter[str]:
        """The figures, from the cache if it is fresh; SourceUnavailable if the broker cannot be read."""
        return Counter(self.cached())
