"""Calendar arithmetic over numpy arrays of date and time parts.

Why a module: the byte-level timestamp paths of the access-log and syslog readers read the
parts of millions of stamps as integer columns and must turn them into instants, and refuse the
impossible ones, exactly as their general (parser-based) paths would. The checks and the day
count live here once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

#: days of each month (January first) in a common year
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def valid_clock(year: Ints, month: Ints, day: Ints, hour: Ints, minute: Ints, second: Ints) -> Flags:
    """Which rows name a real date and time of day: month 1-12, a day within its month (29
    February in leap years only), hour up to 23, minute and second up to 59. A leap second
    (second 60) is refused: the readers leave it to their general path."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = DAYS_IN_MONTH[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    valid: Flags = (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    return valid & (hour <= 23) & (minute <= 59) & (second <= 59)


def days_from_civil(year: Ints, month: Ints, day: Ints) -> Ints:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's published algorithm:
    years counted from March, so the leap day ends a year)."""
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    result: Ints = era * 146_097 + day_of_era - 719_468
    return result
