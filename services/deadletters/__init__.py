"""Dead-letter figures: refused records per reason, component, source office and hour, live, from every
partition of ``bus.deadletter``; the second view on the processor runtime.
"""
