"""An intake whose consumer never finds its group coordinator starts over instead of idling for good."""

from __future__ import annotations

import pytest

from services.runtime.intake import CoordinatorLost, CoordinatorWatch


def test_unknown_for_longer_than_the_bound_starts_over() -> None:
    """Unknown at 0 s, still at 30 s: fine; at 31 s: the loop is told to start over."""
    watch = CoordinatorWatch(bound=30.0)
    watch.check(known=False, now=100.0)
    watch.check(known=False, now=130.0)
    with pytest.raises(CoordinatorLost):
        watch.check(known=False, now=131.0)


def test_known_again_resets_the_clock() -> None:
    """A coordinator found again (a broker restart, a moved coordinator) starts the count anew."""
    watch = CoordinatorWatch(bound=30.0)
    watch.check(known=False, now=0.0)
    watch.check(known=True, now=29.0)
    watch.check(known=False, now=40.0)
    watch.check(known=False, now=69.0)
    with pytest.raises(CoordinatorLost):
        watch.check(known=False, now=71.0)
