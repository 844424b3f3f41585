"""``bus passport status``'s text for people: both languages, the booking or the refusal when there is one."""

from __future__ import annotations

from datetime import date

from services.cli.passport import render_status
from services.passport.answer import StatusAnswer
from services.passport.status import ApplicationStatus
from services.passport.web import answer_json


def _answer(**changes: object) -> StatusAnswer:
    base: dict[str, object] = {
        "application_id": "PA-1",
        "status": ApplicationStatus.BOOKED,
        "office": "kanim-jakarta-selatan",
        "office_name": "Kantor Imigrasi Jakarta Selatan",
        "ready_from": None,
        "expected": False,
        "text_id": "Jadwal Anda sudah dipesan.",
        "text_en": "Your appointment is booked.",
        "bring_id": ("KTP elektronik asli",),
        "bring_en": ("Original e-KTP",),
        "action": None,
    }
    return StatusAnswer(**(base | changes))  # type: ignore[arg-type]


def test_a_booking_is_shown_with_its_code_day_and_queue_number() -> None:
    answer = _answer(booking_code="ABCDEFGHJK", booked_day=date(2026, 12, 7), queue_number=12)
    text = render_status(answer_json(answer))
    assert "ABCDEFGHJK, 2026-12-07, antrean / queue 12" in text
    assert "Jadwal Anda sudah dipesan." in text
    assert "Your appointment is booked." in text
    assert "    - Original e-KTP" in text
    assert "ditolak" not in text


def test_a_refused_booking_names_its_reason() -> None:
    answer = _answer(status=ApplicationStatus.BOOKING_REFUSED, booking_refusal="DAY_FULL")
    text = render_status(answer_json(answer))
    assert "ditolak / refused DAY_FULL" in text
    assert "jadwal / booking" not in text
