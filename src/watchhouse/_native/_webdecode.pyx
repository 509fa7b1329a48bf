# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled twin of the web detector's decoding of a batch of parts (optional; see :mod:`watchhouse._native`).

Why: every request part that passes the symptom gate is decoded into four views (base, SQL,
shell, base64), and the Python functions of :mod:`watchhouse.detectors.web.decoding` spent most of
that time between their steps: a dozen calls and ``in`` tests per part, a closure per
percent-decoding pass, a regular expression asked whether a ``%`` starts an escape. Here one loop
over the parts makes the same decisions in C. The steps that rewrite a value with a regular
expression or a table (percent and entity decoding, NFKC, SQL comments, shell tricks) still run the
reference's own functions, handed over in ``tables``
(:func:`watchhouse.detectors.web.decoding.decode_tables`); written here are only the tests that
decide whether such a step has anything to do, each the exact equivalent of the reference's test
(a character class, a substring, ``str.isascii``), and two steps simple enough to write out:
collapsing whitespace and decoding base64 tokens. The views are the reference's, step names and
all; ``tests/detectors/web/test_native_webdecode.py`` holds them to it.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport Py_UNICODE_ISPRINTABLE

from watchhouse._native._chars cimport hex_value
import unicodedata

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)

#: sha256 of this file and the shared .pxd declarations when it was compiled (setup.py passes it)
SOURCE_SHA256 = BUILT_FROM_SHA256


cdef class _Steps:
    """The reference's functions and constants, unpacked once per call."""

    cdef object decoded
    cdef Py_ssize_t max_chars
    cdef object replace_overlong, pct_u, unquote, html_decode, js_unescaped
    cdef object shell_newlines, shell_ifs, cmd_carets, shell_unbreak
    cdef object sql_view, no_tokens, no_base64

    def __init__(self, tuple tables):
        (
            self.decoded, self.max_chars, self.replace_overlong, self.pct_u, self.unquote,
            self.html_decode, self.js_unescaped, self.shell_newlines, self.shell_ifs, self.cmd_carets,
            self.shell_unbreak, self.sql_view, self.no_tokens, self.no_base64,
        ) = tables

    cdef inline object then(self, object value, str step, str text):
        """``value.then(step, text)``: the step recorded only where it changed the text."""
        cdef tuple old = <tuple> value
        if text == <str> old[0]:
            return value
        return tuple.__new__(self.decoded, (text, (<tuple> old[1]) + (step,)))


cdef bint _has_escape(str text):
    """``_PCT_ANY.search(text)``: a ``%`` followed by two hex digits, or by ``u`` and four."""
    cdef Py_ssize_t n = len(text), i
    for i in range(n):
        if text[i] != u'%':
            continue
        if i + 2 < n and hex_value(text[i + 1]) >= 0 and hex_value(text[i + 2]) >= 0:
            return True
        if (
            i + 5 < n and text[i + 1] == u'u' and hex_value(text[i + 2]) >= 0 and hex_value(text[i + 3]) >= 0
            and hex_value(text[i + 4]) >= 0 and hex_value(text[i + 5]) >= 0
        ):
            return True
    return False


cdef object _url_decode(_Steps s, str raw, bint plus_as_space):
    """``_url_decoded(raw, plus_as_space)``: :func:`.decoding.url_decode` of the value cut to its limit."""
    cdef str text, decoded
    cdef int passes
    if len(raw) > s.max_chars:
        raw = raw[:s.max_chars]
    out = tuple.__new__(s.decoded, (raw, ()))
    if plus_as_space and u'+' in raw:
        out = s.then(out, u"plus_as_space", raw.replace(u'+', u' '))
    for passes in range(4):  # MAX_URL_PASSES
        text = <str> (<tuple> out)[0]
        if u'%' not in text or not _has_escape(text):
            break
        text = s.replace_overlong(text)  # it tests for the overlong forms' prefixes itself
        out = s.then(out, u"overlong_utf8", text)
        if u'%u' in text:
            text = s.pct_u(text)
            out = s.then(out, u"percent_u", text)
        decoded = s.unquote(text)
        if decoded == text:
            break
        out = s.then(out, u"url_decode", decoded)
    return out


cdef object _base(_Steps s, object url):
    """:func:`.decoding.decode` of a value whose percent-decoding is ``url``."""
    cdef str text = <str> (<tuple> url)[0]
    out = url
    if u'&' in text:
        out = s.html_decode(out)
        text = <str> (<tuple> out)[0]
    if u'\\u' in text:
        out = s.then(out, u"js_unicode_escapes", s.js_unescaped(text))
        text = <str> (<tuple> out)[0]
    if not PyUnicode_IS_ASCII(text):
        out = s.then(out, u"nfkc", unicodedata.normalize(u"NFKC", text))
        text = <str> (<tuple> out)[0]
    if u'\x00' in text:
        out = s.then(out, u"null_bytes", text.replace(u'\x00', u''))
        text = <str> (<tuple> out)[0]
    return s.then(out, u"lowercase", text.lower())


cdef object _collapsed(_Steps s, object value):
    """:func:`.decoding.collapse_whitespace`: ``value`` itself where there is nothing to collapse."""
    cdef str text = <str> (<tuple> value)[0]
    cdef Py_ssize_t n = len(text), i
    cdef Py_UCS4 c, previous = 0
    if n and (text[0] == u' ' or text[n - 1] == u' '):
        return s.then(value, u"collapse_whitespace", u" ".join(text.split()))
    for i in range(n):
        c = text[i]
        if (c == u' ' and previous == u' ') or not Py_UNICODE_ISPRINTABLE(c):
            # ``_WHITESPACE.sub(" ", text).strip()``: re's ``\s`` and str.split's whitespace are both
            # Py_UNICODE_ISSPACE, so the runs split() drops are those the regex makes one space
            return s.then(value, u"collapse_whitespace", u" ".join(text.split()))
        previous = c
    return value


cdef object _shell(_Steps s, object base):
    """:func:`.decoding.shell_view` of the base view."""
    cdef str text = <str> (<tuple> base)[0]
    out = base
    if u'\n' in text or u'\r' in text:
        out = s.then(out, u"shell_newline_separator", s.shell_newlines(text))
        text = <str> (<tuple> out)[0]
    if u'$' in text:
        out = s.then(out, u"shell_ifs", s.shell_ifs(text))
        text = <str> (<tuple> out)[0]
    if u'^' in text:
        out = s.then(out, u"cmd_caret_escapes", s.cmd_carets(text))
        text = <str> (<tuple> out)[0]
    if u"'" in text or u'"' in text or u'\\' in text or u'$' in text:
        out = s.then(out, u"shell_quotes", s.shell_unbreak(text))
    return _collapsed(s, out)


cdef inline bint _base64_char(Py_UCS4 c):
    # [A-Za-z0-9+/_-]
    return (
        (u'a' <= c <= u'z') or (u'A' <= c <= u'Z') or (u'0' <= c <= u'9')
        or c == u'+' or c == u'/' or c == u'_' or c == u'-'
    )


cdef inline int _base64_value(Py_UCS4 c):
    # the alphabet with '-' read as '+' and '_' as '/' (base64url), as the reference maps them
    if u'A' <= c <= u'Z':
        return <int> c - 65
    if u'a' <= c <= u'z':
        return <int> c - 71
    if u'0' <= c <= u'9':
        return <int> c + 4
    if c == u'+' or c == u'-':
        return 62
    return 63


cdef str _decoded_chunk(str text, Py_ssize_t begin, Py_ssize_t end, char* buf):
    """``binascii.a2b_base64`` of ``text[begin:end]`` padded with ``A`` to a multiple of four,
    each byte shown as itself when printable ASCII (lower-cased) and as a space otherwise."""
    cdef Py_ssize_t i = begin, k = 0, j
    cdef unsigned int quad
    cdef int v, count
    cdef unsigned char b
    while i < end:
        quad = 0
        for count in range(4):
            v = _base64_value(text[i]) if i < end else 0  # 'A' pads the last group
            quad = (quad << 6) | <unsigned int> v
            i += 1
        for j in range(3):
            b = <unsigned char> ((quad >> (16 - 8 * j)) & 0xFF)
            if b < 32 or b >= 127:
                b = 32
            elif 65 <= b <= 90:
                b += 32
            buf[k] = <char> b
            k += 1
    return buf[:k].decode("ascii")


cdef object _base64_of(_Steps s, str text):
    """:func:`.decoding._base64_of`: the first eight runs of 8+ base64 characters (the reference's
    tokens), those mixing letter cases decoded at each alignment that leaves 8+ characters."""
    cdef Py_ssize_t n = len(text), i = 0, start, shift
    cdef int tokens = 0
    cdef bint upper, lower
    cdef Py_UCS4 c
    cdef list pieces = []
    cdef char* buf
    while i < n and tokens < 8:  # MAX_BASE64_TOKENS
        if not _base64_char(text[i]):
            i += 1
            continue
        start, upper, lower = i, False, False
        while i < n:
            c = text[i]
            if not _base64_char(c):
                break
            if u'A' <= c <= u'Z':
                upper = True
            elif u'a' <= c <= u'z':
                lower = True
            i += 1
        if i - start < 8:
            continue
        tokens += 1
        if not (upper and lower):
            continue
        buf = <char*> PyMem_Malloc(i - start + 3)
        if buf == NULL:
            raise MemoryError()
        try:
            for shift in range(4):
                if i - start - shift >= 8:
                    pieces.append(_decoded_chunk(text, start + shift, i, buf))
        finally:
            PyMem_Free(buf)
    if not pieces:
        return s.no_tokens
    return tuple.__new__(s.decoded, (u" | ".join(pieces), (u"base64", u"lowercase")))


def decode_views(list parts, bint with_base64, tuple tables):
    """Twin of ``matching._decode_all``: per part (``Part``: target, name, raw, plus_as_space, ...),
    its base, SQL, shell and base64 views, as four lists."""
    cdef _Steps s = _Steps(tables)
    cdef list base_views = [], sql_views = [], shell_views = [], base64_views = []
    cdef tuple part
    cdef str raw
    for item in parts:
        if not isinstance(item, tuple):  # a Part is a tuple: anything else is not read as one
            raise TypeError(f"a part must be a Part, not {type(item).__name__}")
        part = <tuple> item
        raw = part[2]
        if raw is None:
            raise TypeError("a part's raw value must be a str, not None")
        url = _url_decode(s, raw, part[3])
        base = _base(s, url)
        base_views.append(base)
        if u'/*' in <str> (<tuple> base)[0]:
            sql_views.append(s.sql_view(base))
        else:
            sql_views.append(_collapsed(s, base))
        shell_views.append(_shell(s, base))
        if not with_base64:
            base64_views.append(s.no_base64)
            continue
        base64_views.append(_base64_of(s, <str> (<tuple> url)[0]))
    return base_views, sql_views, shell_views, base64_views
