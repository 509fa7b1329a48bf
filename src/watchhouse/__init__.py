"""Watchhouse: a network security office for web platforms."""

__version__ = "0.1.0"
