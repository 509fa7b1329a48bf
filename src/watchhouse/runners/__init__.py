"""Runners drive readers and the detection engine: embedded (one process) now, Spark later."""
