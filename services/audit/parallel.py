"""Every view replayed on two cores: the registry in a process of its own, the other views in this one.

The registry's resolver is one ordered sequence and it reads nearly every record, so it is the longest
replay by far; the other views together read about half the history. Each process reads from the
history what its views need (Kafka serves any number of readers, an archive is files), so nothing but
the registry's final rows crosses between them. The split is by view, never within one: each view is
still folded in one process, in the history's order, exactly as a single replay folds it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from services.audit.history import Outcome
from services.audit.replay import ViewPlan

__all__ = ["APART", "Run", "replay_split"]

APART = "registry"
"""The view replayed in a process of its own."""
POLL_SECONDS = 0.5

Run = Callable[[Sequence[ViewPlan], Callable[[int], None] | None], dict[str, Outcome]]
"""A replay of some views over one reading of the history (``history.replay_views_kafka`` or
``history.replay_views_archive`` with their other arguments bound): plans and progress -> outcomes."""


def replay_split(
    run: Run, plans: Sequence[ViewPlan], progress: Callable[[int], None] | None = None
) -> dict[str, Outcome]:
    """``run`` over ``plans``, the registry's in a forked process while this one replays the others; the
    outcomes of all, in the order of ``plans``. ``progress`` hears how far the registry's reading is (the
    longest). With one group only, or where processes cannot be forked, everything runs here.
    """
    apart = [p for p in plans if p.name == APART]
    here = [p for p in plans if p.name != APART]
    if not apart or not here or "fork" not in multiprocessing.get_all_start_methods():
        return run(plans, progress)
    context = multiprocessing.get_context("fork")  # the plans hold closures: inherited, never pickled
    done = context.Value("q", 0)
    receive, send = context.Pipe(duplex=False)

    def registry() -> None:
        def heard(read: int) -> None:
            done.value = read

        try:
            send.send(("done", run(apart, heard)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
            send.send(("failed", f"{type(exc).__name__}: {exc}"))

    process = context.Process(target=registry, name="replay-registry", daemon=True)
    process.start()
    try:
        outcomes = run(here, None)
        payload = _result(process, receive, lambda: progress(done.value) if progress is not None else None)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    together: dict[str, Any] = {**outcomes, **payload}
    return {p.name: together[p.name] for p in plans}


def _result(process: Any, receive: Any, tick: Callable[[], None]) -> dict[str, Outcome]:
    """What the registry's process sends back, ``tick`` heard while waiting; RuntimeError if it failed."""
    while not receive.poll(POLL_SECONDS):
        tick()
        if not process.is_alive() and not receive.poll():
            raise RuntimeError(f"the registry's replay process ended with exit code {process.exitcode}")
    kind, payload = receive.recv()
    tick()
    if kind != "done":
        raise RuntimeError(f"the registry's replay failed: {payload}")
    result: dict[str, Outcome] = payload
    return result
