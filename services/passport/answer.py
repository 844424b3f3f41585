"""The answer to "is my passport ready?", in Indonesian and English, from the status view.

The application id alone opens nothing: the birth date must match the one the application holds (as its
HMAC with the citizen key, ``birth_date_key``: given with the request, confirmed at submission), and an
unknown id, an application without a birth date and a wrong birth date all give the same None, so guessing
ids tells nobody whether an application exists. The answer names no personal data, only the status, the
office, the dates, the booking and what to bring.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from services.passport.status import Application, ApplicationStatus
from services.reference.offices import get_office, is_known_office

__all__ = ["WORKING_DAYS_TO_READY", "StatusAnswer", "birth_date_key", "expected_ready", "status_answer"]

WORKING_DAYS_TO_READY = 4
"""The published service standard: a passport is ready four working days after payment."""

_SAID: dict[ApplicationStatus, tuple[str, str]] = {
    ApplicationStatus.REQUESTED: (
        "Permintaan janji temu sedang diproses.",
        "Your appointment request is being processed.",
    ),
    ApplicationStatus.BOOKING_REFUSED: (
        "Permintaan janji temu ditolak; tidak ada janji temu yang dipesan.",
        "Your appointment request was refused; no appointment is booked.",
    ),
    ApplicationStatus.CANCELLED: (
        "Janji temu dibatalkan; silakan ajukan janji temu baru.",
        "The appointment was cancelled; please request a new one.",
    ),
    ApplicationStatus.OTHER: ("Status permohonan tidak diketahui.", "The application's status is unknown."),
    ApplicationStatus.BOOKED: (
        "Janji temu sudah dipesan; permohonan belum diajukan.",
        "Appointment booked; the application is not submitted yet.",
    ),
    ApplicationStatus.SUBMITTED: ("Permohonan sudah diterima.", "Your application has been received."),
    ApplicationStatus.BIOMETRICS_CAPTURED: (
        "Foto dan sidik jari sudah diambil.",
        "Your photo and fingerprints have been taken.",
    ),
    ApplicationStatus.PAYMENT_RECEIVED: (
        "Pembayaran sudah diterima; paspor sedang diproses.",
        "Payment received; your passport is being made.",
    ),
    ApplicationStatus.PRINTED: ("Paspor sudah dicetak.", "Your passport has been printed."),
    ApplicationStatus.READY_FOR_PICKUP: ("Paspor siap diambil.", "Your passport is ready for pickup."),
    ApplicationStatus.COLLECTED: ("Paspor sudah diambil.", "Your passport has been collected."),
    ApplicationStatus.NEEDS_ACTION: (
        "Kantor memerlukan tindakan dari Anda.",
        "The office needs something from you.",
    ),
    ApplicationStatus.REFUSED: (
        "Permohonan ditolak; hubungi kantor.",
        "The application was refused; please contact the office.",
    ),
}

_BRING_READY = (
    ("Bukti pembayaran", "Payment receipt"),
    ("KTP elektronik asli", "Original electronic identity card (e-KTP)"),
)
_BRING_OLD_PASSPORT = ("Paspor lama", "Your old passport")


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """What the citizen is told: both languages side by side, dates as dates."""

    application_id: str
    status: ApplicationStatus
    office: str
    office_name: str
    ready_from: date | None
    """When it is or was ready; for an application still in progress, the expected day."""
    expected: bool
    """True when ``ready_from`` is an estimate."""
    text_id: str
    text_en: str
    bring_id: tuple[str, ...]
    bring_en: tuple[str, ...]
    action: str | None
    booking_code: str | None = None
    booked_day: date | None = None
    queue_number: int | None = None
    booking_refusal: str | None = None


def expected_ready(paid_on: date) -> date:
    """Four working days (Monday to Friday) after payment; public holidays are the office's to add."""
    day, left = paid_on, WORKING_DAYS_TO_READY
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def birth_date_key(birth_date: date, hasher: Callable[[str], str]) -> str:
    """The key of a birth date: ``hasher`` (HMAC-SHA256 with the citizen key) of its ISO form."""
    return hasher(birth_date.isoformat())


def status_answer(
    app: Application | None, birth_date: date, hasher: Callable[[str], str]
) -> StatusAnswer | None:
    """The answer for whoever knows the application id and the applicant's birth date; None otherwise
    (``hasher``: the bus's keyed hash, ``services.bus.keys.citizen_hasher``).
    """
    if app is None or app.birth_date_key is None:
        return None
    if not hmac.compare_digest(app.birth_date_key, birth_date_key(birth_date, hasher)):
        return None
    ready, expected = app.ready_from, False
    if ready is None and app.paid_on is not None and app.status is not ApplicationStatus.REFUSED:
        ready, expected = expected_ready(app.paid_on), True
    bring: tuple[tuple[str, str], ...] = ()
    if app.status is ApplicationStatus.READY_FOR_PICKUP:
        bring = _BRING_READY + ((_BRING_OLD_PASSPORT,) if app.renewal else ())
    text_id, text_en = _SAID[app.status]
    if app.status is ApplicationStatus.BOOKED and app.booked_day is not None:
        text_id += f" Tanggal: {app.booked_day.isoformat()}, nomor antrean {app.queue_number}."
        text_en += f" Day: {app.booked_day.isoformat()}, queue number {app.queue_number}."
    if app.status is ApplicationStatus.BOOKING_REFUSED and app.booking_refusal:
        text_id += f" Alasan: {app.booking_refusal}."
        text_en += f" Reason: {app.booking_refusal}."
    if app.status is ApplicationStatus.READY_FOR_PICKUP and ready is not None:
        text_id += f" Dapat diambil sejak {ready.isoformat()}."
        text_en += f" It can be collected from {ready.isoformat()}."
    elif expected and ready is not None:
        text_id += f" Perkiraan siap: {ready.isoformat()}."
        text_en += f" Expected ready: {ready.isoformat()}."
    if app.status is ApplicationStatus.NEEDS_ACTION and app.action:
        text_id += f" Kode tindakan: {app.action}."
        text_en += f" Action code: {app.action}."
    name = get_office(app.office).name if is_known_office(app.office) else app.office
    return StatusAnswer(
        application_id=app.application_id,
        status=app.status,
        office=app.office,
        office_name=name,
        ready_from=ready,
        expected=expected,
        text_id=text_id,
        text_en=text_en,
        bring_id=tuple(i for i, _ in bring),
        bring_en=tuple(e for _, e in bring),
        action=app.action,
        booking_code=app.booking_code,
        booked_day=app.booked_day,
        queue_number=app.queue_number,
        booking_refusal=app.booking_refusal,
    )
