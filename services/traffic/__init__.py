"""Traffic: records per minute by domain topic and office, and which offices were heard from lately, live
from every partition of ``citizen``, ``passport`` and ``protection``; a view on the processor runtime.
"""
