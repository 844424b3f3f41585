"""Decoding is total: whatever a record's key, value and headers hold, ``EventDecoder.decode`` returns an
event or raises a BusError, never anything else, and never its catch-all DECODE_FAILED (which exists for
inputs nobody thought of; these strategies are how we think of them).

Strategies are built from parts (``st.builds`` / ``st.composite``), so a failure shrinks to a small record.
The mutations of valid simulated events are plain functions of a ``Knobs`` value, so the bounded run
against the real broker (tests/integration/test_poison.py) applies exactly the same ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.bus.codec import MAGIC
from services.bus.decoder import EventDecoder, RawRecord
from services.bus.errors import BusError, DecodeFailed
from services.bus.events import BusEvent
from services.bus.publisher import EventMeta, Publisher
from services.bus.schemas import load_registry
from services.bus.settings import BusSettings
from services.sim.simulator import TrafficSimulator

SETTINGS = BusSettings()
DECODER = EventDecoder(SETTINGS, load_registry(SETTINGS.schemas_dir))
LIMIT = 1_048_588
DOMAIN_TOPICS = ("citizen", "passport", "protection", "registry.decisions")
CE_NAMES = (
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_dataschema",
    "ce_traceparent",
    "content-type",
    "bus_keyid",
    "dlq_reason",
)
EDGE_TIMES = (
    "0001-01-01T00:00:00+01:00",  # year 0 once in UTC: OverflowError before the fix
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59-01:00",  # year 10000 once in UTC
    "9999-12-31T23:59:59.999999999Z",
    "1999-12-31T23:59:59.999Z",
    "2000-01-01T00:00:00Z",
    "2000-01-01T00:00:00+00:01",
    "1970-01-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2028-02-29T12:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-06-30T23:59:60Z",
    "2026-W01-1T00:00:00Z",
    "20260101T000000Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00+00:00:30",
    "2026-01-01",
    "2026-01-01T00:00:00",
    "2026-01-01t00:00:00z",
    "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # full-width digits
    "",
    "\x00",
)


@dataclass(frozen=True)
class Sample:
    """A record as a producer sends it: logical topic (no prefix), key, value and headers, in order.

    A header name holding lone surrogates stands for bytes that are not UTF-8
    (``bytes.decode("utf-8", "surrogateescape")``): kafka-python cannot read such a record back.
    """

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]

    def raw(self, settings: BusSettings = SETTINGS, offset: int = 0) -> RawRecord:
        return RawRecord(settings.topic(self.topic), 0, offset, 0, self.key, self.value, list(self.headers))

    @property
    def unreadable(self) -> bool:
        """Whether kafka-python would fail to parse it (a header name that is not UTF-8)."""
        return any(_surrogates(name) for name, _ in self.headers)


def _surrogates(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@dataclass(frozen=True)
class Knobs:
    """Everything a mutation may need, drawn by hypothesis here and by a seeded Random on the broker."""

    index: int
    data: bytes
    time: str
    topic: str
    name: str


def _at(sample: Sample, index: int) -> int:
    return index % max(1, len(sample.value or b""))


def _set(sample: Sample, name: str, value: bytes | None) -> Sample:
    return replace(sample, headers=tuple((k, value if k == name else v) for k, v in sample.headers))


def flip_byte(s: Sample, k: Knobs) -> Sample:
    value = bytearray(s.value or b"\x00")
    value[_at(s, k.index)] ^= k.data[0] if k.data else 0xFF
    return replace(s, value=bytes(value))


def truncate(s: Sample, k: Knobs) -> Sample:
    return replace(s, value=(s.value or b"")[: _at(s, k.index)])


def insert(s: Sample, k: Knobs) -> Sample:
    value, at = s.value or b"", _at(s, k.index)
    return replace(s, value=value[:at] + k.data + value[at:])


def append(s: Sample, k: Knobs) -> Sample:
    return replace(s, value=(s.value or b"") + k.data)


def overwrite_body(s: Sample, k: Knobs) -> Sample:
    value = s.value or b""
    return replace(s, value=value[:10] + k.data + value[10 + len(k.data) :])


def null_value(s: Sample, _: Knobs) -> Sample:
    return replace(s, value=None)


def edge_time(s: Sample, k: Knobs) -> Sample:
    return _set(s, "ce_time", k.time.encode("utf-8", "surrogatepass"))


def drop_header(s: Sample, k: Knobs) -> Sample:
    headers = list(s.headers)
    if headers:
        del headers[k.index % len(headers)]
    return replace(s, headers=tuple(headers))


def duplicate_header(s: Sample, k: Knobs) -> Sample:
    """A second copy of an existing header, placed last with other bytes: the forged-source attack."""
    if not s.headers:
        return s
    name, _ = s.headers[k.index % len(s.headers)]
    return replace(s, headers=(*s.headers, (name, k.data)))


def forge_source(s: Sample, _: Knobs) -> Sample:
    return replace(s, headers=(*s.headers, ("ce_source", b"kbri-tokyo")))


def set_header(s: Sample, k: Knobs) -> Sample:
    name = CE_NAMES[k.index % len(CE_NAMES)]
    if any(n == name for n, _ in s.headers):
        return _set(s, name, k.data)
    return replace(s, headers=(*s.headers, (name, k.data)))


def non_utf8_value(s: Sample, k: Knobs) -> Sample:
    return _set(s, CE_NAMES[k.index % 5], b"\xff\xfe" + k.data)


def odd_header_name(s: Sample, k: Knobs) -> Sample:
    """A header whose name is anything, a NIK or bytes that are not UTF-8 included."""
    return replace(s, headers=(*s.headers, (k.name, k.data)))


def null_header(s: Sample, k: Knobs) -> Sample:
    return _set(s, CE_NAMES[k.index % len(CE_NAMES)], None)


def other_topic(s: Sample, k: Knobs) -> Sample:
    return replace(s, topic=k.topic)


def other_key(s: Sample, k: Knobs) -> Sample:
    return replace(s, key=k.data or None)


def swap_value(s: Sample, k: Knobs) -> Sample:
    """Another valid event's bytes under these headers: a type or topic mismatch."""
    other = valid_samples()[k.index % len(valid_samples())]
    return replace(s, value=other.value)


MUTATIONS: tuple[Callable[[Sample, Knobs], Sample], ...] = (
    flip_byte,
    truncate,
    insert,
    append,
    overwrite_body,
    null_value,
    edge_time,
    drop_header,
    duplicate_header,
    forge_source,
    set_header,
    non_utf8_value,
    odd_header_name,
    null_header,
    other_topic,
    other_key,
    swap_value,
)


@cache
def valid_samples() -> tuple[Sample, ...]:
    """Valid encoded events of every domain topic, as the SDK prepares them (no broker needed)."""
    publisher = Publisher(SETTINGS, producer=object())
    sim = TrafficSimulator(7, start=datetime.now(UTC) - timedelta(days=3))
    found: list[Sample] = []
    for s in itertools.islice(sim.next_batch(400), 400):
        out = publisher.prepare(s.event, EventMeta(source=s.source, time=s.time))
        found.append(Sample(s.event.TOPIC, out.key, out.value, tuple(out.headers)))
    by_topic = {t: [x for x in found if x.topic == t][:12] for t in ("citizen", "passport", "protection")}
    assert all(by_topic.values()), "the simulator must give events of every domain topic"
    return tuple(itertools.chain.from_iterable(by_topic.values()))


def outcome(raw: RawRecord) -> BusEvent | BusError:
    """What the decoder makes of ``raw``; anything but a BusEvent or a BusError fails the test here, and
    so does a refusal that needed the catch-all.
    """
    try:
        result: BusEvent | BusError = DECODER.decode(raw)
    except BusError as exc:
        result = exc
    assert not isinstance(result, DecodeFailed), f"the catch-all was needed: {result.message}"
    return result


# --- strategies -----------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=24)  # lone surrogates included
non_utf8_name = st.binary(min_size=1, max_size=8).map(lambda b: b.decode("utf-8", "surrogateescape"))
header_names = st.one_of(st.sampled_from(CE_NAMES), any_text, non_utf8_name, st.just("3174055705900001"))
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
calendar_times = st.builds(
    lambda moment, zone, sep: moment.replace(tzinfo=zone).isoformat(sep=sep),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)),
    offsets,
    st.sampled_from(["T", " ", "t"]),
)
times = st.one_of(st.sampled_from(EDGE_TIMES), calendar_times, any_text)
header_values = st.one_of(
    st.none(),
    st.binary(max_size=64),
    times.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"1.0", b"application/avro", b"kbri-tokyo", b"\xff", b"\xc3\x28"]),
)
headers = st.lists(st.tuples(header_names, header_values), max_size=14).map(tuple)


@st.composite
def near_limit(draw: st.DrawFn) -> bytes:
    """Sizes up to the broker's limit without drawing a megabyte byte by byte: a chunk repeated."""
    chunk = draw(st.binary(min_size=1, max_size=16))
    return chunk * draw(st.integers(0, LIMIT // len(chunk)))


@st.composite
def framed(draw: st.DrawFn) -> bytes:
    """The single-object marker and a real fingerprint, then any body: fastavro gets to read it."""
    contract = draw(st.sampled_from(list(DECODER.codec.registry)))
    return MAGIC + contract.fingerprint_bytes + draw(st.binary(max_size=256))


values = st.one_of(st.none(), st.binary(max_size=256), framed(), near_limit())
raw_samples = st.builds(
    Sample,
    topic=st.one_of(st.sampled_from(DOMAIN_TOPICS), any_text),
    key=st.one_of(st.none(), st.binary(max_size=64)),
    value=values,
    headers=headers,
)
knobs = st.builds(
    Knobs,
    index=st.integers(0, 2**16),
    data=st.binary(max_size=24),
    time=times,
    topic=st.sampled_from(DOMAIN_TOPICS),
    name=header_names,
)


@st.composite
def mutated(draw: st.DrawFn) -> Sample:
    """A valid simulated event with one to four mutations applied in turn."""
    sample = draw(st.sampled_from(valid_samples()))
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)):
        sample = mutation(sample, draw(knobs))
    return sample


FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestDecodingIsTotal:
    def test_valid_samples_are_accepted(self) -> None:
        """The starting point of the mutations decodes (else every mutation would prove nothing)."""
        for sample in valid_samples():
            assert isinstance(outcome(sample.raw()), BusEvent)

    @FUZZ
    @given(raw_samples)
    def test_any_record_is_an_event_or_a_refusal(self, sample: Sample) -> None:
        """Any topic, key, value (garbage, framed garbage, up to the size limit) and headers."""
        outcome(sample.raw())

    @FUZZ
    @given(mutated())
    def test_mutated_events_are_events_or_refusals(self, sample: Sample) -> None:
        """Valid events with bytes flipped, cut or added, headers dropped, repeated, forged, non-UTF-8."""
        result = outcome(sample.raw())
        if isinstance(result, BusEvent):
            assert result.envelope.time >= datetime(2000, 1, 1, tzinfo=UTC)
            assert SETTINGS.topic(result.payload.TOPIC) == sample.raw().topic

    @FUZZ
    @given(st.sampled_from(valid_samples()), times)
    def test_times_at_the_edges_of_the_calendar(self, sample: Sample, time: str) -> None:
        """Any ce_time text: accepted only if RFC 3339, in range and not in the future."""
        result = outcome(edge_time(sample, Knobs(0, b"", time, "citizen", "x")).raw())
        if isinstance(result, BusError):
            assert result.reason in {"INVALID_ENVELOPE", "TIME_OUT_OF_RANGE", "FUTURE_EVENT"}

    @FUZZ
    @given(st.sampled_from(valid_samples()), headers)
    def test_valid_value_under_any_headers(
        self, sample: Sample, extra: tuple[tuple[str, bytes | None], ...]
    ) -> None:
        """Headers added to a valid event: an own header repeated is refused, anything else is harmless
        unless it is not UTF-8.
        """
        result = outcome(replace(sample, headers=sample.headers + extra).raw())
        own = {name for name, _ in sample.headers}
        if any(name in own or name in CE_NAMES for name, _ in extra):
            return  # a repeated own header, or one that changes the envelope: checked elsewhere
        if all(value is None or _utf8(value) for _, value in extra):
            assert isinstance(result, BusEvent)


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
