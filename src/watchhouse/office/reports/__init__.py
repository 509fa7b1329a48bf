"""Reports generated from the office's own records (never from hand-entered numbers)."""
