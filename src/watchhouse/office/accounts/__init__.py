"""Office accounts: who may log in to the console and API, with which roles (see ADR 0007)."""
