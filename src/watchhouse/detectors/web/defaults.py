"""The web detector's defaults, in a module of their own.

Why: the command line shows them in ``watchhouse eval crs --help`` and friends, and importing the
detector to read two integers cost a help screen over a second (its rule pack, Hyperscan, Polars).
"""

#: paranoia level and anomaly threshold used when the operator sets none
DEFAULT_PARANOIA = 2
DEFAULT_THRESHOLD = 2
