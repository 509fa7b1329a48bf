# cython: language_level=3, boundscheck=True, wraparound=False, initializedcheck=False
"""Compiled twin of the web detector's alert-line writer (optional; see :mod:`watchhouse._native`).

Why: on an attack-heavy scan nearly every request becomes an alert line, and
:meth:`watchhouse.detectors.web.findings.WebFindingRows.alert_lines` spent about a quarter of the
scan building each line in Python: the title and explanation f-strings, seven ``orjson.dumps``
calls, dictionary memories of values already written, and a list of two dozen pieces to join. The
verdict's own parts are already bytes, its texts (the title's class, the explanation's tail, the
URL as shown) already escaped; what a line adds is a handful of short texts. Here every line goes
straight into one growing C buffer: the verdict's parts are copied, and the row's texts are
escaped as orjson escapes a string (``"`` and ``\\`` with a backslash, ``\\b \\t \\n \\f \\r``
short, every other control character as ``\\u00xx``, nothing else), once each where a line holds
them twice, without building the title or the explanation as texts first.

The Python method stays the reference; what is not a plain ``str`` (or ``None``) is handed to the
same ``dumps`` it calls, and the same functions make URLs and agents as shown (with the same
memories, shared by both). ``tests/detectors/web/test_native_weblines.py`` holds the lines to the
reference byte for byte, and ``tests/detectors/web/test_finding_rows.py`` holds both to
``Alert.to_json``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from libc.stdio cimport snprintf
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    long long PyLong_AsLongLongAndOverflow(object value, int* overflow) except? -1

#: sha256 of this file and the shared .pxd declarations when it was compiled (setup.py passes it):
#: the loader refuses a build that no longer matches its source
SOURCE_SHA256 = BUILT_FROM_SHA256

cdef const char* _HEX = b"0123456789abcdef"


cdef struct _Buffer:
    char* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef int _reserve(_Buffer* out, Py_ssize_t more) except -1:
    """Room for ``more`` bytes past the end (the buffer doubles: a piece's lines are appended)."""
    cdef Py_ssize_t capacity = out.capacity
    cdef char* data
    if out.size + more <= capacity:
        return 0
    while capacity < out.size + more:
        capacity = capacity * 2 + 4096
    data = <char*>realloc(out.data, capacity)
    if data is NULL:
        raise MemoryError()
    out.data = data
    out.capacity = capacity
    return 0


cdef inline int _put(_Buffer* out, const char* text, Py_ssize_t size) except -1:
    if out.size + size > out.capacity:
        _reserve(out, size)
    memcpy(out.data + out.size, text, size)
    out.size += size
    return 0


cdef inline int _put_bytes(_Buffer* out, object data) except -1:
    """``data`` as it is: ``bytes`` only (what ``dumps`` gives, a verdict's parts)."""
    if type(data) is not bytes:
        raise TypeError(f"alert_lines: bytes expected, not {type(data).__name__}")
    return _put(out, PyBytes_AS_STRING(<bytes>data), PyBytes_GET_SIZE(<bytes>data))


cdef unsigned char _PLAIN[256]  # 1 for a byte a JSON string holds as it is
cdef unsigned char _SHORT[256]  # the letter after the backslash of a two-character escape, else 0
for _byte in range(256):
    _PLAIN[_byte] = _byte >= 0x20 and _byte != 0x22 and _byte != 0x5c
    _SHORT[_byte] = 0
for _byte, _letter in ((0x22, b'"'), (0x5c, b'\\'), (0x08, b'b'), (0x09, b't'), (0x0a, b'n'), (0x0c, b'f'), (0x0d, b'r')):
    _SHORT[_byte] = _letter[0]


cdef int _put_escaped(_Buffer* out, str text, object dumps) except -1:
    """``text`` as it reads between a JSON string's quotes, escaped as orjson escapes it.

    Runs of bytes that need no escape (nearly all of them) are copied whole. A text that is not
    UTF-8 (a lone surrogate) is given to ``dumps``, which refuses it as the reference does (the
    texts of a line are joined before the reference dumps them: the same error).
    """
    cdef Py_ssize_t size, i = 0, run
    cdef const unsigned char* data
    cdef unsigned char byte
    cdef char* at
    try:
        data = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &size)
    except UnicodeEncodeError:
        dumps(text)  # raises orjson's own error
        raise
    _reserve(out, size * 6)  # every byte escaped as \u00xx at worst
    at = out.data + out.size
    while True:
        run = i
        while i < size and _PLAIN[data[i]]:
            i += 1
        if i > run:
            memcpy(at, data + run, i - run)
            at += i - run
        if i >= size:
            break
        byte = data[i]
        i += 1
        at[0] = b'\\'
        if _SHORT[byte]:
            at[1] = _SHORT[byte]
            at += 2
        else:
            memcpy(at, b"\\u00", 4)
            at[4] = _HEX[byte >> 4]
            at[5] = _HEX[byte & 0x0f]
            at += 6
    out.size = at - out.data
    return 0


cdef inline int _put_text(_Buffer* out, object value, object dumps) except -1:
    """``value`` as an f-string puts it inside a text, escaped (a ``str`` as it is)."""
    if type(value) is str:
        return _put_escaped(out, <str>value, dumps)
    return _put_escaped(out, format(value, ""), dumps)


cdef inline int _put_json(_Buffer* out, object value, object dumps) except -1:
    """``dumps(value)``: a plain ``str`` and ``None`` written here, anything else by ``dumps``."""
    if type(value) is str:
        _put(out, b'"', 1)
        _put_escaped(out, <str>value, dumps)
        return _put(out, b'"', 1)
    if value is None:
        return _put(out, b"null", 4)
    return _put_bytes(out, dumps(value))


cdef inline tuple _tuple(object value):
    """``value`` as a tuple: a verdict and an evidence reference are named tuples (subclasses)."""
    if not isinstance(value, tuple):
        raise TypeError(f"alert_lines: a tuple expected, not {type(value).__name__}")
    return <tuple>value


cdef inline int _put_again(_Buffer* out, Py_ssize_t start, Py_ssize_t size) except -1:
    """The ``size`` bytes written from ``start`` on, once more at the end (a text a line holds
    twice or three times, escaped once)."""
    _reserve(out, size)
    memcpy(out.data + out.size, out.data + start, size)
    out.size += size
    return 0


cdef inline bint _put_int64(_Buffer* out, object value) except -1:
    """A plain integer within 64 bits in decimal, written in C; False (nothing written) for any
    other value, which the caller spells its own way."""
    cdef int overflow = 0
    cdef long long number
    cdef char digits[24]
    if type(value) is not int:
        return False
    number = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow:
        return False
    _put(out, digits, snprintf(digits, sizeof(digits), b"%lld", number))
    return True


cdef inline int _put_json_integer(_Buffer* out, object value, object dumps) except -1:
    """``dumps(value)`` of a reference's line or offset."""
    if not _put_int64(out, value):
        _put_bytes(out, dumps(value))
    return 0


cdef inline int _put_integer(_Buffer* out, object value) except -1:
    """``b"%d" % value``."""
    if not _put_int64(out, value):
        _put_bytes(out, b"%d" % (value,))
    return 0


def alert_lines(
    list indices,
    list ids,
    bytes name,
    bytes version_json,
    list verdicts,
    tuple fields,
    list columns,
    list keys,
    list references,
    dict shown,
    dict agents_shown,
    dict stamps,
    Py_ssize_t limit,
    object redact_url,
    object excerpt,
    object instant_json,
    object dumps,
):
    """The alert lines of the rows at ``indices`` (with ``ids``), as
    :meth:`~watchhouse.detectors.web.findings.WebFindingRows.alert_lines` writes them.

    ``fields``: the positions of a verdict's ``line``, ``url_shown`` and ``attacked``; its ``line``
    holds the verdict's bytes and its texts already escaped (``findings.line_parts``). ``columns``:
    the rows' ``@timestamp``, source address, method, URL, status and agent; ``shown``,
    ``agents_shown`` and ``stamps``: the rows' memories of URLs and agents as shown and of instants
    as written (by the identity of their datetime), filled as the reference fills them. An
    evidence reference is spelt here, with or without its line and offset.
    """
    cdef Py_ssize_t at_line = fields[0], at_url_shown = fields[1], at_attacked = fields[2]
    cdef list seen_column = columns[0], ips = columns[1], methods = columns[2], urls = columns[3]
    cdef list statuses = columns[4], agents = columns[5]
    cdef Py_ssize_t count = PyList_GET_SIZE(indices), position, index
    cdef Py_ssize_t ip_at, ip_size, url_at, url_size
    cdef bint ip_is_text, url_is_text
    cdef tuple verdict, parts, reference
    cdef object ip, url, url_shown, url_escaped, status, agent, agent_shown, seen, stamp, method
    cdef object line, offset, key
    cdef _Buffer out
    if len(ids) != count:
        raise ValueError("alert_lines: as many ids as indices are needed")
    if len(keys) != len(verdicts) or len(references) != len(verdicts) or any(len(c) != len(verdicts) for c in columns):
        raise ValueError("alert_lines: every column needs a value for each verdict")
    out.data = NULL
    out.size = 0
    out.capacity = 0
    try:
        for position in range(count):
            index = <object>PyList_GET_ITEM(indices, position)
            verdict = _tuple(verdicts[index])
            parts = _tuple(verdict[at_line])
            ip = ips[index]
            if not ip:
                ip = "unknown"
            ip_is_text = type(ip) is str
            method, url, status, agent = methods[index], urls[index], statuses[index], agents[index]
            url_shown = verdict[at_url_shown]
            url_escaped = parts[5]  # the verdict's URL as shown, escaped; None: the row's own
            if url_shown is None:
                key = (url or "", verdict[at_attacked])
                url_shown = shown.get(key)
                if url_shown is None:
                    url_shown = redact_url(url or "", verdict[at_attacked], limit)
                    shown[key] = url_shown
            agent_shown = None
            if agent:
                agent_shown = agents_shown.get(agent)
                if agent_shown is None:
                    agent_shown = excerpt(agent, 0, 0, limit)
                    agents_shown[agent] = agent_shown
            seen = seen_column[index]
            stamp = stamps.get(id(seen))  # rows of one instant share one datetime
            if stamp is None:
                stamp = instant_json(seen)
                stamps[id(seen)] = stamp

            _put_bytes(&out, b'{"detector":')
            _put_bytes(&out, name)
            _put_bytes(&out, b',"key":')
            _put_json(&out, keys[index], dumps)
            _put_bytes(&out, parts[0])
            # the title: f"{title_class} from {ip}"
            _put_bytes(&out, b'"')
            _put_bytes(&out, parts[3])
            _put_bytes(&out, b" from ")
            ip_at = out.size
            _put_text(&out, ip, dumps)
            ip_size = out.size - ip_at
            # the explanation: f"{method or 'request'} {url_shown} from {ip}{status_text}{explained}"
            _put_bytes(&out, b'","explanation":"')
            _put_text(&out, method or "request", dumps)
            _put_bytes(&out, b" ")
            url_at = out.size
            if url_escaped is None:
                _put_text(&out, url_shown, dumps)
            else:
                _put_bytes(&out, url_escaped)
            url_size = out.size - url_at
            url_is_text = url_escaped is not None or type(url_shown) is str
            _put_bytes(&out, b" from ")
            _put_again(&out, ip_at, ip_size)
            if status is not None:
                _put_bytes(&out, b", answered ")
                _put_text(&out, status, dumps)
            _put_bytes(&out, parts[4])
            _put_bytes(&out, b'","subject":{"kind":"source.ip","value":')
            if ip_is_text:  # the same text as in the title; any other value as dumps() spells it
                _put_bytes(&out, b'"')
                _put_again(&out, ip_at, ip_size)
                _put_bytes(&out, b'"')
            else:
                _put_json(&out, ip, dumps)
            _put_bytes(&out, b'},"first_seen":')
            _put_bytes(&out, stamp)
            _put_bytes(&out, b',"last_seen":')
            _put_bytes(&out, stamp)
            _put_bytes(&out, b',"evidence":[{"path":')
            reference = _tuple(references[index])
            _put_json(&out, reference[0], dumps)
            line, offset = reference[1], reference[2]
            if line is not None and offset is not None:  # a file read as a stream: b"%d" as spelt
                _put_bytes(&out, b',"line":')
                _put_integer(&out, line)
                _put_bytes(&out, b',"offset":')
                _put_integer(&out, offset)
            else:  # evidence_records' dictionary, as orjson writes it
                if line is not None:
                    _put_bytes(&out, b',"line":')
                    _put_json_integer(&out, line, dumps)
                if offset is not None:
                    _put_bytes(&out, b',"offset":')
                    _put_json_integer(&out, offset, dumps)
            _put_bytes(&out, b'}],"details":')
            _put_bytes(&out, parts[1])
            _put_json(&out, method, dumps)
            _put_bytes(&out, b',"status_code":')
            _put_json(&out, status, dumps)
            _put_bytes(&out, b',"url_excerpt":')
            if url_is_text:  # the same text as in the explanation
                _put_bytes(&out, b'"')
                _put_again(&out, url_at, url_size)
                _put_bytes(&out, b'"')
            else:
                _put_json(&out, url_shown, dumps)
            if agent_shown is not None:
                _put_bytes(&out, b',"user_agent_excerpt":')
                _put_json(&out, agent_shown, dumps)
            _put_bytes(&out, parts[2])
            _put_json(&out, <object>PyList_GET_ITEM(ids, position), dumps)
            _put_bytes(&out, b',"detector_version":')
            _put_bytes(&out, version_json)
            _put_bytes(&out, b"}\n")
        return PyBytes_FromStringAndSize(out.data, out.size) if out.size else b""
    finally:
        free(out.data)
