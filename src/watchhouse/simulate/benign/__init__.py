"""Benign platform activity, one module per output, each vectorised per time slice."""
