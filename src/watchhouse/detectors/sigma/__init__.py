"""Sigma rule packs as a Watchhouse detector."""
