"""Sigma rules evaluated natively over Watchhouse event batches.

pySigma parses rules and applies value modifiers; everything after that (compiling detection
trees to Polars expressions, log-source routing, field mapping, correlation windows) is ours, so
every rule of a pack runs in one vectorised pass over each batch instead of one scan per rule.
"""
