"""The JSON API under ``/api/v1``: thin routes over the office services (which do the auditing)."""
