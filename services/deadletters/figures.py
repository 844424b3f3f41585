"""The dead-letter figures as a reader of ``deadletters.figures`` sums them: the latest figure of each group
on each partition, added up per group (the CLI and the front door read them so).
"""

from __future__ import annotations

from collections import Counter

from services.bus.codec import AvroCodec
from services.bus.reading import latest_views
from services.bus.settings import BusSettings
from services.contracts.deadletters import DeadLetterCountModel

__all__ = ["read_figures"]


def read_figures(settings: BusSettings, codec: AvroCodec) -> Counter[str]:
    """``<reason>|<component>|<source>|<hour>`` -> dead letters, summed over the partitions, as the topic
    holds them now.
    """
    latest = latest_views(
        settings,
        DeadLetterCountModel.TOPIC,
        lambda value: DeadLetterCountModel.from_avro(codec.decode(value).record),
    )
    totals: Counter[str] = Counter()
    for view in latest.values():
        totals[view.group] += view.count
    return totals
