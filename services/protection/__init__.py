"""The protection-case view (to come)."""
