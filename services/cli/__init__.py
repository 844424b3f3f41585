"""The ``bus`` command (``main``) and the orchestration of ``make run``: the top layer, it may import all."""

from services.cli.main import main

__all__ = ["main"]
