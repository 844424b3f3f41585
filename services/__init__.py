"""The mission service bus: the bus SDK, the event contracts, the processors and the ``bus`` command."""
