# cython: language_level=3
# Character classes the compiled web kernels share (cimported; each function is inlined where it is
# called): the percent-decoding twin (_weblex.unquote) and the decoding views' escape test
# (_webdecode) both read hex digits, and must read them alike.
#
# The builds' staleness hash covers this file too (setup.py, watchhouse._native.source_sha256): a change
# here makes every kernel stale, as it changes what they compute.


cdef inline int hex_value(Py_UCS4 c) noexcept:
    """The value of an ASCII hex digit, or -1 (``[0-9a-fA-F]`` as ``re`` reads it: ASCII only)."""
    if u'0' <= c <= u'9':
        return <int> c - 48
    if u'a' <= c <= u'f':
        return <int> c - 87
    if u'A' <= c <= u'F':
        return <int> c - 55
    return -1
