"""Watchhouse."""
