# cython: language_level=3
# Civil-calendar arithmetic the compiled log readers share (cimported; each function is inlined
# where it is called). The reference is watchhouse.ingest.civil_time; the kernels' tests hold each
# reader to its Python twin on real and random timestamps.
#
# The builds' staleness hash covers this file too (setup.py, watchhouse._native.source_sha256): a change
# here makes every kernel stale, as it changes what they compute.

from libc.stdint cimport int64_t


cdef inline int64_t days_from_civil(int64_t year, int64_t month, int64_t day) noexcept nogil:
    # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), as
    # civil_time.days_from_civil computes it for a column. Every division here has operands of
    # one sign, so C's truncating division and Python's floor division agree: the result does not
    # depend on the cdivision directive of whichever module inlines this.
    if month <= 2:
        year -= 1
    cdef int64_t era = year // 400 if year >= 0 else -((399 - year) // 400)  # floor(year / 400)
    cdef int64_t year_of_era = year - era * 400
    cdef int64_t day_of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    cdef int64_t day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


cdef inline int64_t days_in_month(int64_t year, int64_t month) noexcept nogil:
    # month in 1..12 (the callers check it first); February has 29 days in a Gregorian leap year
    if month == 2:
        return 29 if (year % 4 == 0) and ((year % 100 != 0) or (year % 400 == 0)) else 28
    if month == 4 or month == 6 or month == 9 or month == 11:
        return 30
    return 31
