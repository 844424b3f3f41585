"""The passport service: appointment quotas and application status (to come)."""
