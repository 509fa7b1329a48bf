# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled twins of the web lexers' inner loops (optional; see :mod:`watchhouse._native`).

Why hand-written scanners rather than the regular expressions compiled: the Python lexers spend
their time between regex calls (one ``finditer`` step, ``lastgroup``, a token object, a fold per
token); a scanner over the string's code points does the same reading in one C loop. The Python
modules stay the reference: every function here reproduces one of theirs exactly, character
class for character class (``\\s``, ``\\w`` and ``\\d`` are the same CPython predicates ``re``
uses), and ``tests/detectors/web/test_native_kernels.py`` holds them to it on random and
adversarial input. Where an exact twin would need ``re``'s case-folding tables (a non-ASCII tag
name under ``re.IGNORECASE``), the function returns None and the caller runs the reference.
"""

from cpython.unicode cimport Py_UNICODE_ISALNUM, Py_UNICODE_ISDECIMAL, Py_UNICODE_ISSPACE, PyUnicode_DecodeUTF8
from cpython.unicode cimport PyUnicode_4BYTE_KIND, PyUnicode_FromKindAndData
from libc.stdlib cimport free, malloc

from watchhouse._native._chars cimport hex_value

#: sha256 of this file and the shared .pxd declarations when it was compiled (setup.py passes it):
#: the loader refuses a build that no longer matches its source (an editable checkout pulled new
#: code without rebuilding)
SOURCE_SHA256 = BUILT_FROM_SHA256

# -- percent-decoding (twin of urllib.parse.unquote(text, errors="replace")) ------------------------


cdef str _unquote_ascii(str text, Py_ssize_t i, Py_ssize_t j):
    """``unquote_to_bytes(text[i:j]).decode("utf-8", "replace")`` of an ASCII run (``%XX`` inside the run)."""
    cdef char* buf = <char*> malloc(j - i)
    cdef Py_ssize_t k = 0
    cdef int high, low
    cdef Py_UCS4 c
    if buf == NULL:
        raise MemoryError()
    try:
        while i < j:
            c = text[i]
            if c == u'%' and i + 2 < j:
                high = hex_value(text[i + 1])
                low = hex_value(text[i + 2])
                if high >= 0 and low >= 0:
                    buf[k] = <char> (high * 16 + low)
                    k += 1
                    i += 3
                    continue
            buf[k] = <char> c
            k += 1
            i += 1
        return PyUnicode_DecodeUTF8(buf, k, "replace")
    finally:
        free(buf)


def unquote(str text):
    """Twin of ``urllib.parse.unquote(text, errors="replace")``.

    Like the reference, ASCII runs are percent-decoded and read as UTF-8 (undecodable bytes become
    U+FFFD) each on its own, and runs of other characters are kept as they are.
    """
    cdef Py_ssize_t n = len(text), i = 0, j
    cdef list pieces
    if u'%' not in text:
        return text
    pieces = []
    while i < n:
        j = i + 1
        if text[i] >= 128:
            while j < n and text[j] >= 128:
                j += 1
            pieces.append(text[i:j])
        else:
            while j < n and text[j] < 128:
                j += 1
            pieces.append(_unquote_ascii(text, i, j) if u'%' in text[i:j] else text[i:j])
        i = j
    return u"".join(pieces)


# -- shell word-splitting (twin of decoding's _SHELL_BREAK.sub("", _SHELL_EMPTY_QUOTES.sub("", text))) --


cdef inline bint _shell_word(Py_UCS4 c):
    # [\w/.-]
    return c == u'/' or c == u'.' or c == u'-' or _is_word(c)


cdef inline Py_ssize_t _break_unit(Py_UCS4* t, Py_ssize_t i, Py_ssize_t n):
    # length of one ['"\\]|\$@|\$\d at i (0: none)
    cdef Py_UCS4 c = t[i]
    if c == u"'" or c == u'"' or c == u'\\':
        return 1
    if c == u'$' and i + 1 < n and (t[i + 1] == u'@' or Py_UNICODE_ISDECIMAL(t[i + 1])):
        return 2
    return 0


def shell_unbreak(str text):
    """Twin of ``_SHELL_BREAK.sub("", _SHELL_EMPTY_QUOTES.sub("", text))`` (:func:`.decoding.shell_view`).

    First ``''`` and ``""`` go (left to right, as ``re.sub`` finds them); then every run of quotes,
    backslashes, ``$@`` and ``$<digit>`` with a word character (or ``/ . -``) on both sides, the
    sides read in the text as it was before this step.
    """
    cdef Py_ssize_t n = len(text), i = 0, k = 0, e, unit
    cdef Py_UCS4* first
    cdef Py_UCS4* out
    cdef Py_UCS4 c
    if n == 0:
        return text
    first = <Py_UCS4*> malloc(n * sizeof(Py_UCS4))
    out = <Py_UCS4*> malloc(n * sizeof(Py_UCS4))
    if first == NULL or out == NULL:
        free(first)
        free(out)
        raise MemoryError()
    try:
        while i < n:
            c = text[i]
            if (c == u"'" or c == u'"') and i + 1 < n and text[i + 1] == c:
                i += 2
                continue
            first[k] = c
            k += 1
            i += 1
        n = k
        i = 0
        k = 0
        while i < n:
            if i > 0 and _shell_word(first[i - 1]) and _break_unit(first, i, n):
                e = i
                unit = _break_unit(first, e, n)
                while unit:
                    e += unit
                    unit = _break_unit(first, e, n) if e < n else 0
                if e < n and _shell_word(first[e]):
                    i = e
                    continue
            out[k] = first[i]
            k += 1
            i += 1
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, k)
    finally:
        free(first)
        free(out)


# -- SQL (twin of tokenize_sql._tokens, _fold_into and leading_tokens) -------------------------------

DEF FINGERPRINT_TOKENS = 8


cdef inline bint _is_word(Py_UCS4 c):
    return c == u'_' or Py_UNICODE_ISALNUM(c)


cdef inline bint _is_blank(Py_UCS4 c):
    # [\s\x00-\x1f\xa0]
    return c <= 0x1f or c == 0xa0 or Py_UNICODE_ISSPACE(c)


cdef inline bint _is_hex(Py_UCS4 c):
    return (u'0' <= c <= u'9') or (u'a' <= c <= u'f') or (u'A' <= c <= u'F')


cdef inline Py_ssize_t _digits(str t, Py_ssize_t i, Py_ssize_t n):
    while i < n and Py_UNICODE_ISDECIMAL(t[i]):
        i += 1
    return i


cdef inline bint _num_ends(str t, Py_ssize_t i, Py_ssize_t n):
    # (?![\w$]) at i
    cdef Py_UCS4 c
    if i >= n:
        return True
    c = t[i]
    return not (c == u'$' or _is_word(c))


cdef Py_ssize_t _exponent(str t, Py_ssize_t i, Py_ssize_t n):
    # end of (?:e[+-]?\d+) at i, or -1
    cdef Py_UCS4 c
    cdef Py_ssize_t j, k
    if i >= n:
        return -1
    c = t[i]
    if c != u'e' and c != u'E':
        return -1
    j = i + 1
    if j < n and (t[j] == u'+' or t[j] == u'-'):
        k = _digits(t, j + 1, n)
        if k > j + 1:
            return k
    k = _digits(t, j, n)
    return k if k > j else -1


cdef Py_ssize_t _fraction_end(str t, Py_ssize_t i, Py_ssize_t n):
    # the digits-then-optional-exponent tail of a number ending at i, honouring (?![\w$]); -1 if none
    cdef Py_ssize_t e = _exponent(t, i, n)
    if e >= 0 and _num_ends(t, e, n):
        return e
    if _num_ends(t, i, n):
        return i
    return -1


cdef Py_ssize_t _number(str t, Py_ssize_t pos, Py_ssize_t n):
    # end of the ``num`` alternative at pos, or -1 (backtracking order of the regex kept)
    cdef Py_UCS4 c = t[pos], c1
    cdef Py_ssize_t j, k, e
    if c == u'0' and pos + 2 < n:
        c1 = t[pos + 1]
        if (c1 == u'x' or c1 == u'X') and _is_hex(t[pos + 2]):
            j = pos + 3
            while j < n and _is_hex(t[j]):
                j += 1
            return j
        if (c1 == u'b' or c1 == u'B') and (t[pos + 2] == u'0' or t[pos + 2] == u'1'):
            j = pos + 3
            while j < n and (t[j] == u'0' or t[j] == u'1'):
                j += 1
            return j
    if Py_UNICODE_ISDECIMAL(c):
        j = _digits(t, pos + 1, n)
        if j < n and t[j] == u'.':
            k = _digits(t, j + 1, n)
            e = _fraction_end(t, k, n)
            if e >= 0:
                return e
        return _fraction_end(t, j, n)
    if c == u'.' and pos + 1 < n and Py_UNICODE_ISDECIMAL(t[pos + 1]):
        return _fraction_end(t, _digits(t, pos + 1, n), n)
    return -1


cdef bint _paren_next(str t, Py_ssize_t pos, Py_ssize_t n):
    # tokenize_sql._next_char(t, pos) == "("
    cdef Py_UCS4 c
    cdef Py_ssize_t end
    while pos < n:
        c = t[pos]
        if Py_UNICODE_ISSPACE(c):
            pos += 1
        elif c == u'/' and pos + 1 < n and t[pos + 1] == u'*' and not (pos + 2 < n and t[pos + 2] == u'!'):
            end = t.find(u"*/", pos + 2)
            if end < 0:
                return False
            pos = end + 2
        else:
            return c == u'('
    return False


cdef Py_ssize_t _quoted(str t, Py_ssize_t pos, Py_ssize_t n, Py_UCS4 q):
    # end of '(?:[^'\\]|\\.|'')*'? (or the same with ") starting at the quote at pos
    cdef Py_ssize_t i = pos + 1
    cdef Py_UCS4 c
    while i < n:
        c = t[i]
        if c == u'\\':
            if i + 1 < n:
                i += 2
                continue
            return i
        if c == q:
            if i + 1 < n and t[i + 1] == q:
                i += 2
                continue
            return i + 1
        i += 1
    return i


cdef Py_ssize_t _closing_quote(str t, Py_UCS4 q):
    cdef Py_ssize_t i = 0, n = len(t)
    cdef Py_UCS4 c
    while i < n:
        c = t[i]
        if c == u'\\':
            i += 2
            continue
        if c == q:
            if i + 1 < n and t[i + 1] == q:
                i += 2
                continue
            return i
        i += 1
    return -1


cdef inline bint _in(Py_UCS4 c, str chars):
    return c in chars


cdef class _Folded:
    """The folded tokens so far: kinds as code points, (kind, text) pairs for the caller."""

    cdef Py_UCS4 kinds[FINGERPRINT_TOKENS + 2]
    cdef Py_ssize_t size
    cdef list pairs
    cdef bint last_sign  # the last token is an operator spelled - + ~ or !

    def __cinit__(self):
        self.size = 0
        self.pairs = []
        self.last_sign = False

    cdef void add(self, Py_UCS4 kind, str text):
        cdef Py_UCS4 last, before
        if self.size:
            last = self.kinds[self.size - 1]
            if kind == last and (kind == u's' or kind == u'o' or kind == u'&' or kind == u'k' or kind == u'('):
                return
            if kind == u'n' and last == u'o' and self.last_sign:
                before = self.kinds[self.size - 2] if self.size > 1 else 0
                if (before == 0 or before == u'o' or before == u'&' or before == u'(' or before == u','
                        or before == u'k' or before == u'E'):
                    self.kinds[self.size - 1] = kind
                    self.pairs[self.size - 1] = (u'n', text)
                    self.last_sign = False
                    return
        self.kinds[self.size] = kind
        self.size += 1
        self.pairs.append((chr(kind), text))
        self.last_sign = kind == u'o' and (text == u'-' or text == u'+' or text == u'~' or text == u'!')


def sql_leading(str text, str quote, object first, dict word_kinds):
    """Twin of ``tokenize_sql.leading_tokens`` as ``(kind, text)`` pairs.

    ``text`` is already cut to the lexing limit; ``quote`` is the context's quote ('' as-is);
    ``first`` the allowed first classes (None for any); ``word_kinds`` maps a word to its class
    when the word's class does not depend on a following parenthesis.
    """
    cdef Py_ssize_t n = len(text), pos = 0, start, end, close
    cdef Py_UCS4 c, c1, kind, q
    cdef _Folded out = _Folded()
    cdef object known
    cdef str word
    cdef bint check_first = first is not None
    if quote:
        q = quote[0]
        close = _closing_quote(text, q)
        if close < 0:
            out.add(u's', text)
            pos = n
        else:
            out.add(u's', text[:close])
            pos = close + 1
    while pos < n:
        c = text[pos]
        start = pos
        c1 = text[pos + 1] if pos + 1 < n else 0
        kind = 0
        if _is_blank(c):
            pos += 1
            while pos < n and _is_blank(text[pos]):
                pos += 1
            continue
        if c == u'/' and c1 == u'*':
            if pos + 2 < n and text[pos + 2] == u'!':  # versioned comment: its content is SQL
                pos += 3
                end = pos + 6 if pos + 6 < n else n
                while pos < end and Py_UNICODE_ISDECIMAL(text[pos]):
                    pos += 1
                continue
            close = text.find(u"*/", pos + 2)
            if close >= 0:
                pos = close + 2
                continue
            out.add(u'c', text[start:])
            break
        if c == u'*' and c1 == u'/':
            pos += 2
            continue
        if (c == u'-' and c1 == u'-') or c == u'#' or (c == u';' and c1 == 0 and pos + 1 < n) or (
                c == u'%' and c1 == u'0' and pos + 2 < n and text[pos + 2] == u'0'):
            out.add(u'c', text[start:])
            break
        if c == u"'" or c == u'"':
            pos = _quoted(text, pos, n, c)
            kind = u's'
        elif c == u'`':
            close = text.find(u'`', pos + 1)
            pos = n if close < 0 else close + 1
            kind = u'b'
        elif c == u'[':
            end = pos + 1
            while end < n and end - pos <= 64 and text[end] != u']' and not Py_UNICODE_ISSPACE(text[end]):
                end += 1
            if end < n and end > pos + 1 and end - pos <= 65 and text[end] == u']':
                pos = end + 1
                kind = u'b'
        if kind == 0 and (c == u'.' or Py_UNICODE_ISDECIMAL(c)):
            end = _number(text, pos, n)
            if end >= 0:
                pos = end
                kind = u'n'
        if kind == 0:
            if c == u'@':
                pos += 1
                if pos < n and text[pos] == u'@':
                    pos += 1
                while pos < n and (_is_word(text[pos]) or text[pos] == u'.' or text[pos] == u'$'):
                    pos += 1
                kind = u'v'
            elif _is_word(c):
                pos += 1
                while True:
                    while pos < n and _is_word(text[pos]):
                        pos += 1
                    if pos + 1 < n and (text[pos] == u'$' or text[pos] == u'.') and _is_word(text[pos + 1]):
                        pos += 1
                        continue
                    break
                word = text[start:pos]
                known = word_kinds.get(word)
                if known is not None:
                    kind = (<str>known)[0]
                else:
                    kind = u'f' if _paren_next(text, pos, n) else u'b'
            elif (c == u'|' and c1 == u'|') or (c == u'&' and c1 == u'&'):
                pos += 2
                kind = u'&'
            elif c == u'<' and c1 == u'=' and pos + 2 < n and text[pos + 2] == u'>':
                pos += 3
                kind = u'o'
            elif ((c == u'!' and c1 == u'=') or (c == u'<' and (c1 == u'>' or c1 == u'=')) or (c == u'>' and c1 == u'=')
                    or (c == u':' and (c1 == u'=' or c1 == u':')) or (c == u'=' and c1 == u'=')):
                pos += 2
                kind = u'o'
            elif c == u'-' and c1 == u'>':
                pos += 3 if pos + 2 < n and text[pos + 2] == u'>' else 2
                kind = u'o'
            elif _in(c, u"=<>!+-*/%^|&~"):
                pos += 1
                kind = u'o'
            elif _in(c, u"(),;."):
                pos += 1
                kind = c
            else:
                pos += 1
                kind = u'x'
        out.add(kind, text[start:pos])
        if check_first and out.size == 2 and chr(out.kinds[0]) not in first:
            return None
        if out.size > FINGERPRINT_TOKENS:
            return out.pairs
    if check_first and (out.size == 0 or chr(out.kinds[0]) not in first):
        return None
    return out.pairs


# -- HTML (twin of tokenize_html.tokenize after the context prefix) ---------------------------------


cdef inline bint _ends_name(Py_UCS4 c):
    # [^\s/><\x00] fails
    return c == u'/' or c == u'>' or c == u'<' or c == 0 or Py_UNICODE_ISSPACE(c)


cdef Py_ssize_t _tag_name(str t, Py_ssize_t j, Py_ssize_t n):
    """End of ``[a-z][^\\s/><\\x00]*|!--|!\\[cdata\\[|\\?|!doctype`` (IGNORECASE) at j; -1 none; -2 unsure."""
    cdef Py_UCS4 c
    if j >= n:
        return -1
    c = t[j]
    if (u'a' <= c <= u'z') or (u'A' <= c <= u'Z'):
        j += 1
        while j < n and not _ends_name(t[j]):
            j += 1
        return j
    if c >= 128:
        return -2  # re's case folding decides (K for k, long s for s...): leave it to the reference
    if c == u'?':
        return j + 1
    if c == u'!':
        if t.startswith(u"--", j + 1):
            return j + 3
        if t[j + 1:j + 8].lower() in (u"[cdata[", u"doctype"):
            if t[j + 1:j + 8].isascii():
                return j + 8
            return -2
        if not t[j + 1:j + 8].isascii():
            return -2
    return -1


def html_tags(str text, Py_ssize_t max_tags):
    """Twin of ``tokenize_html.tokenize`` on already prefixed ``text``: ``(name, closing,
    attributes, complete)`` tuples, or None where only ``re`` can say (see :func:`_tag_name`)."""
    return _html_tags(text, max_tags)


cdef list _html_tags(str text, Py_ssize_t max_tags):
    cdef Py_ssize_t n = len(text), pos = 0, i, j, k, m, p, end, name_end, count
    cdef list tags = []
    cdef list attributes
    cdef bint closing, complete
    cdef Py_UCS4 c, q
    cdef str name, value
    while len(tags) < max_tags:
        name_end = -1
        i = pos
        while True:
            i = text.find(u'<', i)
            if i < 0:
                break
            j = i + 1
            closing = j < n and text[j] == u'/'
            if closing:
                name_end = _tag_name(text, j + 1, n)
                if name_end >= 0:
                    j += 1
                elif name_end == -2:
                    return None
                else:  # "(/?)" backtracks to empty: the name would start at "/", which nothing matches
                    closing = False
            else:
                name_end = _tag_name(text, j, n)
                if name_end == -2:
                    return None
            if name_end >= 0:
                break
            i += 1
        if i < 0:
            break
        name = text[j:name_end].lower()
        pos = name_end
        if name[0] == u'!' or name == u'?':
            tags.append((name, closing, (), True))
            continue
        attributes = []
        complete = False
        count = 0
        while pos < n and count < 64:
            k = pos
            while k < n and (text[k] == u'/' or Py_UNICODE_ISSPACE(text[k])):
                k += 1
            if k < n and text[k] == u'>':
                pos = k + 1
                complete = True
                break
            if text[pos] == u'<':
                break
            if k >= n or text[k] == u'=':
                pos += 1
                continue
            m = k + 1
            while m < n:
                c = text[m]
                if c == u'/' or c == u'>' or c == u'=' or Py_UNICODE_ISSPACE(c):
                    break
                m += 1
            end = m
            value = u""
            p = m
            while p < n and Py_UNICODE_ISSPACE(text[p]):
                p += 1
            if p < n and text[p] == u'=':
                p += 1
                while p < n and Py_UNICODE_ISSPACE(text[p]):
                    p += 1
                if p < n and (text[p] == u'"' or text[p] == u"'" or text[p] == u'`'):
                    q = text[p]
                    end = text.find(q, p + 1)
                    end = n if end < 0 else end + 1
                    if end - p > 1 and text[end - 1] == q:
                        value = text[p + 1:end - 1]
                    else:
                        value = text[p + 1:end]
                else:
                    end = p
                    while end < n and text[end] != u'>' and not Py_UNICODE_ISSPACE(text[end]):
                        end += 1
                    value = text[p:end]
            attributes.append((text[k:m].lower(), value))
            count += 1
            pos = end
        tags.append((name, closing, tuple(attributes), complete))
    return tags


# -- XSS judge (twin of fingerprints._judge_tag over one context's tags) -----------------------------


cdef inline bint _event_name(str name):
    # ^on[a-z]{3,40}$ (a lexed attribute name holds no newline for $ to stop before)
    cdef Py_ssize_t n = len(name), i
    cdef Py_UCS4 c
    if n < 5 or n > 42 or name[0] != u'o' or name[1] != u'n':
        return False
    for i in range(2, n):
        c = name[i]
        if c < u'a' or c > u'z':
            return False
    return True


cdef tuple _judge_tag(tuple tag, bint attr_context, bint markup, tuple tables):
    """``(rank, check, detail)`` of one lexed tag, or None (see ``fingerprints._judge_tag``)."""
    cdef str name = tag[0]
    cdef bint closing = tag[1], complete = tag[3]
    cdef tuple attributes = tag[2]
    cdef bint synthetic = attr_context and name == u"x"
    cdef Py_ssize_t index
    cdef str attribute, value
    raw_text, structure, url_attributes, active, markup_elements, script_url, style_code = tables
    if closing:
        if not attr_context and name in raw_text:
            return (2, u"element", f"end tag </{name}> leaves a raw-text element")
        if markup and complete and name in structure:
            return (4, u"markup", f"document-structure tag </{name}>")
        return None
    for index in range(len(attributes)):
        attribute, value = attributes[index]
        if synthetic and index == 0:
            if attribute == u"a" and script_url(value):
                return (1, u"url", u"script URL as the whole attribute value")
            continue
        if _event_name(attribute):
            return (0, u"event", f"event-handler attribute {attribute}")
        if attribute in url_attributes and script_url(value):
            return (1, u"url", f"script URL in attribute {attribute}")
        if attribute == u"style" and style_code(value):
            return (1, u"url", u"script in a style attribute")
    if synthetic:
        return None
    if name in active:
        return (2, u"element", f"active element <{name}>")
    if markup and complete and name in markup_elements and (attributes or name in structure):
        return (4, u"markup", f"injected markup <{name}>")
    return None


def xss_context(str text, Py_ssize_t max_tags, bint attr_context, bint markup, tuple tables):
    """The first best-ranked tag verdict in one context: ``(rank, check, detail, tag)``, None, or False.

    Twin of ``fingerprints.judge_xss``'s loop over the tags of already prefixed ``text`` (lexed
    as :func:`html_tags` does): a verdict replaces the one held only when its rank is lower, and
    an event handler (rank 0) ends the search. False where the lexer defers to ``re``.
    ``tables``: raw-text, structure, URL-attribute, active and markup element names, then the
    script-URL and style-code predicates.
    """
    cdef list tags = _html_tags(text, max_tags)
    cdef tuple found = None, verdict
    cdef tuple tag
    if tags is None:
        return False
    for tag in tags:
        verdict = _judge_tag(tag, attr_context, markup, tables)
        if verdict is not None and (found is None or <int> verdict[0] < <int> found[0]):
            found = (verdict[0], verdict[1], verdict[2], tag)
            if verdict[0] == 0:
                break
    return found
