"""``bus traffic worker``: the traffic view (records per minute by domain and office) on the runtime."""

from __future__ import annotations

import sys

from services.bus.settings import get_settings


def traffic_worker() -> None:
    """Run the traffic worker (faust worker with its HTTP shell) until Ctrl-C."""
    from services.traffic.app import TrafficSettings, worker_main

    sys.argv = [sys.argv[0], "worker"]
    worker_main(get_settings(), TrafficSettings())
