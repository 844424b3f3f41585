"""``python -m services ...`` is the ``bus`` command (used to start processors as child processes)."""

from services.cli import main

main()
