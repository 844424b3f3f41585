"""The front door: the authenticated HTTP API (OpenAPI), its accounts, sessions and tokens, the page."""
