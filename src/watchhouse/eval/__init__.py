"""Measuring detection against ground truth: simulator labels now, public corpora later."""
