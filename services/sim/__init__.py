"""Internals of the traffic simulator; the public API is ``services.sim.simulator``.

``engine`` schedules life-cycles and holds the shared helpers, ``state`` the people and offices they
share, ``citizens``/``passports``/``protection`` are the life-cycles of each topic, ``booking`` the passport
service's quotas and requests (touts and rushes included), and ``data`` and ``choices`` are the reference
tables they draw from.
"""
