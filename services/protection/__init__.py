"""The protection-case view: every case of every office, live, from the ``protection`` topic.

A projection on the processor runtime (``projection``), fed by an intake (``intake``) that re-keys the
domain events by case id onto ``protection.items`` and broadcasts the registry's citizen links there. The
pure parts: the per-case fold and its transition table (``case``), service levels (``service_levels``),
citizen links (``links``), figures (``figures``); around them the items' Avro (``items``), the views'
contracts (``views``), the store's columns (``store``), topics and settings.
"""
