"""Run every benchmark: ``python -m bench [name ...]``; results go to bench/results/<name>.json."""

from __future__ import annotations

import sys

from bench import publish, registry, restart, simulator

BENCHMARKS = {
    "publish": publish.main,
    "registry": registry.main,
    "restart": restart.main,
    "simulator": simulator.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
