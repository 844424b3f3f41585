"""A figure board holding one record of every figure topic for two offices, as the live reader would have
put them there (no broker): the page's endpoints are tested over it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.contracts.deadletters import DeadLetterCountModel
from services.contracts.passport_views import PassportFiguresModel
from services.contracts.protection import CaseCategory, Urgency
from services.contracts.protection_views import ProtectionFigure, ProtectionStatsModel
from services.contracts.registry import CountDimension, OfficeCountModel
from services.contracts.traffic import MinuteCount, OfficeTrafficModel
from services.dashboard.live import FigureBoard
from services.dashboard.panels import PartitionLag

OFFICE = "kbri-tokyo"
OTHER_OFFICE = "kbri-kuala-lumpur"


def sample_board(now: datetime | None = None, *, live: bool = False) -> FigureBoard:
    """A board with figures of ``OFFICE`` and ``OTHER_OFFICE`` (traffic in the minutes before ``now``)."""
    now = now or datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    board = FigureBoard(live=live)
    board.ready = True
    board.put_all(
        OfficeCountModel.TOPIC,
        [
            OfficeCountModel(dimension=CountDimension.TOTAL, key="abroad", citizens=57, as_of=now),
            OfficeCountModel(dimension=CountDimension.OFFICE, key=OFFICE, citizens=40, as_of=now),
            OfficeCountModel(dimension=CountDimension.OFFICE, key=OTHER_OFFICE, citizens=17, as_of=now),
            OfficeCountModel(dimension=CountDimension.COUNTRY, key="JP", citizens=40, as_of=now),
            OfficeCountModel(dimension=CountDimension.COUNTRY, key="MY", citizens=17, as_of=now),
        ],
    )
    board.put_all(
        OfficeTrafficModel.TOPIC,
        [
            OfficeTrafficModel(
                domain=domain,
                office=office,
                partition=partition,
                total=100 + n,
                last_heard=minute + timedelta(seconds=5),
                minutes=(
                    MinuteCount(minute=minute - timedelta(minutes=90), count=50),  # out of the hour
                    MinuteCount(minute=minute - timedelta(minutes=2), count=n),
                    MinuteCount(minute=minute, count=1),
                ),
                as_of=now,
            )
            for domain, office, partition, n in (
                ("citizen", OFFICE, 0, 3),
                ("citizen", OFFICE, 1, 4),
                ("passport", OFFICE, 2, 2),
                ("citizen", OTHER_OFFICE, 0, 5),
                ("protection", OTHER_OFFICE, 1, 6),
            )
        ],
    )
    board.put_all(
        DeadLetterCountModel.TOPIC,
        [
            DeadLetterCountModel(
                reason="MALFORMED_PAYLOAD",
                component="registry-intake",
                source=OFFICE,
                hour=minute.replace(minute=0),
                partition=0,
                count=3,
                as_of=now,
            ),
            DeadLetterCountModel(
                reason="UNKNOWN_SOURCE",
                component="protection-intake",
                source=OTHER_OFFICE,
                hour=minute.replace(minute=0),
                partition=1,
                count=2,
                as_of=now,
            ),
        ],
    )
    board.put_all(
        ProtectionStatsModel.TOPIC,
        [
            ProtectionStatsModel(
                figure=ProtectionFigure.OPEN_CASES,
                office=office,
                category=CaseCategory.UNPAID_WAGES,
                urgency=Urgency.HIGH,
                partition=partition,
                count=n,
                as_of=now,
            )
            for office, partition, n in ((OFFICE, 0, 2), (OFFICE, 1, 1), (OTHER_OFFICE, 0, 7))
        ]
        + [
            ProtectionStatsModel(
                figure=ProtectionFigure.OVERDUE_CASES,
                office=OTHER_OFFICE,
                urgency=Urgency.HIGH,
                partition=0,
                count=4,
                as_of=now,
            )
        ],
    )
    board.put_all(
        PassportFiguresModel.TOPIC,
        [
            PassportFiguresModel(
                office=office,
                day=date(2026, 12, 1),
                partition=partition,
                bookings=bookings,
                freed=1,
                quota_used=bookings - 1,
                refusals={"DAY_FULL": 2},
                ready_not_collected=1,
                ready_days={"4": 1},
                as_of=now,
            )
            for office, partition, bookings in ((OFFICE, 0, 10), (OFFICE, 3, 5), (OTHER_OFFICE, 0, 20))
        ],
    )
    board.set_lag(
        "registry",
        [
            PartitionLag(
                processor="registry", stage="registry", partition=0, progress=90, end=100, lag=10, ready=True
            )
        ],
    )
    board.set_lag("traffic", None)
    return board
